"""Test databases on both backends, and the command line as the tests call it."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, TypeVar

import psycopg2
import pytest
from sqlalchemy.engine import make_url

from bot import cli
from bot.config import PROJECT_ROOT
from bot.services.unit_of_work import SqlUnitOfWork, utcnow
from bot.storage.db import engine_for
from tests.support.postgres import DEFAULT_URL

BACKENDS = ("sqlite", "postgresql")
# The header of an accounts file (SPEC section 4), for tests that write their own.
HEADER = ("account_ref,creditor_id,original_creditor,debtor_name,date_of_birth,postcode,phone,email,timezone,"
          "currency,principal,interest,fees,placed_on\n")
T = TypeVar("T")


def in_transaction(use_case: Callable[..., T], *args: Any, now: datetime | None = None, locking: bool = False,
                   **kwargs: Any) -> T:
    """A use case in a unit of work of its own on DATABASE_URL, as an entry point runs it: `now` is its clock
    (default the real time), `locking` as the entry point asks (identity's verifications do)."""
    with SqlUnitOfWork(locking=locking, clock=(lambda: now) if now is not None else utcnow) as uow:
        return use_case(uow, *args, **kwargs)


def in_locking_transaction(use_case: Callable[..., T], *args: Any, now: datetime | None = None, **kwargs: Any) -> T:
    """`in_transaction` in a locking unit of work, as the verification form runs identity's use cases."""
    return in_transaction(use_case, *args, now=now, locking=True, **kwargs)


def postgres_admin_url() -> str:
    """The PostgreSQL server of this run (the session's conftest starts a throwaway one if none answered)."""
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_URL)


def create_postgres_database() -> tuple[str, Callable[[], None]]:
    """A new, empty PostgreSQL database, and how to drop it."""
    name = f"collections_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(postgres_admin_url(), connect_timeout=5)
    except psycopg2.OperationalError as error:
        pytest.fail(f"PostgreSQL is required for these tests and is not reachable at {postgres_admin_url()}: {error}")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = str(make_url(postgres_admin_url()).set(database=name))

    def drop() -> None:
        engine_for(url).dispose()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return url, drop


def run_cli(*args: str, database: str, check: bool = True) -> subprocess.CompletedProcess:
    """`python -m bot ...` called in-process: the same `main`, exit status, stdout and stderr, without the
    seconds a new interpreter costs. Tests of the command itself (its process, its environment) use
    `run_cli_process`."""
    out, err = io.StringIO(), io.StringIO()
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = database
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                status = cli.main(list(args))
            except SystemExit as leaving:  # argparse's usage errors
                status = leaving.code if isinstance(leaving.code, int) else 1
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
    result = subprocess.CompletedProcess([sys.executable, "-m", "bot", *args], status, out.getvalue(), err.getvalue())
    if check and status != 0:
        raise AssertionError(f"python -m bot {' '.join(args)} failed ({status}):\n{result.stderr}")
    return result


def account_json(db: str, ref: str = "ACC-1001") -> dict:
    """The account as `python -m bot account REF --json` prints it (SPEC's account JSON)."""
    return json.loads(run_cli("account", ref, "--json", database=db).stdout)


def run_cli_process(*args: str, database: str, check: bool = True,
                    env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m bot ...` as an operator runs it: a new process."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
        env={**os.environ, "DATABASE_URL": database, "PYTHONPATH": str(PROJECT_ROOT), **(env or {})}, timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"python -m bot {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def write(path: Path, content: str) -> Path:
    path.write_text(content, encoding="utf-8")
    return path


def noon_utc(day: date) -> datetime:
    """18:00 UTC on `day`: still that date in every zone from UTC-12 to UTC+5 (the debtors' zones in the tests)."""
    return datetime.combine(day, time(18), tzinfo=UTC)
