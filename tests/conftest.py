"""Fixtures for every tier: databases on both backends, and the real servers over HTTP.

Tiers are folders: tests/unit (no database, no server), tests/integration (the database on both backends,
the command line), tests/stack (the real Rasa and action servers), tests/browser (Chromium through
Playwright). A test that touches the database runs on SQLite and on PostgreSQL; a test that talks to the
servers runs once, on STACK_BACKEND (SQLite unless TEST_STACK_BACKEND says otherwise), unless it names a
backend itself. Each backend's database and each backend's servers start once per session (per xdist
worker), when first needed. PostgreSQL is TEST_POSTGRES_URL's server when one answers there, else a
throwaway server this session starts; the header of the run says which.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.launcher import MODEL, Stack, StackSettings
from bot.sms.standin import free_port
from bot.storage import migrate
from bot.storage.db import engine_for
from bot.storage.orm import Base
from tests.support import (
    ARTEFACTS,  # noqa: E402
    postgres,
)
from tests.support.database import BACKENDS, create_postgres_database, run_cli

STACK_BACKEND = os.environ.get("TEST_STACK_BACKEND", "sqlite")
TIER_MARKERS = {"stack": "stack", "browser": "browser"}

_throwaway_postgres = None


def pytest_configure(config: pytest.Config) -> None:
    """Find PostgreSQL once, in the controller: xdist's workers inherit TEST_POSTGRES_URL."""
    global _throwaway_postgres
    if hasattr(config, "workerinput"):
        return
    _throwaway_postgres = postgres.server()
    url, where = _throwaway_postgres.__enter__()
    os.environ["TEST_POSTGRES_URL"] = url
    config.stash[_POSTGRES_WHERE] = where


def pytest_unconfigure(config: pytest.Config) -> None:
    if _throwaway_postgres is not None:
        _throwaway_postgres.__exit__(None, None, None)


_POSTGRES_WHERE = pytest.StashKey[str]()


def pytest_report_header(config: pytest.Config) -> str:
    return f"PostgreSQL for the tests: {config.stash.get(_POSTGRES_WHERE, 'as the controller found it')}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tier's marker from its folder, so `-m "not stack"` works on the folders."""
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in TIER_MARKERS:
            item.add_marker(TIER_MARKERS[tier])


def _named_backend(metafunc: pytest.Metafunc) -> bool:
    return any("database_url" in str(marker.args[0]) for marker in metafunc.definition.iter_markers("parametrize"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Both backends for a database test; the servers' one backend for a test that talks to them."""
    if "database_url" in metafunc.fixturenames and not _named_backend(metafunc):
        backends = [STACK_BACKEND] if "stack" in metafunc.fixturenames else list(BACKENDS)
        metafunc.parametrize("database_url", backends, indirect=True)


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'collections.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgresql_database() -> Iterator[str]:
    url, drop = create_postgres_database()
    migrate.upgrade(url)
    yield url
    drop()


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> str:
    """This test's backend: a migrated database kept for the session (the switch between backends is free)."""
    backend = getattr(request, "param", STACK_BACKEND)
    return request.getfixturevalue(f"{backend}_database")


@pytest.fixture
def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The backend's database, emptied of our data, and selected for code under test via DATABASE_URL."""
    with engine_for(database_url).begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(text(f"DELETE FROM {table.name}"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


@dataclass
class TestStackSettings(StackSettings):
    """The servers as the tests run them: one more site (a partner's page on a port kept for it) may embed the
    chat, so the test of embedding needs no restart to allow it."""

    partner_port: int = field(default_factory=free_port)

    @property
    def partner_origin(self) -> str:
        return f"http://127.0.0.1:{self.partner_port}"

    def environment(self) -> dict[str, str]:
        page = f"127.0.0.1:{self.web_port}"
        origins = (f"http://{page}", f"http://localhost:{self.web_port}", self.partner_origin)
        # With RABBITMQ_URL set, each worker's Rasa and console talk over their own exchange and queue.
        broker = {"RABBITMQ_EXCHANGE": f"rasa-test-{_worker()}", "RABBITMQ_QUEUE": f"console-test-{_worker()}"}
        return {**super().environment(), **broker, "WEBCHAT_ORIGINS": ",".join(origins)}


def _start_stack(database: str) -> Iterator[Stack]:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: `make test` trains it first")
    backend = make_url(database).get_backend_name()
    # Secrets of its own (not this checkout's), which the servers can only have from their environment.
    settings = TestStackSettings(
        rasa_port=free_port(), action_port=free_port(), web_port=free_port(), console_port=free_port(),
        token=secrets.token_urlsafe(32),
        action_token=secrets.token_urlsafe(32), database_url=database,
        log_dir=ARTEFACTS / f"logs-{backend}-{_worker()}", twilio_standin_port=free_port(),
    )
    with Stack(settings) as running:
        yield running


@pytest.fixture(scope="session")
def sqlite_stack(sqlite_database: str) -> Iterator[Stack]:
    yield from _start_stack(sqlite_database)


@pytest.fixture(scope="session")
def postgresql_stack(postgresql_database: str) -> Iterator[Stack]:
    yield from _start_stack(postgresql_database)


@pytest.fixture
def stack(database_url: str, request: pytest.FixtureRequest) -> Stack:
    """The real action server, Rasa server and web page server on this test's database, on free ports."""
    return request.getfixturevalue(f"{make_url(database_url).get_backend_name()}_stack")


@pytest.fixture
def demo_stack(stack: Stack, db: str) -> Stack:
    """The running servers, with the demo portfolio imported into a clean database."""
    from bot.cli import DEMO

    run_cli("import-policies", str(DEMO / "policies.yml"), database=db)
    run_cli("import-accounts", str(DEMO / "accounts.csv"), database=db)
    return stack
