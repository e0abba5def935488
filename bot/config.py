"""Settings from the environment, with defaults that work on a fresh clone."""
from __future__ import annotations

import json
import os
import secrets as _secrets
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    """DATABASE_URL, or a SQLite file under var/ in the project (var/ is 0700: it holds personal data)."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return url
    var = PROJECT_ROOT / "var"
    var.mkdir(mode=0o700, exist_ok=True)
    if var.stat().st_mode & 0o077:
        var.chmod(0o700)  # a checkout made before this rule
    return f"sqlite:///{var / 'collections.db'}"


def retention_days() -> int:
    """RETENTION_DAYS: how many days conversation texts are kept before `python -m bot purge` (default 365)."""
    raw = os.environ.get("RETENTION_DAYS", "").strip() or "365"
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"RETENTION_DAYS must be a whole number of days, at least 1; got {raw!r}")
    return int(raw)


def agency_name() -> str:
    """The agency's name as texts and pages show it (AGENCY_NAME)."""
    return os.environ.get("AGENCY_NAME", "Northgate Services")


def agency_phone() -> str:
    """The agency's phone number for debtors who want a person (AGENCY_PHONE)."""
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
# RASA_TOKEN is the HS256 key of the HTTP API's tokens: RFC 7518 wants at least 256 bits. Others: 16 characters.
MIN_SECRET_LENGTH = {"RASA_TOKEN": 32}
# Not secrets, but production has no development value for them: its texts come from a real Twilio account.
DEVELOPMENT_SETTINGS = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_FROM_NUMBER": "+15550000000"}


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
    return development_secret(name)


def development_secret(name: str) -> str:
    """The value generated for this checkout, whatever the environment says (the Twilio stand-in's token)."""
    if name not in SECRET_NAMES:
        raise KeyError(name)
    if is_production():
        raise ConfigError(f"{name} is not set (BOT_ENV=production takes secrets only from the environment)")
    return _development_secrets()[name]


def production_problems(names: Iterable[str] | None = None) -> list[str]:
    """What stops production from starting, by variable name: each missing or default secret, and the Twilio
    account and number (production has no stand-in). `names` limits the check to what one server needs."""
    problems = []
    for name in (SECRET_NAMES + tuple(DEVELOPMENT_SETTINGS)) if names is None else names:
        value = os.environ.get(name, "").strip()
        if not value:
            problems.append(f"{name} is not set")
        elif name in DEVELOPMENT_SETTINGS:
            if value == DEVELOPMENT_SETTINGS[name]:
                problems.append(f"{name} is the development value {value}")
        elif value in KNOWN_DEFAULTS or len(value) < MIN_SECRET_LENGTH.get(name, 16):
            problems.append(f"{name} is a default or too short (at least {MIN_SECRET_LENGTH.get(name, 16)}"
                            " characters)")
    return problems


def refuse_unsafe_production(names: Iterable[str] | None = None, program: str = "python -m bot run") -> None:
    """Exit with status 2, naming each offending variable, when BOT_ENV=production and a setting is unsafe.

    Called first thing by every server entry point, before anything listens.
    """
    try:
        problems = production_problems(names) if is_production() else []
    except ConfigError as error:  # BOT_ENV itself is wrong: neither mode is safe to assume
        print(f"{program}: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    if problems:
        print(f"{program}: refusing to start with BOT_ENV=production:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(2)


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


# --- The Rasa HTTP API's credentials (internal: operators, tests, the launcher's health probe) ---------------

RASA_API_TOKEN_MINUTES = 15


def rasa_api_token(minutes: float = RASA_API_TOKEN_MINUTES, *, key: str | None = None,
                   now: datetime | None = None) -> str:
    """A short-lived Bearer token for the Rasa HTTP API: a JWT (HS256) signed with RASA_TOKEN, role admin.

    The Rasa server checks it with `jwt_secret` (bot.rasa_server) and takes no token in a URL, so the secret
    itself never travels and never lands in an access log or a process list.
    """
    import jwt  # PyJWT, installed with Rasa; imported here so that reading settings stays light

    issued = now or datetime.now(UTC)
    payload = {"user": {"username": "operator", "role": "admin"},
               "exp": int((issued + timedelta(minutes=minutes)).timestamp())}
    return jwt.encode(payload, key or secret("RASA_TOKEN"), algorithm="HS256")


def rasa_api_headers(key: str | None = None) -> dict[str, str]:
    """The Authorization header every caller of the Rasa HTTP API sends (`key`: the RASA_TOKEN to sign with)."""
    return {"Authorization": f"Bearer {rasa_api_token(key=key)}"}


# --- Rasa's event broker: the live feed of every conversation's events (the agent console reads it) ------------

# PostgreSQL: the SQL broker's table is also named `events`, like the tracker store's, so it lives in a schema of
# its own in the same database (created by the Rasa server; no CREATE DATABASE privilege needed; dropped with it).
EVENT_BROKER_SCHEMA = "rasa_events"
# RabbitMQ: Rasa's pika broker publishes to this fanout exchange (its own default name) and declares this durable
# queue bound to it, which the console consumes (RABBITMQ_EXCHANGE, RABBITMQ_QUEUE change them).
RABBITMQ_EXCHANGE = "rasa-exchange"
RABBITMQ_QUEUE = "collections_console"


@dataclass(frozen=True)
class EventBrokerSettings:
    """Where Rasa publishes each conversation's events and where the console reads them: one place for both.

    kind "sql": Rasa's SQLEventBroker; `url` is the SQLAlchemy URL of its database (for PostgreSQL with the search
    path set to `schema`, which must exist). kind "pika": Rasa's PikaEventBroker; `url` is the amqp(s) URL, and
    `exchange` / `queue` are what it publishes to and the console consumes.
    """

    kind: Literal["sql", "pika"]
    url: str
    schema: str | None = None
    exchange: str = RABBITMQ_EXCHANGE
    queue: str = RABBITMQ_QUEUE

    def shown(self) -> str:
        """The broker's address for logs and messages, without its password."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = f"{parts.username or ''}:***@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
        return parts._replace(netloc=netloc).geturl()


def event_broker_settings(database: str | None = None) -> EventBrokerSettings:
    """Rasa's event broker from the environment (not endpoints.yml): the same in the Rasa server and the console.

    EVENT_BROKER_URL says it outright (an amqp:// or amqps:// URL for RabbitMQ, else a database URL for the SQL
    broker); else RABBITMQ_URL selects RabbitMQ; else the SQL broker beside `database` (DATABASE_URL): for SQLite
    the sibling file `<name>-events.db` (its table `events` would collide with the tracker store's), for
    PostgreSQL the schema EVENT_BROKER_SCHEMA in the same database.
    """
    exchange = os.environ.get("RABBITMQ_EXCHANGE", "").strip() or RABBITMQ_EXCHANGE
    queue = os.environ.get("RABBITMQ_QUEUE", "").strip() or RABBITMQ_QUEUE
    explicit = os.environ.get("EVENT_BROKER_URL", "").strip()
    rabbitmq = explicit or os.environ.get("RABBITMQ_URL", "").strip()
    if rabbitmq and urlsplit(rabbitmq).scheme in ("amqp", "amqps"):
        return EventBrokerSettings("pika", rabbitmq, exchange=exchange, queue=queue)
    if explicit:
        return EventBrokerSettings("sql", explicit)
    if rabbitmq:
        raise ConfigError(f"RABBITMQ_URL must be an amqp:// or amqps:// URL, got scheme {urlsplit(rabbitmq).scheme!r}")
    return _sql_broker_beside(database or database_url())


def _sql_broker_beside(database: str) -> EventBrokerSettings:
    from sqlalchemy.engine import make_url  # imported here so that reading settings stays light

    url = make_url(database)
    backend = url.get_backend_name()
    if backend == "sqlite":
        path = url.database or ""
        if not path or path == ":memory:" or path.startswith("file:"):
            raise ConfigError("an in-memory SQLite DATABASE_URL has no file for the event broker beside it: set "
                              "EVENT_BROKER_URL")
        events = Path(path).with_name(f"{Path(path).stem}-events.db")
        return EventBrokerSettings("sql", url.set(database=str(events)).render_as_string(hide_password=False))
    if backend == "postgresql":
        options = " ".join(filter(None, [str(url.query.get("options") or ""), f"-csearch_path={EVENT_BROKER_SCHEMA}"]))
        scoped = url.update_query_dict({"options": options})
        return EventBrokerSettings("sql", scoped.render_as_string(hide_password=False), schema=EVENT_BROKER_SCHEMA)
    raise ConfigError(f"no event broker beside a {backend} DATABASE_URL: set EVENT_BROKER_URL")
