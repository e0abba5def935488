"""What every console route shares: reading and checking a request, running a use case, answering with a page or
an error, and the application's keys to its live hub and its Rasa client. The routes are `bot.console.app` (the
queue, conversations, approvals) and `bot.console.calls` (the call screen)."""
from __future__ import annotations

import asyncio
import html
import json
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from bot.config import agency_name
from bot.console.auth import STAFF_KEY, staff_of
from bot.console.live import Live, RasaLike
from bot.domain.console import AGREEMENT_KINDS
from bot.services.unit_of_work import SqlUnitOfWork

logger = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent / "templates"

MAX_BODY = 64 * 1024
MAX_TEXT = 4000  # notes, messages (the domain refuses messages over 1,600), reasons
MAX_ID = 2**53  # ids are JSON-safe integers: anything longer is not one of ours

LIVE_KEY = web.AppKey("console_live", Live)
RASA_KEY = web.AppKey("console_rasa", RasaLike)

T = TypeVar("T")


class ApiError(Exception):
    """A request the API refuses: its status and a message for the person."""

    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.message, self.extra = status, message, extra


# --- running the use cases ----------------------------------------------------------------------------------

async def run(use_case: Callable[..., T], *args: Any, locking: bool = False, **kwargs: Any) -> T:
    """A use case in a unit of work of its own, in a worker thread (the database never blocks the event loop)."""
    return await asyncio.to_thread(lambda: use_case(SqlUnitOfWork(locking=locking), *args, **kwargs))



# --- reading requests ---------------------------------------------------------------------------------------

def path_id(request: web.Request, name: str = "id") -> int:
    """The id in the route; 404 for anything that is not one of ours."""
    raw = request.match_info[name]
    if not raw.isdigit() or len(raw) > 16 or not 0 < int(raw) < MAX_ID:
        raise ApiError(404, "not found")
    return int(raw)


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; 413 over 64 KB, 415 if not JSON, 400 if not an object."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, f"the body is over {MAX_BODY // 1024} KB")
    raw = await request.read()  # the app's client_max_size stops a larger chunked body
    if not raw.strip():
        return {}
    if request.content_type != "application/json":
        raise ApiError(415, "send JSON (Content-Type: application/json)")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    return data


def text_field(data: dict[str, Any], name: str, *, required: bool = False, max_chars: int = MAX_TEXT) -> str:
    """A text field of a JSON body (400 when it is not text, missing but required, or too long)."""
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ApiError(400, f"{name} must be text")
    if required and not value.strip():
        raise ApiError(400, f"{name} is required")
    if len(value) > max_chars:
        raise ApiError(400, f"{name} is longer than {max_chars} characters")
    return value


def choice_field(data: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    """A field that must be one of `choices` (400 otherwise)."""
    value = data.get(name)
    if not isinstance(value, str) or value not in choices:
        raise ApiError(400, f"{name} must be one of {', '.join(choices)}")
    return value


def flag_field(data: dict[str, Any], name: str) -> bool:
    """A true/false field, false when absent (400 when it is anything else)."""
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise ApiError(400, f"{name} must be true or false")
    return value


_AMOUNT = re.compile(r"\d{1,12}(\.\d{1,2})?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
AGREEMENT_FIELDS = {
    "plan": ("months", "monthly", "first_due"),
    "settlement": ("amount", "pay_by"),
    "promise": ("amount", "pay_on"),
    "pay_in_full": ("pay_on",),
}


def agreement_form(data: dict[str, Any]) -> dict[str, Any]:
    """The terms of an agreement form, checked for shape; only the fields of its kind are passed on (a "tier" or
    "authorized_by" a browser adds goes nowhere: the tier is the person's)."""
    kind = choice_field(data, "kind", AGREEMENT_KINDS)
    form: dict[str, Any] = {"kind": kind}
    for name in AGREEMENT_FIELDS[kind]:
        value = data.get(name)
        if value is None or value == "":
            continue
        if name == "months":
            if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.isdigit())):
                raise ApiError(400, "months must be a whole number")
            months = int(value)
            if not 1 <= months <= 600:
                raise ApiError(400, "months must be from 1 to 600")
            form[name] = months
        elif name in ("monthly", "amount"):
            if not isinstance(value, str) or not _AMOUNT.fullmatch(value.strip().replace(",", "")):
                raise ApiError(400, f"{name} must be an amount such as 150.00")
            form[name] = value.strip().replace(",", "")
        else:
            if not isinstance(value, str) or not _DATE.fullmatch(value):
                raise ApiError(400, f"{name} must be a date (YYYY-MM-DD)")
            form[name] = value
    if kind == "plan" and "months" not in form and "monthly" not in form:
        raise ApiError(400, "a plan needs its months or its monthly amount")
    if kind in ("settlement", "promise") and "amount" not in form:
        raise ApiError(400, "amount is required")
    return form


def callback_time(value: Any) -> datetime | None:
    """The callback time an ISO string gives (it must say its offset: the browser sends UTC), or None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise ApiError(400, "callback_at must be a date and time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "callback_at must be a date and time") from None
    if moment.tzinfo is None:
        raise ApiError(400, "callback_at must carry its time zone offset")
    return moment.astimezone(UTC)


# --- pages ---------------------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_SECTION = re.compile(r"\{\{#(\w+)\}\}(.*?)\{\{/\1\}\}", re.S)


def render(template: str, values: dict[str, str], sections: dict[str, bool] | None = None) -> str:
    """Fills {{name}} with HTML-escaped values and keeps {{#name}}...{{/name}} only where `sections` says so; an
    unknown placeholder is an error, never blank."""
    sections = sections or {}
    kept = _SECTION.sub(lambda m: m.group(2) if sections[m.group(1)] else "", template)
    return _PLACEHOLDER.sub(lambda m: html.escape(values[m.group(1)], quote=True), kept)


def _template(name: str) -> str:
    return (TEMPLATES / name).read_text(encoding="utf-8")


def page_html(request: web.Request, name: str, title: str, **values: str) -> str:
    """A page of the console: the shared layout (banner, navigation, sign-out) around the page's own main."""
    person = staff_of(request)
    common = {"title": title, "agency": agency_name(), "login": person.login, "role": person.role,
              "csrf": request.get("csrf", ""), "page": name}
    sections = {"supervisor": person.is_supervisor, "script": name != "error"}
    main = render(_template(f"{name}.html"), common | values, sections)
    layout = render(_template("layout.html"), common, sections)
    return layout.replace("<!--main-->", main, 1)


def page(request: web.Request, name: str, title: str, status: int = 200, **values: str) -> web.Response:
    """A page of the console as a response."""
    return web.Response(text=page_html(request, name, title, **values), status=status, content_type="text/html")


def page_error(request: web.Request, status: int, message: str) -> web.Response:
    """An error as a page (plain text to someone not signed in)."""
    if STAFF_KEY not in request:
        return web.Response(text=message, status=status, content_type="text/plain")
    titles = {403: "Not allowed", 404: "Not found"}
    return page(request, "error", titles.get(status, "Error"), status=status, message=message,
                 heading=titles.get(status, "Something went wrong"))


def live_of(request: web.Request) -> Live:
    """The application's live hub."""
    return request.app[LIVE_KEY]


def rasa_of(request: web.Request) -> RasaLike:
    """The application's client of Rasa's HTTP API."""
    return request.app[RASA_KEY]


async def to_rasa(call: Any, failure: str) -> Any:
    """A call to Rasa's HTTP API; 502 with `failure` when it cannot be made."""
    try:
        return await call
    except asyncio.CancelledError:
        raise
    except Exception as error:
        logger.warning("console: %s: %s", failure, error)
        raise ApiError(502, failure) from None
