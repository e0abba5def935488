"""Bring a database to the newest schema (Alembic), SQLite or PostgreSQL alike."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import database_url
from bot.storage.db import engine_for

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """Alembic's settings for this database: our migrations, this URL (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None) -> None:
    """Migrate the database (the configured one by default) to the newest revision."""
    url = url or database_url()
    if url.startswith("sqlite"):
        # Readers (the Rasa server) and writers (the action server) at once need write-ahead logging.
        with engine_for(url).connect() as connection:
            connection.execute(text("PRAGMA journal_mode=WAL"))
    command.upgrade(alembic_config(url), "head")


MIGRATE_HINT = "run `python -m bot migrate`"


def readiness_problem(url: str | None = None) -> str | None:
    """Why the commands cannot use this database yet (no file, no tables, an older schema), or None.

    A SQLite file is looked for before connecting: connecting would create an empty one.
    """
    url = url or database_url()
    if url.startswith("sqlite"):
        path = make_url(url).database
        if path and path != ":memory:" and not Path(path).exists():
            return f"the database has no tables yet (there is no file {path}): {MIGRATE_HINT}"
    with engine_for(url).connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    if current is None:
        return f"the database has no tables yet: {MIGRATE_HINT}"
    if current != head:
        return f"the database schema is at revision {current}, this code needs {head}: {MIGRATE_HINT}"
    return None
