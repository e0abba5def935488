"""Settings from the environment, with defaults that work on a fresh clone."""
from __future__ import annotations

import json
import os
import secrets as _secrets
from pathlib import Path
from urllib.parse import urlsplit

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


# --- Deployment mode and secrets (SPEC section 10) ---------------------------------------------------------

SECRETS_FILE = PROJECT_ROOT / "var" / "secrets.json"
# Every secret the system's parts share; production refuses to start while any is missing or a known default.
SECRET_NAMES = ("RASA_TOKEN", "ACTION_SERVER_TOKEN", "TWILIO_AUTH_TOKEN", "CONSOLE_SECRET_KEY", "WEBCHAT_SECRET",
                "REST_CHANNEL_TOKEN")
# Values that were ever built in or published: never acceptable in production.
KNOWN_DEFAULTS = frozenset({"dev-token-change-me", "dev-twilio-auth-token", "test-token", "changeme", "secret"})


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message names the variable."""


def is_production() -> bool:
    """BOT_ENV=production: no built-in secret, no Twilio stand-in (SPEC 10)."""
    mode = os.environ.get("BOT_ENV", "development").strip().lower() or "development"
    if mode not in ("development", "production"):
        raise ConfigError(f"BOT_ENV must be development or production, got {mode!r}")
    return mode == "production"


def secret(name: str) -> str:
    """A shared secret: the environment variable if set; in development, one generated for this checkout.

    Development secrets are random per checkout (var/secrets.json, mode 0600) rather than built in, so a
    development server is not open to anyone who read this code. Production takes only the environment.
    """
    if name not in SECRET_NAMES:
        raise KeyError(name)
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if is_production():
        raise ConfigError(f"{name} is not set (BOT_ENV=production takes secrets only from the environment)")
    return _development_secrets()[name]


def production_problems() -> list[str]:
    """What stops production from starting: each missing or default secret, by variable name."""
    problems = []
    for name in SECRET_NAMES:
        value = os.environ.get(name, "").strip()
        if not value:
            problems.append(f"{name} is not set")
        elif value in KNOWN_DEFAULTS or len(value) < 16:
            problems.append(f"{name} is a default or too short (at least 16 characters)")
    return problems


def _development_secrets() -> dict[str, str]:
    """Generated once per checkout and kept in var/secrets.json (0600), so restarts keep conversations valid."""
    SECRETS_FILE.parent.mkdir(mode=0o700, exist_ok=True)
    try:
        stored = json.loads(SECRETS_FILE.read_text())
    except (FileNotFoundError, ValueError):
        stored = {}
    missing = [name for name in SECRET_NAMES if not stored.get(name)]
    if missing:
        stored.update({name: _secrets.token_urlsafe(32) for name in missing})
        temporary = SECRETS_FILE.with_suffix(f".{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(stored, handle)
        os.replace(temporary, SECRETS_FILE)  # atomic: two processes starting at once agree on one file's values
        stored = json.loads(SECRETS_FILE.read_text())
    return stored


def webchat_origins() -> list[str]:
    """Origins whose pages may open the web chat's socket (CORS for the socket.io channel only).

    WEBCHAT_ORIGINS (comma-separated), else the origin of WEBCHAT_URL and its 127.0.0.1/localhost twin.
    """
    configured = [o.strip().rstrip("/") for o in os.environ.get("WEBCHAT_ORIGINS", "").split(",") if o.strip()]
    if configured:
        return configured
    page = urlsplit(webchat_url())
    origins = [f"{page.scheme}://{page.netloc}"]
    for a, b in (("localhost", "127.0.0.1"), ("127.0.0.1", "localhost")):
        if page.hostname == a:
            origins.append(f"{page.scheme}://{page.netloc.replace(a, b)}")
    return origins
