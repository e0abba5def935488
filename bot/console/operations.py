"""The console's side of payments and operations (SPEC section 9): an account with the timeline of each agreement,
the payments no account took (for a supervisor to assign), and the operations report for a period.

A thin adapter like `bot.console.calls`: each route reads and checks its request and runs a use case
(`bot.services.accounts`, `bot.services.payments`, `bot.services.reports`) in a unit of work of its own. Any
person signed in may read an account; the unmatched payments and the report are for supervisors. The report's own
document (`/reports/view`) is the self-contained page `bot.reports.render` writes for `python -m bot report`,
served under a stricter policy of its own: it has no script at all, only inline styles and SVG.
"""
from __future__ import annotations

import html
import re
import threading
from dataclasses import asdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.console.api import ApiError, json_body, live_of, page, page_error, path_id, run, text_field
from bot.console.auth import require_supervisor, staff_of
from bot.domain.money import from_minor
from bot.domain.policy import parse_policy
from bot.reports.render import ReportFigures, csv_files, render_html
from bot.services import accounts, payments, reports
from bot.services.unit_of_work import SqlUnitOfWork

# References are letters, digits and - _ / . (bot.importing); "/" stays a path separator in the URL.
REF_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
_CSV_NAME = re.compile(r"[a-z_]{1,40}\.csv")
MAX_PERIOD_DAYS = 3660  # ten years: the charts draw a bar per month
MAX_REF_CHARS = 64

# What the report document may do: nothing but show itself (no script, no fetch, no frame, inline style and SVG).
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'"

# matplotlib's style is process-wide (rcParams): one report drawn at a time, so two supervisors' drawings never
# borrow each other's settings.
_DRAWING = threading.Lock()


# --- the use cases' reads, shaped for the pages ---------------------------------------------------------------

def account_with_timeline(uow: SqlUnitOfWork, account_ref: str) -> dict[str, Any]:
    """The account JSON of SPEC section 5, with what its timelines are drawn against: the debtor's today and the
    creditor's grace days (`timeline`); raises UnknownAccount."""
    with uow:
        account = accounts.get(uow.session, account_ref)
        data = accounts.view(uow.session, account, uow.now())
        data["timeline"] = {"today": accounts.local_today(account, uow.now()).isoformat(),
                            "grace_days": parse_policy(account.creditor.policy).grace_days}
        return data


def unmatched_payments(uow: SqlUnitOfWork) -> list[dict[str, Any]]:
    """The unmatched payments, each with its amount as a decimal string (in its currency; USD when the file named
    none, as the import stored it)."""
    return [{**p, "amount": str(from_minor(p["amount_minor"], p["currency"] or "USD"))}
            for p in payments.unmatched(uow)]


def figures_json(figures: ReportFigures, files: list[str]) -> dict[str, Any]:
    """The report's figures as JSON: dates ISO, Decimals as strings, each row a list in the dataclass's order;
    `csv_files` names the figures' CSV files."""
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        return value

    return {**{name: plain(value) for name, value in asdict(figures).items()}, "csv_files": files}


def _report_data(uow: SqlUnitOfWork, date_from: date, date_to: date, currency: str) -> dict[str, Any]:
    figures = reports.figures(uow, date_from, date_to, currency)
    return figures_json(figures, sorted(csv_files(figures)))


def _report_html(uow: SqlUnitOfWork, date_from: date, date_to: date, currency: str) -> str:
    figures = reports.figures(uow, date_from, date_to, currency)
    with _DRAWING:
        document = render_html(figures)
    # The document links each figure's CSV file by its bare name, beside report.html in the directory the command
    # writes; served here, each link goes to the console's route for that file over the same period instead.
    period = html.escape(urlencode({"from": date_from.isoformat(), "to": date_to.isoformat(), "currency": currency}))
    for name in csv_files(figures):
        document = document.replace(f'<a href="{name}">', f'<a href="/reports/csv/{name}?{period}">')
    return document


def _report_csv(uow: SqlUnitOfWork, date_from: date, date_to: date, currency: str, name: str) -> bytes | None:
    return csv_files(reports.figures(uow, date_from, date_to, currency)).get(name)


# --- reading requests -------------------------------------------------------------------------------------------

def _ref(request: web.Request) -> str:
    ref = request.match_info["ref"]
    if len(ref) > MAX_REF_CHARS or not re.fullmatch(REF_PATTERN, ref):
        raise ApiError(404, "no such account")
    return ref


def _day(request: web.Request, name: str) -> date:
    raw = request.query.get(name, "")
    if not _DATE.fullmatch(raw):
        raise ApiError(400, f"{name} must be a date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"{name} is not a date of the calendar") from None


def _period(request: web.Request) -> tuple[date, date, str]:
    """?from=&to=[&currency=]: the report's period (both days included) and currency, else 400."""
    date_from, date_to = _day(request, "from"), _day(request, "to")
    if date_to < date_from:
        raise ApiError(400, "the period ends before it starts")
    if date_to - date_from > timedelta(days=MAX_PERIOD_DAYS):
        raise ApiError(400, f"a report covers at most {MAX_PERIOD_DAYS} days")
    currency = request.query.get("currency", "USD")
    if not _CURRENCY.fullmatch(currency):
        raise ApiError(400, "currency must be a three-letter code such as USD")
    return date_from, date_to, currency.upper()


def _supervisor_page(request: web.Request, what: str) -> web.Response | None:
    """A 403 page for anyone but a supervisor; None for a supervisor."""
    if staff_of(request).is_supervisor:
        return None
    return page_error(request, 403, f"{what} is for supervisors.")


# --- pages ------------------------------------------------------------------------------------------------------

async def accounts_page(request: web.Request) -> web.Response:
    """GET /accounts: find an account to look at."""
    return page(request, "account", "Accounts", account_ref="", heading="Accounts")


async def account_page(request: web.Request) -> web.Response:
    """GET /accounts/{ref}: the account, its payments and the timeline of each agreement (the script loads them;
    404 as a page for a reference not on file)."""
    ref = _ref(request)
    try:
        data = await run(account_with_timeline, ref)
    except accounts.UnknownAccount:
        raise ApiError(404, f"No account has the reference {ref}.") from None
    title = f"Account {data['account_ref']}"
    return page(request, "account", title, account_ref=data["account_ref"], heading=title)


async def payments_page(request: web.Request) -> web.Response:
    """GET /payments: the payments no account took, to assign (supervisors)."""
    refused = _supervisor_page(request, "Assigning payments")  # a response is a mapping: never tested for truth
    return refused if refused is not None else page(request, "payments", "Unmatched payments")


async def reports_page(request: web.Request) -> web.Response:
    """GET /reports: the operations report for a period (supervisors)."""
    refused = _supervisor_page(request, "The report")
    return refused if refused is not None else page(request, "reports", "Report")


async def report_view(request: web.Request) -> web.Response:
    """GET /reports/view?from=&to=[&currency=]: the report document with its charts, as `python -m bot report`
    writes it, under its own policy (no script; it is the renderer's escaped HTML)."""
    refused = _supervisor_page(request, "The report")
    if refused is not None:
        return refused
    date_from, date_to, currency = _period(request)
    document = await run(_report_html, date_from, date_to, currency)
    # Set here, the app's security_headers (setdefault) keeps it.
    return web.Response(text=document, content_type="text/html", headers={"Content-Security-Policy": REPORT_CSP})


async def report_csv(request: web.Request) -> web.Response:
    """GET /reports/csv/{name}.csv?from=&to=[&currency=]: one figure of the report as its CSV file."""
    refused = _supervisor_page(request, "The report")
    if refused is not None:
        return refused
    name = request.match_info["name"]
    if not _CSV_NAME.fullmatch(name):
        raise ApiError(404, "no such file")
    date_from, date_to, currency = _period(request)
    content = await run(_report_csv, date_from, date_to, currency, name)
    if content is None:
        raise ApiError(404, "no such file")
    filename = f"{name[:-4]}-{date_from.isoformat()}-{date_to.isoformat()}.csv"
    return web.Response(body=content, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# --- the API ----------------------------------------------------------------------------------------------------

async def api_account(request: web.Request) -> web.Response:
    """GET /api/accounts/{ref}: the account JSON (SPEC section 5) and its `timeline` facts; 404 if unknown."""
    ref = _ref(request)
    try:
        return web.json_response(await run(account_with_timeline, ref))
    except accounts.UnknownAccount:
        raise ApiError(404, f"no account with reference {ref}") from None


async def api_unmatched(request: web.Request) -> web.Response:
    """GET /api/payments/unmatched: {"payments": [...]}, oldest first (supervisors)."""
    require_supervisor(request)
    return web.json_response({"payments": await run(unmatched_payments)})


async def api_assign(request: web.Request) -> web.Response:
    """POST /api/payments/{id}/assign {account_ref}: the payment counted on the account (supervisors); 400 when it
    cannot be (another currency, no longer unmatched), 404 for an unknown account."""
    person = require_supervisor(request)
    payment_id = path_id(request)
    account_ref = text_field(await json_body(request), "account_ref", required=True, max_chars=MAX_REF_CHARS).strip()
    try:
        result = await run(payments.assign, payment_id, account_ref, person, locking=True)
    except accounts.UnknownAccount:
        raise ApiError(404, f"no account with reference {account_ref}") from None
    except payments.PaymentError as error:
        raise ApiError(400, str(error)) from None
    return web.json_response({"payment": result})


async def api_report(request: web.Request) -> web.Response:
    """GET /api/reports?from=&to=[&currency=]: the report's figures as JSON (supervisors)."""
    require_supervisor(request)
    date_from, date_to, currency = _period(request)
    return web.json_response(await run(_report_data, date_from, date_to, currency))


async def api_legal_queue(request: web.Request) -> web.Response:
    """GET /api/legal: the accounts that qualify for legal review under their creditors' rules, and why
    (supervisors)."""
    from bot.services import legal  # ReportLab loads with it: only when asked

    require_supervisor(request)
    return web.json_response({"accounts": [c.as_json() for c in await run(legal.queue)]})


async def api_move_to_legal(request: web.Request) -> web.Response:
    """POST /api/legal {account_ref, note}: a supervisor moves the account to legal; the case bundle (JSON and PDF)
    is written on the server (201, its file names). A body, not a path: references may hold a slash."""
    from bot.services import legal

    person = require_supervisor(request)
    data = await json_body(request)
    moved = await run(legal.move_to_legal, text_field(data, "account_ref", required=True, max_chars=MAX_REF_CHARS),
                      person, text_field(data, "note"), locking=True)
    live_of(request).refresh_queue()
    return web.json_response({"moved": moved.as_json()}, status=201)


def add_routes(app: web.Application) -> None:
    """The account, payments and report pages and their API."""
    ref = f"{{ref:{REF_PATTERN}}}"
    app.router.add_get("/accounts", accounts_page)
    app.router.add_get(f"/accounts/{ref}", account_page)
    app.router.add_get("/payments", payments_page)
    app.router.add_get("/reports", reports_page)
    app.router.add_get("/reports/view", report_view)
    app.router.add_get(r"/reports/csv/{name:[a-z_]{1,40}\.csv}", report_csv)
    app.router.add_get(f"/api/accounts/{ref}", api_account)
    app.router.add_get("/api/payments/unmatched", api_unmatched)
    app.router.add_post(r"/api/payments/{id:\d{1,16}}/assign", api_assign)
    app.router.add_get("/api/reports", api_report)
    app.router.add_get("/api/legal", api_legal_queue)
    app.router.add_post("/api/legal", api_move_to_legal)
