"""Bring a database to the newest schema (Alembic), SQLite or PostgreSQL alike."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from bot.config import database_url
from bot.storage.db import engine_for

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None) -> None:
    url = url or database_url()
    if url.startswith("sqlite"):
        # Readers (the Rasa server) and writers (the action server) at once need write-ahead logging.
        with engine_for(url).connect() as connection:
            connection.execute(text("PRAGMA journal_mode=WAL"))
    command.upgrade(alembic_config(url), "head")
