"""Settings from the environment, with defaults that work on a fresh clone."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """DATABASE_URL, or a SQLite file under var/ in the project."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    (PROJECT_ROOT / "var").mkdir(exist_ok=True)
    return f"sqlite:///{PROJECT_ROOT / 'var' / 'collections.db'}"


def agency_name() -> str:
    return os.environ.get("AGENCY_NAME", "Northgate Services")


def agency_phone() -> str:
    return os.environ.get("AGENCY_PHONE", "1-800-555-0142")


def webchat_url() -> str:
    """The public address of the web chat page, which reminder texts link to."""
    return os.environ.get("WEBCHAT_URL", "").strip() or "http://localhost:8080/"
