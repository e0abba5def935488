"""Who is asking, for the console's aiohttp application: sessions, CSRF, the login page, personal API tokens.

`setup_auth(app)` mounts all of it. Every path but /login, /healthz and /static/... needs a person: a session
cookie (`console_session`: HttpOnly, SameSite=Strict, Secure behind TLS), or on /api/... a personal API token
(`Authorization: Bearer ...`). Handlers find the person in `request["staff"]` (a `Staff`) and the session's
CSRF token in `request["csrf"]` (empty for a token call), to put in their forms (`csrf_token`) or send back
as the `X-CSRF-Token` header. An unsafe request of a cookie session without the right CSRF token, or from
another origin, is refused before its handler runs.

The login form has its own CSRF token (there is no session yet): a signed double-submit cookie, HMAC'd with
CONSOLE_SECRET_KEY, so another site cannot log a browser in to an account of its choosing.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import MultiDictProxy

from bot.config import agency_name, secret
from bot.domain.console import Staff
from bot.services import staff
from bot.services.unit_of_work import SqlUnitOfWork

SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
STAFF_KEY = "staff"  # request[STAFF_KEY]: the Staff making the request
CSRF_KEY = "csrf"  # request[CSRF_KEY]: the session's CSRF token ("" for a personal API token)
PUBLIC_PATHS = frozenset({"/login", "/healthz"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_CSRF_MAX_AGE = 2 * 60 * 60  # seconds a login form stays usable
STATIC = Path(__file__).resolve().parent / "static"

UNITS_KEY: web.AppKey[Callable[[], SqlUnitOfWork]] = web.AppKey("console_units")
LOGIN_SECRET_KEY = web.AppKey("console_login_secret", bytes)

LOGIN_CSP = "; ".join([
    "default-src 'none'",
    "style-src 'self'",
    "img-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
CSRF_REFUSED = "CSRF token missing or wrong"


# --- small rules (pure) ----------------------------------------------------------------------------

def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path on this site, never another site (an open redirect), else "/"."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in value):
        return "/"  # browsers read /\evil.example and /<tab>/evil.example as another host
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path in ("/login", "/logout"):
        return "/"
    return value


def login_csrf_token(key: bytes, now: float) -> str:
    """A new login-form token: when it was issued, a nonce, and their HMAC."""
    payload = f"{int(now)}.{secrets.token_urlsafe(16)}"
    return f"{payload}.{_sign(key, payload)}"


def login_csrf_valid(key: bytes, cookie: str | None, field: str | None, now: float) -> bool:
    """Whether the login form's token matches its cookie, is ours, and is younger than LOGIN_CSRF_MAX_AGE."""
    if not cookie or not field or not hmac.compare_digest(cookie.encode(), field.encode()):
        return False
    issued, _, signature = cookie.rpartition(".")
    stamp = issued.partition(".")[0]
    if not stamp.isdigit() or not hmac.compare_digest(signature.encode(), _sign(key, issued).encode()):
        return False
    return 0 <= now - int(stamp) <= LOGIN_CSRF_MAX_AGE


def _sign(key: bytes, payload: str) -> str:
    return hmac.new(key, b"console-login-csrf." + payload.encode(), hashlib.sha256).hexdigest()


def _trust_proxy() -> bool:
    return os.environ.get("CONSOLE_TRUST_PROXY", "").strip() == "1"


def _last_forwarded(request: web.Request, header: str) -> str:
    """The entry our own proxy appended (the last): earlier ones are whatever the client sent."""
    values = [value.strip() for value in ",".join(request.headers.getall(header, [])).split(",") if value.strip()]
    return values[-1] if values else ""


def is_https(request: web.Request) -> bool:
    """The browser reached us over TLS: directly, or through a trusted proxy (CONSOLE_TRUST_PROXY=1)."""
    if request.secure:
        return True
    return _trust_proxy() and _last_forwarded(request, "X-Forwarded-Proto").lower() == "https"


def client_address(request: web.Request) -> str:
    """The client's address for throttling: the peer, or X-Forwarded-For's last entry behind a trusted proxy."""
    if _trust_proxy():
        forwarded = _last_forwarded(request, "X-Forwarded-For")
        if forwarded:
            return forwarded
    return request.remote or "unknown"


def _own_origin(request: web.Request) -> str:
    return f"{'https' if is_https(request) else 'http'}://{request.host}".lower()


def _cross_origin(request: web.Request) -> bool:
    """An unsafe request another site's page sent: its Origin is not ours, or the browser says cross-site."""
    origin = request.headers.get("Origin")
    if origin is not None and origin.strip().lower() != _own_origin(request):
        return True
    return request.headers.get("Sec-Fetch-Site", "").strip().lower() == "cross-site"


def _is_public(path: str) -> bool:
    """No login: the login page, health, static files, and Twilio's webhooks (signed instead: bot.console.calls)."""
    return path in PUBLIC_PATHS or path.startswith(("/static/", "/twilio/"))


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _json_error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def _set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str, *, path: str = "/",
                max_age: int | None = None) -> None:
    response.set_cookie(name, value, path=path, max_age=max_age, httponly=True, samesite="Strict",
                        secure=is_https(request))


def _clear_cookie(response: web.StreamResponse, request: web.Request, name: str, *, path: str = "/") -> None:
    _set_cookie(response, request, name, "", path=path, max_age=0)


# --- the middleware --------------------------------------------------------------------------------

def staff_of(request: web.Request) -> Staff:
    """The person making an authenticated request (set by `authenticate`)."""
    person: Staff = request[STAFF_KEY]
    return person


def require_supervisor(request: web.Request) -> Staff:
    """The person making the request, who must be a supervisor: else 403 JSON (an agent editing a form gets no
    further)."""
    person = staff_of(request)
    if not person.is_supervisor:
        raise web.HTTPForbidden(text=json.dumps({"error": "supervisors only"}), content_type="application/json")
    return person


async def _csrf_sent(request: web.Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        value = (await request.post()).get(CSRF_FIELD)  # cached: the handler reads the same form
        return value if isinstance(value, str) else ""
    return ""


# Requests the browser makes on its own, which must not keep an unattended session alive: the live-update stream.
PASSIVE_PATHS = frozenset({"/api/events"})


@web.middleware
async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Find the person behind every request but the public ones, and refuse cross-site and CSRF-less writes."""
    path, unsafe = request.path, request.method not in SAFE_METHODS
    if unsafe and _cross_origin(request):
        return _json_error(403, "cross-origin request refused")
    if _is_public(path):
        return await handler(request)
    units = request.app[UNITS_KEY]
    token = _bearer(request) if _is_api(path) else None
    if token is not None:  # no cookie involved: nothing for another site to ride on, so no CSRF token
        person = await asyncio.to_thread(lambda: staff.staff_for_token(units(), token))
        if person is None:
            return _json_error(401, "login required", **{"WWW-Authenticate": 'Bearer realm="console"'})
        request[STAFF_KEY], request[CSRF_KEY] = person, ""
        return await handler(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    activity = path not in PASSIVE_PATHS
    info = await asyncio.to_thread(lambda: staff.session_staff(units(), cookie, activity=activity)) if cookie else None
    if info is None:
        if _is_api(path):
            response: web.StreamResponse = _json_error(401, "login required")
        else:
            target = "/login" if unsafe else f"/login?next={quote(safe_next(request.raw_path), safe='')}"
            response = web.Response(status=303, headers={"Location": target, "Cache-Control": "no-store"})
        if cookie:
            _clear_cookie(response, request, SESSION_COOKIE)
        return response
    if unsafe and not hmac.compare_digest((await _csrf_sent(request)).encode(), info.csrf_token.encode()):
        return _json_error(403, CSRF_REFUSED)
    request[STAFF_KEY], request[CSRF_KEY] = info.staff, info.csrf_token
    return await handler(request)


# --- the login page --------------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Agent console · {agency}</title>
<link rel="stylesheet" href="/static/login.css">
<link rel="icon" href="/favicon.ico">
</head>
<body>
<main class="login">
<h1>Agent console</h1>
<p class="agency">{agency}</p>
{message}<form method="post" action="/login">
<input type="hidden" name="csrf_token" value="{csrf}">
<input type="hidden" name="next" value="{next}">
<label for="login">Login</label>
<input id="login" name="login" type="text" autocomplete="username" autocapitalize="none" spellcheck="false"
 required maxlength="64" value="{login}"{described}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required
 maxlength="1024"{described}>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
"""


def _login_page(request: web.Request, *, status: int = 200, message: str = "", login: str = "",
                next_path: str = "/") -> web.Response:
    """The login form, with a login CSRF token in its hidden field and in a cookie for /login only: the browser's
    own while it is still valid (a second tab, or the browser's own requests, must not void the first form)."""
    key, now, current = request.app[LOGIN_SECRET_KEY], time.time(), request.cookies.get(LOGIN_CSRF_COOKIE)
    young = current is not None and login_csrf_valid(key, current, current, now + LOGIN_CSRF_MAX_AGE / 2)
    token = current if young and current else login_csrf_token(key, now)
    shown = f'<p class="error" id="login-error" role="alert">{html.escape(message)}</p>\n' if message else ""
    body = _PAGE.format(
        agency=html.escape(agency_name()), message=shown, csrf=html.escape(token, quote=True),
        next=html.escape(safe_next(next_path), quote=True), login=html.escape(login, quote=True),
        described=' aria-describedby="login-error" aria-invalid="true"' if message else "")
    response = web.Response(text=body, status=status, content_type="text/html", headers={
        "Content-Security-Policy": LOGIN_CSP, "X-Frame-Options": "DENY", "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"})
    _set_cookie(response, request, LOGIN_CSRF_COOKIE, token, path="/login", max_age=LOGIN_CSRF_MAX_AGE)
    return response


def _field(form: MultiDictProxy[str | bytes | web.FileField], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def login_page(request: web.Request) -> web.Response:
    """GET /login: the form."""
    return _login_page(request, next_path=request.query.get("next", "/"))


async def login_submit(request: web.Request) -> web.Response:
    """POST /login: a session cookie and a redirect on success; the form again, with one generic message, if not
    (401, or 429 while throttled)."""
    form = await request.post()
    login, password, next_path = _field(form, "login")[:200], _field(form, "password"), _field(form, "next")
    if not login_csrf_valid(request.app[LOGIN_SECRET_KEY], request.cookies.get(LOGIN_CSRF_COOKIE),
                            _field(form, CSRF_FIELD), time.time()):
        return _login_page(request, status=403, message="The form expired. Please sign in again.", login=login,
                           next_path=next_path)
    units, client = request.app[UNITS_KEY], client_address(request)
    result = await asyncio.to_thread(lambda: staff.log_in(units(), login, password, client))
    if isinstance(result, staff.LoginRefused):
        message = ("Too many attempts. Please try again later." if result.throttled
                   else "The login or password is wrong.")
        return _login_page(request, status=429 if result.throttled else 401, message=message, login=login,
                           next_path=next_path)
    response = web.Response(status=303, headers={"Location": safe_next(next_path), "Cache-Control": "no-store"})
    _set_cookie(response, request, SESSION_COOKIE, result.session_token)
    _clear_cookie(response, request, LOGIN_CSRF_COOKIE, path="/login")
    return response


async def logout(request: web.Request) -> web.Response:
    """POST /logout (CSRF-checked by the middleware): end the session, forget the cookie, back to the form."""
    units, cookie = request.app[UNITS_KEY], request.cookies.get(SESSION_COOKIE, "")
    await asyncio.to_thread(lambda: staff.log_out(units(), cookie))
    response = web.Response(status=303, headers={"Location": "/login", "Cache-Control": "no-store"})
    _clear_cookie(response, request, SESSION_COOKIE)
    return response


async def login_css(_request: web.Request) -> web.FileResponse:
    """GET /static/login.css: the login page's style (public, like every /static/ file)."""
    return web.FileResponse(STATIC / "login.css", headers={"Content-Type": "text/css", "Cache-Control": "no-cache"})


def setup_auth(app: web.Application, *, units: Callable[[], SqlUnitOfWork] = SqlUnitOfWork) -> None:
    """Mount authentication on the console app: the middleware, GET/POST /login, POST /logout, /static/login.css.

    `units` makes the unit of work each request's database work runs in (default: DATABASE_URL, real clock).
    Reads CONSOLE_SECRET_KEY now, so a production server without it fails at start, not at the first login.
    """
    app[UNITS_KEY] = units
    app[LOGIN_SECRET_KEY] = secret("CONSOLE_SECRET_KEY").encode()
    app.middlewares.append(authenticate)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    app.router.add_get("/static/login.css", login_css)
