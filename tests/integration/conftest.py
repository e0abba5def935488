"""Fixtures of the integration tier beyond tests/conftest.py."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from bot.services import staff
from tests.support.database import create_postgres_database


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
