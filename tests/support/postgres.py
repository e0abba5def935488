"""PostgreSQL for the tests: the server at TEST_POSTGRES_URL when one answers, else a throwaway one.

The throwaway server is pytest-postgresql's process executor on the installed binaries (pg_ctl), in a
temporary directory removed afterwards. PostgreSQL refuses to run as root, and these machines run the
tests as root: then pg_ctl runs as the `postgres` system user through a two-line wrapper, in a directory
that user owns.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
from pytest_postgresql.executors import PostgreSQLExecutor

from bot.sms.standin import free_port

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def answers(url: str) -> bool:
    try:
        psycopg2.connect(url, connect_timeout=3).close()
        return True
    except psycopg2.OperationalError:
        return False


def _pg_ctl() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")) or [shutil.which("pg_ctl") or ""]
    if not found[-1]:
        raise RuntimeError("no PostgreSQL server answers and no pg_ctl is installed to start one")
    return found[-1]  # the newest installed version


def _as_postgres_user(pg_ctl: str, directory: Path) -> str:
    """A pg_ctl that runs as the `postgres` user (root may not run a server), and a directory it owns."""
    user = pwd.getpwnam("postgres")
    os.chown(directory, user.pw_uid, user.pw_gid)
    wrapper = directory / "pg_ctl"
    wrapper.write_text(f'#!/bin/sh\nexec runuser -u postgres -- "{pg_ctl}" "$@"\n')
    wrapper.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return str(wrapper)


def _wait_until_answering(url: str, timeout: float = 60) -> None:
    """pg_ctl may report the server started while it still refuses connections ("starting up")."""
    deadline = time.monotonic() + timeout
    while not answers(url):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the throwaway PostgreSQL server did not answer at {url} within {timeout:.0f} s")
        time.sleep(0.2)


@contextmanager
def server() -> Iterator[tuple[str, str]]:
    """An admin URL for PostgreSQL and where it comes from: TEST_POSTGRES_URL's server, or one started here."""
    url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_URL)
    if answers(url):
        yield url, f"the server at {url}"
        return
    directory = Path(tempfile.mkdtemp(prefix="collections-pg-"))
    directory.chmod(0o755)
    executable = _pg_ctl()
    if os.geteuid() == 0:
        executable = _as_postgres_user(executable, directory)
    port = free_port()
    executor = PostgreSQLExecutor(
        executable=executable, host="127.0.0.1", port=port, datadir=str(directory / "data"),
        unixsocketdir=str(directory), logfile=str(directory / "postgresql.log"), startparams="-w",
        dbname="postgres", user="postgres", postgres_options="-c fsync=off -c full_page_writes=off",
    )
    executor.start()
    _wait_until_answering(f"postgresql://postgres@127.0.0.1:{port}/postgres")
    try:
        yield (f"postgresql://postgres@127.0.0.1:{port}/postgres",
               f"a throwaway server started from {_pg_ctl()} (none answered at {url})")
    finally:
        executor.stop()
        shutil.rmtree(directory, ignore_errors=True)
