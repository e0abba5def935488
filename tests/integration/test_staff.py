"""The console's people on both backends: logins and Argon2 hashes, throttled logging in, sessions that expire
by the unit of work's clock, personal API tokens, and the two commands that make them."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from bot.domain.console import Staff
from bot.services import staff
from bot.services.staff import LoggedIn, LoginRefused, StaffRefused, UnknownAgent
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage.db import as_utc
from bot.storage.orm import Agent, AgentToken, AuditEvent, ConsoleSession, LoginAttempt
from tests.support.database import in_transaction, run_cli

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
OFFICE = "198.51.100.7"



def _add(login: str = "alice", role: str = "agent", password: str = PASSWORD) -> bool:
    return in_transaction(staff.add_agent, login, role, password, now=T0)


def _log_in(login: str = "alice", password: str = PASSWORD, client: str = OFFICE,
            at: datetime = T0) -> LoggedIn | LoginRefused:
    return in_transaction(staff.log_in, login, password, client, now=at)


def _rows(model: type, **where: object) -> list:
    with SqlUnitOfWork() as uow:
        query = select(model).filter_by(**where).order_by(*sa_inspect(model).primary_key)  # PostgreSQL: no order
        return list(uow.session.scalars(query))


def _audit(action: str) -> list[AuditEvent]:
    return _rows(AuditEvent, action=action)


def test_an_agent_is_added_with_an_argon2id_hash_and_updated_on_a_rerun(db: str) -> None:
    assert _add("Alice", "agent") is True
    (agent,) = _rows(Agent)
    assert agent.login == "alice" and agent.role == "agent" and agent.active
    assert agent.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # argon2-cffi's defaults
    assert PASSWORD not in agent.password_hash
    (added,) = _audit("agent_added")
    assert added.actor == "operations" and added.details == {"login": "alice", "role": "agent"}

    first = _log_in()
    assert isinstance(first, LoggedIn)
    assert in_transaction(staff.add_agent, "alice", "supervisor", "another long secret", now=T0) is False
    (agent,) = _rows(Agent)
    assert agent.role == "supervisor"
    assert isinstance(_log_in(password=PASSWORD), LoginRefused)  # the old password is gone
    assert in_transaction(staff.session_staff, first.session_token, now=T0) is None  # and so is its session
    second = _log_in(password="another long secret")
    assert isinstance(second, LoggedIn) and second.staff == Staff("alice", "supervisor")
    assert _audit("agent_updated")
    for event in _rows(AuditEvent):
        assert PASSWORD not in str(event.details) and "another long secret" not in str(event.details)


@pytest.mark.parametrize("login, role, password, why", [
    ("a", "agent", PASSWORD, "2 to 64 characters"),
    ("bob smith", "agent", PASSWORD, "2 to 64 characters"),
    ("bob", "admin", PASSWORD, "role must be one of agent, supervisor"),
    ("bob", "agent", "short", "at least 12"),
    ("bob.the.builder", "agent", "BOB.THE.BUILDER", "not be the login"),
])
def test_a_bad_login_role_or_password_is_refused_and_nothing_is_written(db: str, login: str, role: str,
                                                                       password: str, why: str) -> None:
    with pytest.raises(StaffRefused, match=why):
        _add(login, role, password)
    assert _rows(Agent) == [] and _rows(AuditEvent) == []


def test_a_login_opens_a_session_kept_only_as_a_digest(db: str) -> None:
    _add("Alice", "supervisor")
    result = _log_in(" ALICE ")
    assert isinstance(result, LoggedIn) and result.staff == Staff("alice", "supervisor")
    assert len(result.session_token) >= 43 and len(result.csrf_token) >= 43
    (row,) = _rows(ConsoleSession)
    assert row.token_hash == staff.digest(result.session_token) != result.session_token
    assert in_transaction(staff.session_staff, result.session_token, now=T0) == staff.SessionInfo(
        Staff("alice", "supervisor"), result.csrf_token)
    assert in_transaction(staff.session_staff, result.session_token + "x", now=T0) is None
    assert in_transaction(staff.session_staff, "", now=T0) is None
    (attempt,) = _rows(LoginAttempt)
    assert attempt.succeeded and attempt.login == "alice" and attempt.client == OFFICE
    (login,) = _audit("console_login")
    assert login.actor == "alice" and PASSWORD not in str(login.details)


def test_an_unknown_login_gets_the_same_refusal_after_the_same_work(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _add("alice")
    checked: list[str] = []
    real = staff._password_matches
    monkeypatch.setattr(staff, "_password_matches", lambda stored, password: checked.append(stored) or real(
        stored, password))
    wrong, unknown = _log_in("alice", "not the password"), _log_in("mallory", PASSWORD)
    assert wrong == unknown == LoginRefused(staff.WRONG, throttled=False)
    (agent,) = _rows(Agent)
    assert checked == [agent.password_hash, staff._dummy()]  # an Argon2 verification either way
    assert checked[1].startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    failed = _audit("console_login_failed")
    assert [event.details["login"] for event in failed] == ["alice", "mallory"]
    assert all("not the password" not in str(event.details) for event in failed)
    assert [attempt.succeeded for attempt in _rows(LoginAttempt)] == [False, False]


def test_five_failures_throttle_a_login_even_for_the_right_password(db: str, cheap_hashing: None) -> None:
    _add("alice")
    for minute in range(5):
        assert _log_in(password=f"guess number {minute}", at=T0 + timedelta(minutes=minute)).throttled is False
    refused = _log_in(at=T0 + timedelta(minutes=6))
    assert refused == LoginRefused(staff.THROTTLED, throttled=True)
    assert isinstance(_log_in(client="203.0.113.99", at=T0 + timedelta(minutes=6)), LoginRefused)  # any client
    assert isinstance(_log_in("bob", "whatever password", at=T0 + timedelta(minutes=6)), LoginRefused)
    assert _log_in("bob", "whatever password", at=T0 + timedelta(minutes=6)).throttled is False  # another login
    assert len(_rows(LoginAttempt, login="alice")) == 5  # refusals unheard are not counted
    assert _rows(AuditEvent, action="console_login_failed")[5].details["reason"] == "throttled"
    # Fifteen minutes after the first failure it drops out of the window: the right password works again.
    assert isinstance(_log_in(at=T0 + timedelta(minutes=15)), LoggedIn)


def test_a_success_starts_the_count_of_failures_again(db: str, cheap_hashing: None) -> None:
    _add("alice")
    for minute in range(4):
        _log_in(password="wrong password", at=T0 + timedelta(minutes=minute))
    assert isinstance(_log_in(at=T0 + timedelta(minutes=4)), LoggedIn)
    for minute in range(4):
        _log_in(password="wrong password", at=T0 + timedelta(minutes=5 + minute))
    assert isinstance(_log_in(at=T0 + timedelta(minutes=9)), LoggedIn)


def test_twenty_failures_throttle_a_client_whatever_login_it_tries(db: str, cheap_hashing: None) -> None:
    _add("alice")
    for number in range(20):
        assert _log_in(f"user{number}", "any password at all", at=T0 + timedelta(seconds=number)).throttled is False
    assert _log_in(at=T0 + timedelta(minutes=1)) == LoginRefused(staff.THROTTLED, throttled=True)
    assert isinstance(_log_in(client="203.0.113.5", at=T0 + timedelta(minutes=1)), LoggedIn)  # elsewhere: fine
    assert isinstance(_log_in(at=T0 + timedelta(minutes=15, seconds=30)), LoggedIn)  # the window has passed


def test_an_old_hash_is_upgraded_to_the_current_parameters_on_login(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(staff, "_hasher", cheap)
    _add("alice")
    assert "m=8,t=1,p=1" in _rows(Agent)[0].password_hash
    monkeypatch.setattr(staff, "_hasher", PasswordHasher())
    assert isinstance(_log_in(), LoggedIn)
    assert _rows(Agent)[0].password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")


def test_a_session_expires_when_idle_by_the_unit_of_works_clock(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONSOLE_IDLE_MINUTES", raising=False)
    _add("alice")
    result = _log_in()
    assert isinstance(result, LoggedIn)
    token = result.session_token

    def seen(at: datetime) -> bool:
        return in_transaction(staff.session_staff, token, now=at) is not None

    def last_seen() -> datetime:
        return as_utc(_rows(ConsoleSession)[0].last_seen_at)

    assert seen(T0 + timedelta(seconds=30)) and last_seen() == T0  # not written on every request
    assert seen(T0 + timedelta(minutes=29)) and last_seen() == T0 + timedelta(minutes=29)
    assert seen(T0 + timedelta(minutes=58))  # 29 minutes after it was last used
    assert not seen(T0 + timedelta(minutes=88))  # 30 idle minutes
    assert as_utc(_rows(ConsoleSession)[0].ended_at) == T0 + timedelta(minutes=88)
    assert not seen(T0 + timedelta(minutes=60))  # ended is ended


def test_the_idle_limit_follows_console_idle_minutes(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONSOLE_IDLE_MINUTES", "5")
    _add("alice")
    result = _log_in()
    assert isinstance(result, LoggedIn)
    assert in_transaction(staff.session_staff, result.session_token, now=T0 + timedelta(minutes=5)) is None


def test_a_busy_session_still_ends_twelve_hours_after_login(db: str) -> None:
    _add("alice")
    result = _log_in()
    assert isinstance(result, LoggedIn)
    moment = T0
    while moment < T0 + timedelta(hours=11, minutes=40):
        moment += timedelta(minutes=20)
        assert in_transaction(staff.session_staff, result.session_token, now=moment) is not None
    assert in_transaction(staff.session_staff, result.session_token, now=T0 + timedelta(hours=12)) is None


def test_logging_out_ends_the_session(db: str) -> None:
    _add("alice")
    result = _log_in()
    assert isinstance(result, LoggedIn)
    assert in_transaction(staff.log_out, result.session_token, now=T0) is True
    assert in_transaction(staff.session_staff, result.session_token, now=T0) is None
    assert in_transaction(staff.log_out, result.session_token, now=T0) is False
    (logout,) = _audit("console_logout")
    assert logout.actor == "alice"


def test_a_deactivated_agent_can_neither_log_in_nor_keep_a_session_or_token(db: str) -> None:
    _add("alice")
    result = _log_in()
    assert isinstance(result, LoggedIn)
    token = in_transaction(staff.issue_token, "alice", now=T0)
    in_transaction(staff.set_active, "alice", False, now=T0)
    assert in_transaction(staff.session_staff, result.session_token, now=T0) is None
    assert in_transaction(staff.staff_for_token, token, now=T0) is None
    assert _log_in() == LoginRefused(staff.WRONG)  # the same answer as a wrong password
    in_transaction(staff.set_active, "alice", True, now=T0)
    assert in_transaction(staff.staff_for_token, token, now=T0) == Staff("alice", "agent")
    assert in_transaction(staff.session_staff, result.session_token, now=T0) is None  # ended for good
    with pytest.raises(UnknownAgent):
        in_transaction(staff.set_active, "nobody", False, now=T0)


def test_a_personal_token_is_stored_hashed_and_a_new_one_revokes_the_old(db: str) -> None:
    _add("alice", "supervisor")
    first = in_transaction(staff.issue_token, "ALICE", now=T0)
    (row,) = _rows(AgentToken)
    assert row.token_hash == staff.digest(first) and row.login == "alice"
    assert in_transaction(staff.staff_for_token, first, now=T0) == Staff("alice", "supervisor")
    assert in_transaction(staff.staff_for_token, first[:-1], now=T0) is None
    assert in_transaction(staff.staff_for_token, "", now=T0) is None
    second = in_transaction(staff.issue_token, "alice", now=T0)
    assert second != first
    assert in_transaction(staff.staff_for_token, first, now=T0) is None
    assert in_transaction(staff.staff_for_token, second, now=T0) == Staff("alice", "supervisor")
    assert in_transaction(staff.revoke_tokens, "alice", now=T0) == 1
    assert in_transaction(staff.staff_for_token, second, now=T0) is None
    assert len(_audit("agent_token_issued")) == 2
    for unknown in ("nobody", "not a login!"):
        with pytest.raises(UnknownAgent):
            in_transaction(staff.issue_token, unknown, now=T0)


# --- the commands ------------------------------------------------------------------------------------

def test_add_agent_reads_the_password_from_stdin(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\nignored second line\n"))
    result = run_cli("add-agent", "Carol", "--role", "agent", "--actor", "ops-jane", database=db)
    assert result.stdout.strip() == "agent carol added (agent)"
    assert _audit("agent_added")[0].actor == "ops-jane"
    monkeypatch.setattr("sys.stdin", io.StringIO("a brand new password\n"))
    result = run_cli("add-agent", "carol", "--role", "supervisor", database=db)
    assert result.stdout.strip() == "agent carol updated (supervisor)"
    assert isinstance(_log_in("carol", "a brand new password"), LoggedIn)


def test_add_agent_refuses_a_weak_password_in_one_line(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    result = run_cli("add-agent", "carol", "--role", "agent", database=db, check=False)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == "not added: the password must be at least 12 characters"
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    result = run_cli("add-agent", "carol", "--role", "boss", database=db, check=False)
    assert result.returncode == 2  # argparse: not a role
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    result = run_cli("add-agent", "c", "--role", "agent", database=db, check=False)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert _rows(Agent) == []


def test_add_agent_at_a_terminal_asks_twice(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    answers = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    result = run_cli("add-agent", "dave", "--role", "agent", database=db, check=False)
    assert result.returncode == 1 and "differ" in result.stderr and _rows(Agent) == []
    answers = iter([PASSWORD, PASSWORD])
    assert run_cli("add-agent", "dave", "--role", "agent", database=db).stdout.strip() == "agent dave added (agent)"


def test_the_password_is_never_an_argument(db: str) -> None:
    result = run_cli("add-agent", "erin", "--role", "agent", "--password", PASSWORD, database=db, check=False)
    assert result.returncode == 2


def test_agent_token_prints_a_token_once_and_knows_no_stranger(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _add("alice")
    token = run_cli("agent-token", "alice", database=db).stdout.strip()
    assert in_transaction(staff.staff_for_token, token) == Staff("alice", "agent")
    result = run_cli("agent-token", "nobody", database=db, check=False)
    assert result.returncode == 3 and result.stdout == "" and "nobody" in result.stderr
