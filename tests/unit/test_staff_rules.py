"""The console's access rules as pure functions: logins, passwords, throttling, session expiry, redirects,
and the login form's signed CSRF token."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.console.auth import LOGIN_CSRF_MAX_AGE, login_csrf_token, login_csrf_valid, safe_next
from bot.services import staff
from bot.services.staff import (
    ABSOLUTE_LIFETIME,
    MAX_CLIENT_FAILURES,
    MAX_LOGIN_FAILURES,
    StaffRefused,
    is_throttled,
    needs_touch,
    normalise_login,
    password_problem,
    session_expired,
)

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
IDLE = timedelta(minutes=30)


@pytest.mark.parametrize("given, stored", [("Alice", "alice"), (" bob.smith ", "bob.smith"), ("a-1_b", "a-1_b"),
                                           ("ab", "ab"), ("x" * 64, "x" * 64)])
def test_logins_are_lower_cased_and_trimmed(given: str, stored: str) -> None:
    assert normalise_login(given) == stored


@pytest.mark.parametrize("login", ["", "a", "x" * 65, "al ice", "alice@example.com", "ålice", "alice;drop", "../x"])
def test_logins_outside_the_alphabet_or_length_are_refused(login: str) -> None:
    with pytest.raises(StaffRefused):
        normalise_login(login)


def test_password_rules() -> None:
    assert password_problem("alice", "correct horse") is None
    assert password_problem("alice", "x" * 12) is None
    assert "at least 12" in (password_problem("alice", "x" * 11) or "")
    assert "not be the login" in (password_problem("alice.example", "Alice.Example") or "")
    assert "at most" in (password_problem("alice", "x" * 1025) or "")


def test_throttling_starts_at_five_failures_per_login_or_twenty_per_client() -> None:
    assert MAX_LOGIN_FAILURES == 5 and MAX_CLIENT_FAILURES == 20
    assert not is_throttled(4, 19)
    assert is_throttled(5, 0)
    assert is_throttled(0, 20)


def test_a_session_expires_after_idling_or_at_its_absolute_lifetime() -> None:
    started = NOW - timedelta(hours=1)
    assert not session_expired(started, NOW - timedelta(minutes=29, seconds=59), NOW, idle=IDLE)
    assert session_expired(started, NOW - IDLE, NOW, idle=IDLE)
    busy_since = NOW - ABSOLUTE_LIFETIME
    assert ABSOLUTE_LIFETIME == timedelta(hours=12)
    assert session_expired(busy_since, NOW - timedelta(seconds=5), NOW, idle=IDLE)
    assert not session_expired(busy_since + timedelta(seconds=1), NOW - timedelta(seconds=5), NOW, idle=IDLE)


def test_a_session_is_touched_at_most_once_a_minute() -> None:
    assert not needs_touch(NOW - timedelta(seconds=59), NOW)
    assert needs_touch(NOW - timedelta(minutes=1), NOW)


def test_the_idle_timeout_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONSOLE_IDLE_MINUTES", raising=False)
    assert staff.idle_timeout() == timedelta(minutes=30)
    monkeypatch.setenv("CONSOLE_IDLE_MINUTES", "5")
    assert staff.idle_timeout() == timedelta(minutes=5)
    for nonsense in ("0", "-3", "soon"):
        monkeypatch.setenv("CONSOLE_IDLE_MINUTES", nonsense)
        assert staff.idle_timeout() == timedelta(minutes=30)


def test_tokens_are_stored_as_sha256() -> None:
    assert staff.digest("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


@pytest.mark.parametrize("target", ["/", "/queue", "/conversations/abc?tab=account", "/api/queue"])
def test_next_may_be_a_path_on_this_site(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize("target", [
    None, "", "https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
    "javascript:alert(1)", "evil.example", "/login", "/logout", "http:/evil.example", "/ok\r\nSet-Cookie: x=1",
    "/" + "a" * 2001,
])
def test_next_never_leaves_the_site(target: str | None) -> None:
    assert safe_next(target) == "/"


def test_the_login_form_token_is_signed_matched_and_short_lived() -> None:
    key, other_key = b"k" * 32, b"o" * 32
    token = login_csrf_token(key, 1_000_000)
    assert login_csrf_valid(key, token, token, 1_000_000 + 60)
    assert not login_csrf_valid(key, token, token, 1_000_000 + LOGIN_CSRF_MAX_AGE + 1)  # too old
    assert not login_csrf_valid(key, token, token, 1_000_000 - 10)  # from the future
    assert not login_csrf_valid(other_key, token, token, 1_000_000)  # not ours
    assert not login_csrf_valid(key, token, login_csrf_token(key, 1_000_000), 1_000_000)  # the field is another's
    assert not login_csrf_valid(key, None, token, 1_000_000)
    assert not login_csrf_valid(key, token, "", 1_000_000)
    issued, nonce, signature = token.split(".")
    forged = f"{int(issued) + 10}.{nonce}.{signature}"  # a later stamp under the old signature
    assert not login_csrf_valid(key, forged, forged, 1_000_000 + 10)
