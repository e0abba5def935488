"""Fixtures: a real database per backend (SQLite and PostgreSQL), and the real servers over HTTP.

Every database test runs on both backends. PostgreSQL must be reachable (TEST_POSTGRES_URL,
default the local server); when it is not, those tests fail loudly rather than skip.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import PROJECT_ROOT
from bot.launcher import MODEL, Stack, StackSettings
from bot.sms.standin import free_port
from bot.storage import migrate
from bot.storage.db import engine_for
from bot.storage.orm import Base

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")
ARTEFACTS = PROJECT_ROOT / "test-artifacts"


def _create_postgres_database() -> tuple[str, callable]:
    name = f"collections_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(POSTGRES_ADMIN_URL, connect_timeout=5)
    except psycopg2.OperationalError as error:
        pytest.fail(f"PostgreSQL is required for these tests and is not reachable at {POSTGRES_ADMIN_URL}: {error}")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = str(make_url(POSTGRES_ADMIN_URL).set(database=name))

    def drop() -> None:
        engine_for(url).dispose()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return url, drop


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> Iterator[str]:
    """A migrated, empty database of each backend, for the whole session."""
    if request.param == "sqlite":
        url, drop = f"sqlite:///{tmp_path_factory.mktemp('db') / 'collections.db'}", (lambda: None)
    else:
        url, drop = _create_postgres_database()
    migrate.upgrade(url)
    yield url
    drop()


@pytest.fixture
def db(database_url, monkeypatch) -> str:
    """The backend's database, emptied of our data, and selected for code under test via DATABASE_URL."""
    with engine_for(database_url).begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(text(f"DELETE FROM {table.name}"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


def run_cli(*args: str, database: str, check: bool = True) -> subprocess.CompletedProcess:
    """`python -m bot ...` as an operator runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
        env={**os.environ, "DATABASE_URL": database, "PYTHONPATH": str(PROJECT_ROOT)}, timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"python -m bot {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def stack(database_url) -> Iterator[Stack]:
    """The real action server, Rasa server and web page server on this backend's database, on free ports."""
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: `make test` trains it first")
    backend = make_url(database_url).get_backend_name()
    # Secrets of its own (not this checkout's), which the servers can only have from their environment.
    settings = StackSettings(
        rasa_port=free_port(), action_port=free_port(), web_port=free_port(), token=secrets.token_urlsafe(32),
        action_token=secrets.token_urlsafe(32), database_url=database_url, log_dir=ARTEFACTS / f"logs-{backend}",
        twilio_standin_port=free_port(),
    )
    with Stack(settings) as running:
        yield running


@pytest.fixture
def demo_stack(stack, db) -> Stack:
    """The running servers, with the demo portfolio imported into a clean database."""
    from bot.cli import DEMO

    run_cli("import-policies", str(DEMO / "policies.yml"), database=db)
    run_cli("import-accounts", str(DEMO / "accounts.csv"), database=db)
    return stack
