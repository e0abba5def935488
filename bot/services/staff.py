"""The console's people: logins, passwords, sessions and personal API tokens (SPEC section 8).

Only digests of what a person holds are kept: passwords as Argon2id (argon2-cffi's encoded form), session
and API tokens as SHA-256, so a copy of the tables logs no one in. Logging in is throttled per login and per
client from the attempts on file; an unknown login does the same work as a known one (a hash is verified, an
attempt is counted) and gets the same answer, so neither the answer nor its timing says who has a login.

The pure rules (what a login and a password may be, when guessing is throttled, when a session has expired)
are the small functions at the top; the use cases below them each take a unit of work first.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update

from bot.domain.console import ROLES, Staff
from bot.services import audit
from bot.storage.db import as_utc
from bot.storage.orm import Agent, AgentToken, ConsoleSession, LoginAttempt

if TYPE_CHECKING:
    from bot.services.unit_of_work import SqlUnitOfWork

OPERATIONS = "operations"  # the actor of a command run with no login to name
LOGIN = re.compile(r"[a-z0-9._-]{2,64}")
MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024  # Argon2 reads all of it: a megabyte "password" would be a cheap way to load the server

THROTTLE_WINDOW = timedelta(minutes=15)
MAX_LOGIN_FAILURES = 5  # per login in the window: guessing one person's password
MAX_CLIENT_FAILURES = 20  # per client in the window: trying many logins from one place
DEFAULT_IDLE_MINUTES = 30
ABSOLUTE_LIFETIME = timedelta(hours=12)  # a session ends this long after login, however busy
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often, not on every request

WRONG = "login or password is wrong"
THROTTLED = "too many attempts, try again later"

_hasher = PasswordHasher()  # argon2-cffi's defaults: Argon2id, RFC 9106's low-memory profile
_dummy_hash: str | None = None


class StaffRefused(ValueError):
    """A login, role or password that may not be set; the message says why, in one line."""


class UnknownAgent(LookupError):
    """No agent has this login."""

    def __init__(self, login: str):
        super().__init__(f"no agent with the login {login!r}")
        self.login = login


# --- pure rules ------------------------------------------------------------------------------------

def normalise_login(login: str) -> str:
    """The login as stored: trimmed and lower-cased; StaffRefused unless 2-64 of a-z 0-9 . _ -."""
    folded = (login or "").strip().lower()
    if not LOGIN.fullmatch(folded):
        raise StaffRefused("a login is 2 to 64 characters: letters a-z, digits, '.', '_' or '-'")
    return folded


def password_problem(login: str, password: str) -> str | None:
    """Why `password` may not be `login`'s password, or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"the password must be at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"the password must be at most {MAX_PASSWORD_CHARS} characters"
    if password.strip().casefold() == login.strip().casefold():
        return "the password must not be the login"
    return None


def is_throttled(login_failures: int, client_failures: int) -> bool:
    """Whether a login attempt is refused unheard, from the failures counted within THROTTLE_WINDOW."""
    return login_failures >= MAX_LOGIN_FAILURES or client_failures >= MAX_CLIENT_FAILURES


def idle_timeout() -> timedelta:
    """CONSOLE_IDLE_MINUTES (default 30): a session unused this long has ended."""
    raw = os.environ.get("CONSOLE_IDLE_MINUTES", "").strip()
    minutes = int(raw) if raw.isdigit() and int(raw) > 0 else DEFAULT_IDLE_MINUTES
    return timedelta(minutes=minutes)


def session_expired(created_at: datetime, last_seen_at: datetime, now: datetime, *, idle: timedelta) -> bool:
    """Whether a session has ended by time: idle for `idle`, or ABSOLUTE_LIFETIME after it began."""
    return now - last_seen_at >= idle or now - created_at >= ABSOLUTE_LIFETIME


def needs_touch(last_seen_at: datetime, now: datetime) -> bool:
    """Whether a request should record that the session was used (at most once per TOUCH_EVERY)."""
    return now - last_seen_at >= TOUCH_EVERY


def digest(token: str) -> str:
    """The SHA-256 (hex) a session or API token is stored as."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# --- agents ----------------------------------------------------------------------------------------

def add_agent(uow: SqlUnitOfWork, login: str, role: str, password: str, *, actor: str = OPERATIONS) -> bool:
    """Create an agent (True), or reset an existing one's role and password (False) and end their sessions.

    Raises StaffRefused for a bad login, role or password; nothing is written then.
    """
    login = normalise_login(login)
    if role not in ROLES:
        raise StaffRefused(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
    problem = password_problem(login, password)
    if problem:
        raise StaffRefused(problem)
    password_hash = _hasher.hash(password)
    with uow:
        session = uow.session
        agent = session.get(Agent, login)
        created = agent is None
        if agent is None:
            session.add(Agent(login=login, role=role, password_hash=password_hash, active=True, created_at=uow.now()))
        else:
            agent.role, agent.password_hash, agent.active = role, password_hash, True
            _end_sessions(uow, login)  # a reset password must lock out whoever had the old one
        audit.record(session, "agent_added" if created else "agent_updated", actor=actor, at=uow.now(),
                     login=login, role=role)
    return created


def set_active(uow: SqlUnitOfWork, login: str, active: bool, *, actor: str = OPERATIONS) -> None:
    """Let an agent log in again, or stop them (their sessions end; their tokens stop working while inactive)."""
    login = normalise_login(login)
    with uow:
        agent = uow.session.get(Agent, login)
        if agent is None:
            raise UnknownAgent(login)
        agent.active = active
        if not active:
            _end_sessions(uow, login)
        audit.record(uow.session, "agent_activated" if active else "agent_deactivated", actor=actor, at=uow.now(),
                     login=login)


def _end_sessions(uow: SqlUnitOfWork, login: str) -> None:
    uow.session.execute(update(ConsoleSession).where(ConsoleSession.login == login, ConsoleSession.ended_at.is_(None))
                        .values(ended_at=uow.now()))


# --- personal API tokens ---------------------------------------------------------------------------

def issue_token(uow: SqlUnitOfWork, login: str, *, actor: str = OPERATIONS) -> str:
    """A new personal API token for `login`, shown to the caller once; the agent's earlier tokens are revoked.

    Raises UnknownAgent.
    """
    try:
        login = normalise_login(login)
    except StaffRefused:
        raise UnknownAgent(login) from None
    token = secrets.token_urlsafe(32)
    with uow:
        if uow.session.get(Agent, login) is None:
            raise UnknownAgent(login)
        uow.session.execute(update(AgentToken).where(AgentToken.login == login, AgentToken.revoked_at.is_(None))
                            .values(revoked_at=uow.now()))
        uow.session.add(AgentToken(token_hash=digest(token), login=login, created_at=uow.now()))
        audit.record(uow.session, "agent_token_issued", actor=actor, at=uow.now(), login=login)
    return token


def revoke_tokens(uow: SqlUnitOfWork, login: str, *, actor: str = OPERATIONS) -> int:
    """Revoke every live token of `login`; how many were live."""
    login = (login or "").strip().lower()
    live = (AgentToken.login == login, AgentToken.revoked_at.is_(None))
    with uow:
        revoked = int(uow.session.scalar(select(func.count()).select_from(AgentToken).where(*live)) or 0)
        if revoked:
            uow.session.execute(update(AgentToken).where(*live).values(revoked_at=uow.now()))
            audit.record(uow.session, "agent_tokens_revoked", actor=actor, at=uow.now(), login=login, count=revoked)
    return revoked


def staff_for_token(uow: SqlUnitOfWork, token: str) -> Staff | None:
    """The active agent a live personal API token belongs to, or None."""
    if not token:
        return None
    with uow:
        agent = uow.session.scalars(
            select(Agent).join(AgentToken, AgentToken.login == Agent.login)
            .where(AgentToken.token_hash == digest(token), AgentToken.revoked_at.is_(None), Agent.active.is_(True))
        ).first()
        return Staff(agent.login, agent.role) if agent is not None else None


# --- logging in and sessions -----------------------------------------------------------------------

@dataclass(frozen=True)
class LoggedIn:
    staff: Staff
    session_token: str  # for the cookie; only its SHA-256 is on file
    csrf_token: str  # every unsafe request of the session carries it


@dataclass(frozen=True)
class LoginRefused:
    reason: str  # WRONG or THROTTLED: what the person is told, the same for an unknown login and a wrong password
    throttled: bool = False


@dataclass(frozen=True)
class SessionInfo:
    staff: Staff
    csrf_token: str


def _dummy() -> str:
    """A hash of nothing anyone knows, verified for unknown logins so that they cost what a known one does."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_urlsafe(16))
    return _dummy_hash


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _failures(uow: SqlUnitOfWork, login: str, client: str) -> tuple[int, int]:
    """Failed attempts within the window: for the login since its last success, and from the client."""
    since = uow.now() - THROTTLE_WINDOW
    session = uow.session
    last_success = session.scalar(select(func.max(LoginAttempt.attempted_at)).where(
        LoginAttempt.login == login, LoginAttempt.succeeded.is_(True), LoginAttempt.attempted_at > since))
    login_since = max(since, as_utc(last_success)) if last_success is not None else since
    login_failures = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.login == login, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at > login_since))
    client_failures = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.client == client, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at > since))
    return int(login_failures or 0), int(client_failures or 0)


def log_in(uow: SqlUnitOfWork, login: str, password: str, client: str) -> LoggedIn | LoginRefused:
    """Check a login and password from `client` (an address) at `uow.now()`, and open a session if they match.

    Refused unheard while the login or the client is throttled (even with the right password); such a refusal
    is audited but not counted, so a lock lifts THROTTLE_WINDOW after the failures that set it. The attempt is
    counted as a failure before the password is checked (two transactions, the slow hash between them), so
    guesses sent at once all see each other and cannot slip past the limit together.
    """
    attempted = (login or "").strip().lower()[:64]
    client = (client or "unknown")[:200]
    password = password or ""
    with uow:
        session, now = uow.session, uow.now()
        login_failures, client_failures = _failures(uow, attempted, client)
        if is_throttled(login_failures, client_failures):
            audit.record(session, "console_login_failed", actor="console", at=now, login=attempted, client=client,
                         reason="throttled")
            return LoginRefused(THROTTLED, throttled=True)
        agent = session.get(Agent, attempted) if LOGIN.fullmatch(attempted) else None
        password_hash = agent.password_hash if agent is not None and agent.active else None
        attempt = LoginAttempt(login=attempted, client=client, succeeded=False, attempted_at=now)
        session.add(attempt)
        session.flush()
        attempt_id = attempt.id
    # An unknown or inactive login verifies a dummy hash: the same work, the same answer.
    matches = len(password) <= MAX_PASSWORD_CHARS and _password_matches(password_hash or _dummy(), password)
    with uow:
        session, now = uow.session, uow.now()
        agent = session.get(Agent, attempted) if password_hash is not None and matches else None
        if agent is None or not agent.active or agent.password_hash != password_hash:
            audit.record(session, "console_login_failed", actor="console", at=now, login=attempted, client=client,
                         reason="wrong")
            return LoginRefused(WRONG)
        counted = session.get(LoginAttempt, attempt_id)
        if counted is not None:
            counted.succeeded = True
        if _hasher.check_needs_rehash(agent.password_hash):  # the defaults were raised since it was set
            agent.password_hash = _hasher.hash(password)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        session.add(ConsoleSession(token_hash=digest(token), login=agent.login, csrf_token=csrf, created_at=now,
                                   last_seen_at=now))
        audit.record(session, "console_login", actor=agent.login, at=now, client=client)
        return LoggedIn(Staff(agent.login, agent.role), token, csrf)


def session_staff(uow: SqlUnitOfWork, session_token: str, *, idle: timedelta | None = None,
                  activity: bool = True) -> SessionInfo | None:
    """Who a session cookie belongs to, or None (no such session, ended, expired, or the agent is inactive).

    `idle` defaults to CONSOLE_IDLE_MINUTES. An expired session is marked ended; a live one is touched at
    most once per TOUCH_EVERY, unless the request is not the person's doing (`activity=False`: a live-update
    stream reconnecting on its own, which would otherwise keep an unattended tab logged in for ever).
    """
    if not session_token:
        return None
    idle = idle if idle is not None else idle_timeout()
    with uow:
        now = uow.now()
        row = uow.session.execute(
            select(ConsoleSession, Agent).join(Agent, Agent.login == ConsoleSession.login)
            .where(ConsoleSession.token_hash == digest(session_token), ConsoleSession.ended_at.is_(None))
        ).first()
        if row is None:
            return None
        console_session, agent = row
        if not agent.active:
            return None
        last_seen = as_utc(console_session.last_seen_at)
        if session_expired(as_utc(console_session.created_at), last_seen, now, idle=idle):
            console_session.ended_at = now
            return None
        if activity and needs_touch(last_seen, now):
            console_session.last_seen_at = now
        return SessionInfo(Staff(agent.login, agent.role), console_session.csrf_token)


def log_out(uow: SqlUnitOfWork, session_token: str) -> bool:
    """End a session; whether there was a live one to end."""
    if not session_token:
        return False
    with uow:
        console_session = uow.session.get(ConsoleSession, digest(session_token))
        if console_session is None or console_session.ended_at is not None:
            return False
        console_session.ended_at = uow.now()
        audit.record(uow.session, "console_logout", actor=console_session.login, at=uow.now())
        return True
