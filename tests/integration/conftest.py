"""Fixtures of the integration tier beyond tests/conftest.py."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from bot.cli import DEMO
from bot.domain.console import Staff
from bot.services import imports, staff
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage.orm import Agent
from tests.support.database import create_postgres_database, in_transaction


@pytest.fixture
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Argon2 at its cheapest, for the tests that try many passwords: the rules counted are the same."""
    monkeypatch.setattr(staff, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    monkeypatch.setattr(staff, "_dummy_hash", None)
    yield
    staff._dummy_hash = None


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with nothing in it, not even tables, on each backend (migration tests)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
    else:
        url, drop = create_postgres_database()
        yield url
        drop()


DESK_STAFF = (Staff("ana", "agent"), Staff("ben", "agent"), Staff("sue", "supervisor"))


@pytest.fixture
def desk_demo(db: str) -> str:
    """The demo portfolio (placed 2026-11-23) and the console's people: agents ana and ben, supervisor sue."""
    in_transaction(imports.import_policies, DEMO / "policies.yml")
    in_transaction(imports.import_accounts, DEMO / "accounts.csv", date(2026, 11, 23))
    with SqlUnitOfWork() as uow:
        uow.session.add_all([Agent(login=s.login, role=s.role, password_hash="x") for s in DESK_STAFF])
    return db
