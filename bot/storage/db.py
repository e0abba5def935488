"""Engines, sessions, the unit of work every service runs in, and run locks for batch runs."""
from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import column, create_engine, delete, event, inspect, table, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.future import Engine  # 2.0-style (future=True): its connections commit
from sqlalchemy.orm import Session, sessionmaker

from bot.config import database_url
from bot.storage.orm import RunLock


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def as_utc(moment: datetime) -> datetime:
    """A stored time, zone-aware: SQLite hands times back without their zone, and they are all UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@cache
def engine_for(url: str, immediate: bool = False) -> Engine:
    """The engine for a database; `immediate` (SQLite only) is the one whose transactions take the write lock first.

    SQLite has no row locks: a use case that reads, then writes what depends on what it read, takes the
    database's write lock at BEGIN (BEGIN IMMEDIATE), so a second one waits instead of reading stale state.
    pysqlite's own transaction handling cannot do this (it sends no BEGIN before a SELECT), so that engine
    turns it off and emits BEGIN itself: SQLAlchemy's documented recipe. Only the use cases that ask get it;
    everything else keeps pysqlite's default (reads take no lock until the first write).
    """
    if not _is_sqlite(url):
        # PostgreSQL locks rows (SELECT ... FOR UPDATE): one engine serves every use case.
        # Batched executemany (psycopg2's execute_values/execute_batch): the daily run's and the payment import's
        # bulk UPDATEs are otherwise one round trip per row.
        return engine_for(url) if immediate else create_engine(
            url, future=True, pool_pre_ping=True, executemany_mode="values_plus_batch",
            executemany_batch_page_size=500)
    # The Rasa server and the action server share one file: wait for locks, don't fail on them.
    engine = create_engine(url, future=True, connect_args={"timeout": 30})
    event.listen(engine, "do_connect", lambda *_args: create_private_sqlite_file(engine.url.database))
    event.listen(engine, "connect", _sqlite_pragmas)
    if immediate:
        event.listen(engine, "connect", _driver_transactions_off)
        event.listen(engine, "begin", _begin_immediate)
    return engine


def _driver_transactions_off(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.isolation_level = None  # pysqlite sends no BEGIN/COMMIT of its own; _begin_immediate does


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_private_sqlite_file(path: str | None) -> None:
    """Create the database file 0600 before SQLite would create it world-readable (umask permitting).

    SQLite gives the -wal and -shm files the main file's mode, so they follow. An existing file is left as it
    is; a missing directory is left for SQLite to report.
    """
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    database = Path(path)
    if database.exists():
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError):  # another process created it first; no such directory
        pass


def _sqlite_pragmas(connection: Any, _record: object) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Write-ahead log: a commit appends to the -wal file instead of rewriting pages and syncing twice (about 20 ms
    # to under 5 ms a commit measured on a busy disk, bench/turn_profile.py), and readers no longer wait for a
    # writer. synchronous stays FULL: a committed agreement survives a power cut. The mode is kept in the file.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@cache
def _session_factory(url: str, immediate: bool = False) -> sessionmaker[Session]:
    return sessionmaker(bind=engine_for(url, immediate), future=True, expire_on_commit=False)


@contextmanager
def unit_of_work(url: str | None = None, *, locking: bool = False) -> Iterator[Session]:
    """One transaction: everything inside commits together or not at all.

    `locking`: the use case reads state and then writes what depends on it, and must not interleave with
    another doing the same. On SQLite the whole transaction holds the database's write lock from its start
    (BEGIN IMMEDIATE; a second waits up to the busy timeout); on PostgreSQL the use case locks the rows it
    depends on with `with_for_update()` (SELECT ... FOR UPDATE), which SQLite ignores.
    """
    session: Session = _session_factory(url or database_url(), locking)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# ---- Rasa's conversations, in the same database ----------------------------------------------------------

# Rasa's SQL tracker store: one row per event; `sender_id` is the conversation id, `timestamp` Unix seconds,
# `data` the event as JSON (bot.storage.tracker_store withholds dates of birth before it is written).
RASA_EVENTS = table("events", column("id"), column("sender_id"), column("type_name"), column("timestamp"),
                    column("data"))


def rasa_events_exist(session: Session) -> bool:
    """Rasa creates its `events` table when it first starts: a database it never served has none."""
    return bool(inspect(session.connection()).has_table("events"))


# ---- run locks: one batch run at a time ----------------------------------------------------------

class RunLocked(RuntimeError):
    """Another run holds the lock (or took it over after this one's expired): this run must not go on."""

    def __init__(self, name: str, holder: str | None = None, since: datetime | None = None):
        by = f" by {holder}" if holder else ""
        when = f" since {since:%Y-%m-%d %H:%M:%S} UTC" if since else ""
        super().__init__(f"another {name} run is in progress (lock held{by}{when})")
        self.name, self.holder, self.since = name, holder, since


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_try_advisory_lock, from the lock's name."""
    return int.from_bytes(hashlib.sha256(f"collections:{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def run_lock(name: str, url: str | None = None, ttl: timedelta = timedelta(minutes=15),
             clock: Callable[[], datetime] = _utcnow) -> Iterator[Callable[[], None]]:
    """Hold the named lock for a run, or raise RunLocked at once; yields `renew`, to call as the run goes on.

    PostgreSQL: a session-level advisory lock (pg_try_advisory_lock) held on one connection for the run, so a
    run that dies releases it with its connection. SQLite: a RunLock row with an expiry (a dead run cannot
    release it), which `renew` pushes on; a run whose lock expired and was taken over stops at its next renew.
    `clock` is the real time by default: the lock is about this run's duration, not the time a run plans for.
    """
    url = url or database_url()
    if not _is_sqlite(url):
        with _advisory_lock(name, url):
            yield lambda: None
        return
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    with unit_of_work(url, locking=True) as session:
        now = clock()
        row = session.get(RunLock, name)
        if row is not None and as_utc(row.expires_at) > now:
            raise RunLocked(name, row.holder, as_utc(row.acquired_at))
        if row is None:
            session.add(RunLock(name=name, holder=holder, acquired_at=now, expires_at=now + ttl))
        else:  # a dead run's lock, expired
            row.holder, row.acquired_at, row.expires_at = holder, now, now + ttl

    def renew() -> None:
        with unit_of_work(url, locking=True) as session:
            row = session.get(RunLock, name)
            if row is None or row.holder != holder:
                raise RunLocked(name, row.holder if row else None, as_utc(row.acquired_at) if row else None)
            row.expires_at = clock() + ttl

    try:
        yield renew
    finally:
        with unit_of_work(url, locking=True) as session:
            session.execute(delete(RunLock).where(RunLock.name == name, RunLock.holder == holder))


@contextmanager
def _advisory_lock(name: str, url: str) -> Iterator[None]:
    key = _advisory_key(name)
    connection = engine_for(url).connect()
    try:
        locked = connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar()
        connection.commit()  # a session-level lock outlives the transaction: no transaction stays open
        if not locked:
            raise RunLocked(name)
        try:
            yield
        finally:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
            except Exception:
                connection.invalidate()  # closing the server connection releases the lock
                raise
    finally:
        connection.close()


# ---- what a database failure says to an operator ---------------------------------------------------

def database_shown(url: str) -> str:
    """Where the database is, for a message: a file's path, or the URL without its password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or url
    return parsed.render_as_string(hide_password=True)


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0].strip() if text else type(error).__name__


def database_failure(error: BaseException) -> tuple[str, str] | None:
    """("bad_url" | "no_tables" | "unavailable", the cause's first line) when `error` is the database's, else None."""
    if isinstance(error, (ArgumentError, NoSuchModuleError)):
        return "bad_url", _first_line(error)
    if isinstance(error, DBAPIError):
        reason = _first_line(error)
        lowered = reason.lower()
        if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
            return "no_tables", reason
        return "unavailable", reason
    return None


T = TypeVar("T")
IN_CHUNK = 500  # values per IN (...): far below every backend's limit on bound parameters


def in_chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    """`items` in slices small enough for one IN (...) each."""
    for start in range(0, len(items), IN_CHUNK):
        yield items[start:start + IN_CHUNK]
