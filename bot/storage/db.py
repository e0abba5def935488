"""Engines, sessions and the unit of work every service runs in."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import database_url


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def as_utc(moment: datetime) -> datetime:
    """A stored time, zone-aware: SQLite hands times back without their zone, and they are all UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@lru_cache(maxsize=None)
def engine_for(url: str) -> Engine:
    if _is_sqlite(url):
        # The Rasa server and the action server share one file: wait for locks, don't fail on them.
        engine = create_engine(url, future=True, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


def _sqlite_pragmas(connection, _record) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@lru_cache(maxsize=None)
def _session_factory(url: str) -> sessionmaker:
    return sessionmaker(bind=engine_for(url), future=True, expire_on_commit=False)


@contextmanager
def unit_of_work(url: str | None = None) -> Iterator[Session]:
    """One transaction: everything inside commits together or not at all."""
    session: Session = _session_factory(url or database_url())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
