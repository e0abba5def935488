"""The console's front door, attacked over HTTP on both backends: an aiohttp app with `setup_auth`, one protected
page, a protected form, and protected API routes, served by aiohttp's test server on a real socket."""
from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from bot.console import auth
from bot.console.auth import require_supervisor, setup_auth
from bot.services import staff
from bot.services.unit_of_work import utcnow
from tests.support.database import in_transaction

PASSWORD = "correct horse battery"
EVIL = "http://evil.example"


async def _page(request: web.Request) -> web.Response:
    person = auth.staff_of(request)
    return web.json_response({"page": request.path, "login": person.login, "csrf": request[auth.CSRF_KEY]})


async def _form(request: web.Request) -> web.Response:
    form = await request.post()
    return web.json_response({"note": form.get("note"), "login": auth.staff_of(request).login})


async def _api(request: web.Request) -> web.Response:
    person = auth.staff_of(request)
    return web.json_response({"login": person.login, "role": person.role})


async def _approve(request: web.Request) -> web.Response:
    return web.json_response({"approved_by": require_supervisor(request).login})


async def _healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def _app() -> web.Application:
    app = web.Application()
    setup_auth(app)
    app.router.add_get("/", _page)
    app.router.add_get("/queue", _page)
    app.router.add_post("/notes", _form)
    app.router.add_get("/api/me", _api)
    app.router.add_post("/api/echo", _api)
    app.router.add_post("/api/approve", _approve)
    app.router.add_get("/healthz", _healthz)
    return app



@pytest.fixture
async def client(db: str, monkeypatch: pytest.MonkeyPatch, cheap_hashing: None) -> AsyncIterator[TestClient]:
    """The app on a real port, with alice (agent) and sue (supervisor), on this backend's database."""
    monkeypatch.setenv("CONSOLE_SECRET_KEY", "a test console key, long enough")
    monkeypatch.delenv("CONSOLE_TRUST_PROXY", raising=False)
    monkeypatch.delenv("CONSOLE_IDLE_MINUTES", raising=False)
    in_transaction(staff.add_agent, "alice", "agent", PASSWORD)
    in_transaction(staff.add_agent, "sue", "supervisor", PASSWORD)
    async with TestClient(TestServer(_app(), host="127.0.0.1")) as test_client:
        yield test_client


def _origin(client: TestClient) -> str:
    return str(client.make_url("")).rstrip("/")


async def _login_form(client: TestClient, query: str = "") -> str:
    page = await client.get(f"/login{query}")
    assert page.status == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert match
    return match.group(1)


async def _log_in(client: TestClient, login: str = "alice", password: str = PASSWORD, next_path: str | None = None,
                  **headers: str) -> ClientResponse:
    data = {"login": login, "password": password, "csrf_token": await _login_form(client)}
    if next_path is not None:
        data["next"] = next_path
    return await client.post("/login", data=data, allow_redirects=False, headers=headers)


async def _csrf(client: TestClient) -> str:
    response = await client.get("/")
    assert response.status == 200
    token: str = (await response.json())["csrf"]
    return token


async def _raw_status(client: TestClient, path: str) -> int:
    """The status of a GET of `path` exactly as written, on a socket of its own."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {client.host}:{client.port}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    status_line = (await reader.readline()).decode()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


def _set_cookies(response: ClientResponse) -> dict[str, str]:
    """Each Set-Cookie header of the response, by cookie name, as sent."""
    return {header.split("=", 1)[0]: header for header in response.headers.getall("Set-Cookie", [])}


# --- no person, no answer ----------------------------------------------------------------------------

async def test_no_page_or_api_answers_without_a_session(client: TestClient) -> None:
    for path in ("/", "/queue?tab=mine"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"].startswith("/login?next=%2F")
    response = await client.post("/notes", data={"note": "x"}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"
    for method, path in (("GET", "/api/me"), ("POST", "/api/echo"), ("POST", "/api/approve"), ("GET", "/api/nope")):
        response = await client.request(method, path, allow_redirects=False)
        assert response.status == 401, path
        assert await response.json() == {"error": "login required"}
    # A public prefix does not open what lies behind it (sent raw: aiohttp's client would tidy the path).
    for path in ("/static/../api/me", "/static/%2e%2e/api/me", "/static/..%2fapi/me", "/login/../api/me",
                 "/healthz/../", "/static//../queue"):
        assert await _raw_status(client, path) in (303, 401, 404), path
    assert (await client.get("/healthz")).status == 200
    css = await client.get("/static/login.css")
    assert css.status == 200 and css.content_type == "text/css"


async def test_a_forged_or_expired_session_cookie_is_refused(client: TestClient) -> None:
    client.session.cookie_jar.update_cookies({"console_session": "forged-" + "x" * 40})
    response = await client.get("/", allow_redirects=False)
    assert response.status == 303
    assert "Max-Age=0" in _set_cookies(response)["console_session"]  # the browser forgets it
    client.session.cookie_jar.update_cookies({"console_session": "forged-" + "x" * 40})
    assert (await client.get("/api/me")).status == 401
    for age in (timedelta(minutes=31), timedelta(hours=13)):  # idle, and past the absolute lifetime
        old = in_transaction(staff.log_in, "alice", PASSWORD, "203.0.113.1", now=utcnow() - age)
        assert isinstance(old, staff.LoggedIn)
        if age > timedelta(hours=12):  # used a minute ago, but logged in 13 hours ago
            in_transaction(staff.session_staff, old.session_token, now=utcnow() - timedelta(minutes=1))
        client.session.cookie_jar.update_cookies({"console_session": old.session_token})
        assert (await client.get("/", allow_redirects=False)).status == 303
        client.session.cookie_jar.update_cookies({"console_session": old.session_token})
        assert (await client.get("/api/me")).status == 401


# --- logging in ----------------------------------------------------------------------------------------

async def test_the_login_page_is_locked_down_and_accessible(client: TestClient) -> None:
    page = await client.get("/login")
    text = await page.text()
    policy = page.headers["Content-Security-Policy"]
    for directive in ("default-src 'none'", "style-src 'self'", "form-action 'self'", "frame-ancestors 'none'"):
        assert directive in policy
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    assert "<script" not in text and " style=" not in text
    assert '<html lang="en">' in text and "<main" in text
    assert '<label for="login">' in text and 'id="login"' in text
    assert '<label for="password">' in text and 'id="password"' in text
    cookie = _set_cookies(page)["console_login_csrf"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/login" in cookie


async def test_logging_in_sets_a_strict_httponly_session_cookie(client: TestClient) -> None:
    response = await _log_in(client)
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = _set_cookies(response)["console_session"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/;" in cookie + ";"
    assert "Secure" not in cookie  # plain http here: a Secure cookie would never come back
    page = await client.get("/")
    assert page.status == 200 and (await page.json())["login"] == "alice"
    assert (await (await client.get("/api/me")).json()) == {"login": "alice", "role": "agent"}


async def test_the_cookie_is_secure_behind_tls_but_only_a_trusted_proxy_says_so(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    response = await _log_in(client, **{"X-Forwarded-Proto": "https"})
    assert "Secure" not in _set_cookies(response)["console_session"]  # anyone can send that header
    monkeypatch.setenv("CONSOLE_TRUST_PROXY", "1")
    response = await _log_in(client, **{"X-Forwarded-Proto": "https"})
    assert response.status == 303
    assert "Secure" in _set_cookies(response)["console_session"]


async def test_a_wrong_password_and_an_unknown_login_get_the_same_answer(client: TestClient) -> None:
    wrong, unknown = await _log_in(client, password="not my password"), await _log_in(client, login="mallory")
    assert wrong.status == unknown.status == 401
    assert "console_session" not in _set_cookies(wrong) and "console_session" not in _set_cookies(unknown)
    message = re.compile(r'<p class="error"[^>]*>([^<]*)</p>')
    wrong_text, unknown_text = await wrong.text(), await unknown.text()
    assert message.findall(wrong_text) == message.findall(unknown_text) == ["The login or password is wrong."]
    assert PASSWORD not in unknown_text and "not my password" not in wrong_text


async def test_repeated_failures_are_throttled_even_for_the_right_password(client: TestClient) -> None:
    for _ in range(5):
        assert (await _log_in(client, password="a wrong guess")).status == 401
    throttled = await _log_in(client)
    assert throttled.status == 429 and "Too many attempts" in await throttled.text()
    assert "console_session" not in _set_cookies(throttled)
    assert (await _log_in(client, login="sue")).status == 303  # another login from this client is fine


async def test_a_spoofed_forwarded_for_does_not_dodge_the_client_throttle(client: TestClient) -> None:
    for number in range(20):
        response = await _log_in(client, login=f"user{number}", **{"X-Forwarded-For": f"10.0.0.{number}"})
        assert response.status == 401
    response = await _log_in(client, login="sue", **{"X-Forwarded-For": "10.9.9.9"})
    assert response.status == 429


async def test_next_never_redirects_off_the_site(client: TestClient) -> None:
    for target in (f"{EVIL}/", "//evil.example/", "/\\evil.example", "https:evil.example", "/login"):
        response = await _log_in(client, next_path=target)
        assert response.status == 303 and response.headers["Location"] == "/", target
    response = await _log_in(client, next_path="/queue?tab=mine")
    assert response.headers["Location"] == "/queue?tab=mine"
    page = await client.get("/login?next=//evil.example/")
    assert 'name="next" value="/"' in await page.text()


async def test_a_login_form_without_its_own_token_is_refused(client: TestClient) -> None:
    # Login CSRF: another site posts its attacker's credentials into the victim's browser.
    response = await client.post("/login", data={"login": "alice", "password": PASSWORD}, allow_redirects=False)
    assert response.status == 403 and "console_session" not in _set_cookies(response)
    async with TestClient(TestServer(_app(), host="127.0.0.1")) as other_browser:
        stolen = await _login_form(other_browser)
    client.session.cookie_jar.clear()
    await _login_form(client)  # this browser's own cookie, a token from another
    response = await client.post("/login", data={"login": "alice", "password": PASSWORD, "csrf_token": stolen},
                                 allow_redirects=False)
    assert response.status == 403
    response = await _log_in(client, Origin=EVIL)
    assert response.status == 403 and "console_session" not in _set_cookies(response)


# --- CSRF and origins on a session -------------------------------------------------------------------

async def test_an_unsafe_request_without_the_sessions_csrf_token_is_refused(client: TestClient) -> None:
    await _log_in(client)
    token = await _csrf(client)
    refused = {"error": "CSRF token missing or wrong"}
    for headers in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": token[:-1]}):
        response = await client.post("/api/echo", json={}, headers=headers)
        assert response.status == 403 and await response.json() == refused
    for method in ("PUT", "PATCH", "DELETE"):
        assert (await client.request(method, "/api/echo")).status == 403
    assert (await client.post("/api/echo", json={}, headers={"X-CSRF-Token": token})).status == 200
    assert (await client.post("/notes", data={"note": "hi"})).status == 403
    assert (await client.post("/notes", data={"note": "hi", "csrf_token": "nope"})).status == 403
    response = await client.post("/notes", data={"note": "hi", "csrf_token": token})
    assert response.status == 200 and await response.json() == {"note": "hi", "login": "alice"}


async def test_a_request_from_another_origin_is_refused(client: TestClient) -> None:
    await _log_in(client)
    token = await _csrf(client)
    for headers in ({"Origin": EVIL}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
        response = await client.post("/api/echo", json={}, headers={"X-CSRF-Token": token, **headers})
        assert response.status == 403, headers
    own = {"X-CSRF-Token": token, "Origin": _origin(client), "Sec-Fetch-Site": "same-origin"}
    assert (await client.post("/api/echo", json={}, headers=own)).status == 200


# --- personal API tokens -----------------------------------------------------------------------------

async def test_a_bearer_token_works_on_the_api_only(client: TestClient) -> None:
    token = in_transaction(staff.issue_token, "sue")
    bearer = {"Authorization": f"Bearer {token}"}
    assert await (await client.get("/api/me", headers=bearer)).json() == {"login": "sue", "role": "supervisor"}
    response = await client.post("/api/echo", json={}, headers=bearer)  # no cookie, so no CSRF token
    assert response.status == 200
    assert (await client.post("/api/approve", headers=bearer)).status == 200
    assert (await client.get("/", headers=bearer, allow_redirects=False)).status == 303  # not for pages
    assert (await client.post("/notes", headers=bearer, allow_redirects=False)).status == 303
    wrong = await client.get("/api/me", headers={"Authorization": f"Bearer {token}x"})
    assert wrong.status == 401 and wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await client.post("/api/echo", headers={**bearer, "Origin": EVIL})).status == 403
    in_transaction(staff.revoke_tokens, "sue")
    assert (await client.get("/api/me", headers=bearer)).status == 401


async def test_an_agent_cannot_act_as_a_supervisor(client: TestClient) -> None:
    await _log_in(client)
    token = await _csrf(client)
    response = await client.post("/api/approve", headers={"X-CSRF-Token": token})
    assert response.status == 403 and await response.json() == {"error": "supervisors only"}
    agent_token = in_transaction(staff.issue_token, "alice")
    assert (await client.post("/api/approve", headers={"Authorization": f"Bearer {agent_token}"})).status == 403


# --- logging out -------------------------------------------------------------------------------------

async def test_logging_out_needs_the_csrf_token_and_ends_the_session(client: TestClient) -> None:
    response = await _log_in(client)
    session_token = response.cookies["console_session"].value
    token = await _csrf(client)
    assert (await client.post("/logout", allow_redirects=False)).status == 403
    response = await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert "Max-Age=0" in _set_cookies(response)["console_session"]
    client.session.cookie_jar.update_cookies({"console_session": session_token})  # kept by an attacker
    assert (await client.get("/api/me")).status == 401


async def test_a_second_login_page_keeps_the_first_forms_token(client: TestClient) -> None:
    """A second tab (or the browser's own favicon request) must not void the form already on screen."""
    first = await _login_form(client)
    second = await _login_form(client)
    assert first == second
    answer = await client.post("/login", data={"login": "alice", "password": PASSWORD, "csrf_token": first},
                               allow_redirects=False)
    assert answer.status == 303


async def test_the_live_update_stream_does_not_keep_an_unattended_session_alive(client: TestClient) -> None:
    """Only the person's own requests count as activity: a tab left open, reconnecting its event stream, idles out."""
    from bot.services.unit_of_work import SqlUnitOfWork
    from bot.storage.db import as_utc
    from bot.storage.orm import ConsoleSession

    assert (await _log_in(client)).status == 303
    hashed = staff.digest(client.session.cookie_jar.filter_cookies(client.make_url("/"))[auth.SESSION_COOKIE].value)
    long_ago = utcnow() - timedelta(minutes=10)
    with SqlUnitOfWork() as uow:
        uow.session.get(ConsoleSession, hashed).last_seen_at = long_ago

    def last_seen() -> object:
        with SqlUnitOfWork() as uow:
            return as_utc(uow.session.get(ConsoleSession, hashed).last_seen_at)

    # The test app has no /api/events route (404 after the middleware): the middleware's decision is what counts.
    assert (await client.get("/api/events")).status == 404
    assert last_seen() == long_ago
    assert (await client.get("/api/me")).status == 200
    assert last_seen() > long_ago
