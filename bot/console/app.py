"""The agent console's web application: the queue, a taken conversation, the approval queue, and their JSON API.

Pages are server-rendered shells (bot/console/templates) that the scripts in bot/console/static fill from the
JSON API; nothing is ever inserted as HTML (the CSP enforces Trusted Types). Every page and API route is behind
a session or a personal token (`bot.console.auth`), every POST is CSRF-checked there, and the person's tier is
always `request["staff"].tier`, never anything a browser sends. The use cases are `bot.services.desk` and
`bot.services.handoffs`, each run in a worker thread in a unit of work of its own; live updates are
`bot.console.live`.
"""
from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.console.api import (
    LIVE_KEY,
    MAX_BODY,
    MAX_ID,
    MAX_TEXT,
    RASA_KEY,
    ApiError,
    agreement_form,
    callback_time,
    choice_field,
    flag_field,
    json_body,
    live_of,
    page,
    page_error,
    path_id,
    rasa_of,
    run,
    text_field,
    to_rasa,
)
from bot.console.auth import setup_auth, staff_of
from bot.console.calls import add_routes
from bot.console.live import CALLBACK_SECONDS, HEARTBEAT_SECONDS, EventSource, Live, RasaLike
from bot.console.operations import add_routes as add_operations_routes
from bot.domain.console import DISPOSITIONS, Staff
from bot.services import desk, handoffs
from bot.services.unit_of_work import SqlUnitOfWork

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
STATIC_FILES = {name: STATIC / name for name in (
    "console.css", "common.js", "queue.js", "conversation.js", "approvals.js", "calls.js", "account.js", "payments.js",
    "reports.js", "favicon.svg")}
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
STREAM_SECONDS = 300.0  # an event stream is closed after this; the browser reconnects through authentication


CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",  # the sign-out form
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "require-trusted-types-for 'script'",  # no string reaches an HTML sink: the scripts build DOM nodes
    "trusted-types 'none'",
])

def _error_json(error: Exception) -> web.Response:
    """A DeskError (or ApiError) as the API answers it: {"error": message} and the error's status."""
    if isinstance(error, ApiError):
        return web.json_response({"error": error.message, **error.extra}, status=error.status)
    body: dict[str, Any] = {"error": str(error)}
    if isinstance(error, desk.RuleRefused):
        body |= {"rule": error.rule, "explanation": error.explanation}
    if isinstance(error, handoffs.AlreadyTaken):
        body["by"] = error.by
    return web.json_response(body, status=getattr(error, "status", 409))


def _is_api(request: web.Request) -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Errors as the person should see them: JSON on the API, never a traceback."""
    try:
        return await handler(request)
    except (desk.DeskError, ApiError) as error:
        if _is_api(request):
            return _error_json(error)
        return page_error(request, getattr(error, "status", 409), str(error))
    except web.HTTPException as error:
        if error.status < 400:
            raise
        if _is_api(request):
            message = error.text if error.content_type == "application/json" else None
            if message:
                return web.Response(status=error.status, text=message, content_type="application/json")
            return web.json_response({"error": error.reason.lower()}, status=error.status)
        raise
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("console: %s %s failed", request.method, request.path)
        if _is_api(request):
            return web.json_response({"error": "something went wrong on the server"}, status=500)
        return page_error(request, 500, "Something went wrong on the server.")


@web.middleware
async def public_icon(request: web.Request, handler: Handler) -> web.StreamResponse:
    """/favicon.ico answers without a session. Browsers fetch it for the login page on their own; sent to the login
    form instead, that fetch would renew the form's CSRF cookie under the form being filled in, and sign-in fail."""
    if request.path == "/favicon.ico" and request.method in ("GET", "HEAD"):
        return await favicon(request)
    return await handler(request)


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Every answer: no framing, no sniffing, no referrer, and nothing stored but the static files."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-cache" if request.path.startswith("/static/") else "no-store")



async def queue_page(request: web.Request) -> web.Response:
    """GET /: the queue."""
    return page(request, "queue", "Queue")


async def conversation_page(request: web.Request) -> web.Response:
    """GET /handoffs/{id}: a conversation (the scripts load it; access is checked by the API they call)."""
    handoff_id = path_id(request)
    await run(desk.conversation_for, handoff_id, staff_of(request))  # 403/404 as a page, before any script runs
    return page(request, "conversation", f"Conversation {handoff_id}", handoff_id=str(handoff_id))


async def approvals_page(request: web.Request) -> web.Response:
    """GET /approvals: the approval queue, supervisors only."""
    if not staff_of(request).is_supervisor:
        return page_error(request, 403, "The approval queue is for supervisors.")
    return page(request, "approvals", "Approvals")


async def static_file(request: web.Request) -> web.FileResponse:
    """GET /static/{name}: the console's own scripts, style and icon (a fixed list; no directory is served)."""
    path = STATIC_FILES.get(request.match_info["name"])
    if path is None or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Content-Type": CONTENT_TYPES[path.suffix]})


async def favicon(_request: web.Request) -> web.FileResponse:
    """GET /favicon.ico: the icon, for browsers that ask before reading the page."""
    return web.FileResponse(STATIC_FILES["favicon.svg"], headers={"Content-Type": "image/svg+xml"})


async def healthz(_request: web.Request) -> web.Response:
    """GET /healthz: the server is up."""
    return web.json_response({"status": "ok"})


# --- the API --------------------------------------------------------------------------------------------------

def _pending_count(person: Staff | None) -> int | None:
    if person is None or not person.is_supervisor:
        return None
    return len(desk.approvals(SqlUnitOfWork(), person))


async def api_queue(request: web.Request) -> web.Response:
    """GET /api/queue: open and assigned handoffs, oldest first, with the count waiting."""
    person = staff_of(request)
    items = await run(handoffs.queue)
    pending = await asyncio.to_thread(_pending_count, person)
    return web.json_response(live_of(request).queue_payload(items, person, pending))


async def api_take(request: web.Request) -> web.Response:
    """POST /api/handoffs/{id}/take: the handoff is this person's; 409 naming who has it otherwise."""
    item = await run(handoffs.take, path_id(request), staff_of(request).login)
    live_of(request).refresh_queue()
    # The assistant must be silent while a person has the conversation: it is after an escalation, but not when
    # a callback put the conversation back in the queue. Pausing twice is harmless.
    await to_rasa(rasa_of(request).pause(item["conversation_id"], item["channel"]),
                   "the conversation is yours, but the assistant could not be paused in it: try again")
    return web.json_response(item)


async def api_assign(request: web.Request) -> web.Response:
    """POST /api/handoffs/{id}/assign {login}: a supervisor gives the handoff to a person."""
    person = staff_of(request)
    handoff_id = path_id(request)
    if not person.is_supervisor:
        raise desk.Forbidden("only a supervisor may reassign a conversation")
    login = text_field(await json_body(request), "login", required=True, max_chars=64).strip().lower()
    item = await run(handoffs.assign, handoff_id, person.login, login)
    live_of(request).refresh_queue()
    return web.json_response(item)


async def api_panel(request: web.Request) -> web.Response:
    """GET /api/handoffs/{id}: the conversation's panel (desk.panel)."""
    return web.json_response(await run(desk.panel, path_id(request), staff_of(request)))


async def api_transcript(request: web.Request) -> web.Response:
    """GET /api/handoffs/{id}/transcript: the conversation as Rasa keeps it."""
    conversation_id = await run(desk.conversation_for, path_id(request), staff_of(request))
    messages = await to_rasa(rasa_of(request).transcript(conversation_id),
                              "the transcript could not be read from the assistant's server")
    return web.json_response({"conversation_id": conversation_id, "messages": messages})


async def api_message(request: web.Request) -> web.Response:
    """POST /api/handoffs/{id}/messages {text}: checked by the assistant's rules, sent on the debtor's channel,
    audited; 422 naming the rule when it may not go."""
    person, handoff_id = staff_of(request), path_id(request)
    text = text_field(await json_body(request), "text", max_chars=MAX_TEXT)
    outgoing = await run(desk.check_message, handoff_id, person, text)
    await to_rasa(rasa_of(request).send(outgoing.conversation_id, text, outgoing.channel, agent=person.login),
                   "the message could not be delivered: the assistant's server did not take it")
    await run(desk.message_sent, handoff_id, person, text)
    return web.json_response({"sent": True, "channel": outgoing.channel}, status=201)


async def api_note(request: web.Request) -> web.Response:
    """POST /api/handoffs/{id}/notes {text}: a private note (staff only)."""
    person, handoff_id = staff_of(request), path_id(request)
    note = await run(desk.add_note, handoff_id, person, text_field(await json_body(request), "text", required=True))
    live_of(request).panel_changed(handoff_id=handoff_id)
    return web.json_response(note, status=201)


async def _send_checked(request: web.Request, handoff_id: int, text: str) -> str | None:
    """Send `text` to the debtor if the rules let it go now: None when sent, else why not."""
    person = staff_of(request)
    try:
        outgoing = await run(desk.check_message, handoff_id, person, text)
    except desk.MessageRefused as refused:
        return refused.explanation
    try:
        await to_rasa(rasa_of(request).send(outgoing.conversation_id, text, outgoing.channel, agent=person.login),
                       "the assistant's server did not take it")
    except ApiError as error:
        return error.message
    await run(desk.message_sent, handoff_id, person, text)
    return None


async def api_agreement(request: web.Request) -> web.Response:
    """POST /api/handoffs/{id}/agreements {kind, months|monthly|amount, first_due|pay_by|pay_on, note,
    agreed_by_phone}: at this person's tier, the terms go to the debtor for a yes, are recorded (agreed by phone),
    or become an approval request."""
    person, handoff_id = staff_of(request), path_id(request)
    data = await json_body(request)
    form = agreement_form(data)
    note, by_phone = text_field(data, "note"), flag_field(data, "agreed_by_phone")
    result = await run(desk.agree, handoff_id, person, form, note, by_phone, locking=True)
    live = live_of(request)
    if isinstance(result, desk.Offer):
        await to_rasa(rasa_of(request).send(result.conversation_id, result.text, result.channel, agent=person.login,
                                           buttons=result.buttons),
                       "the terms were saved but could not be sent: the assistant's server did not take them")
        live.panel_changed(handoff_id=handoff_id)
        return web.json_response({"outcome": "offer_sent", "offer_id": result.offer_id, "text": result.text},
                                 status=201)
    if isinstance(result, desk.Recorded):
        live.panel_changed(handoff_id=handoff_id)
        live.refresh_queue()
        not_sent = await _send_checked(request, handoff_id, result.summary_text)
        return web.json_response({"outcome": "recorded", "kind": result.kind, "summary": result.summary_text,
                                  "sent_to_debtor": not_sent is None, "not_sent_because": not_sent}, status=201)
    live.approval_changed({"event": "requested", "id": result.approval_id, "status": "pending",
                           "handoff_id": handoff_id, "requested_by": person.login})
    return web.json_response({"outcome": "approval_requested", "approval_id": result.approval_id,
                              "problems": result.problems}, status=201)


async def api_hand_back(request: web.Request) -> web.Response:
    """POST /api/handoffs/{id}/hand-back {disposition, note, callback_at}: closes the handoff and resumes the
    assistant in the conversation."""
    person, handoff_id = staff_of(request), path_id(request)
    data = await json_body(request)
    disposition = choice_field(data, "disposition", DISPOSITIONS)
    note, callback_at = text_field(data, "note"), callback_time(data.get("callback_at"))
    # The assistant is resumed first and the handoff closed after: if Rasa cannot be reached, the conversation
    # stays with this person, who may try again, instead of closed with the assistant still silent in it.
    back = await run(desk.prepare_hand_back, handoff_id, person, disposition, note, callback_at)
    await to_rasa(rasa_of(request).resume(back.conversation_id, back.text, back.channel,
                                         agent=person.login, slots=back.slots),
                   "the assistant could not be resumed in the conversation: it is still yours, try again")
    await run(desk.hand_back, handoff_id, person, disposition, note, callback_at)
    live_of(request).refresh_queue()
    return web.json_response({"closed": True, "handoff_id": handoff_id, "disposition": disposition})


async def api_approvals(request: web.Request) -> web.Response:
    """GET /api/approvals: pending approval requests (supervisors)."""
    return web.json_response({"items": await run(desk.approvals, staff_of(request))})


async def _decided(request: web.Request, approval: dict[str, Any]) -> web.Response:
    live_of(request).approval_changed({"event": "decided", **approval})
    return web.json_response(approval)


async def api_approve(request: web.Request) -> web.Response:
    """POST /api/approvals/{id}/approve {note}: recorded at the supervisor's tier, requested_by the agent."""
    person, approval_id = staff_of(request), path_id(request)
    if not person.is_supervisor:
        raise desk.Forbidden("only a supervisor may approve")
    note = text_field(await json_body(request), "note")
    approval = await run(desk.approve, approval_id, person, note, locking=True)
    live_of(request).refresh_queue()
    return await _decided(request, approval)


async def api_reject(request: web.Request) -> web.Response:
    """POST /api/approvals/{id}/reject {reason}: refused, and the agent told why."""
    person, approval_id = staff_of(request), path_id(request)
    if not person.is_supervisor:
        raise desk.Forbidden("only a supervisor may reject")
    reason = text_field(await json_body(request), "reason", required=True)
    return await _decided(request, await run(desk.reject, approval_id, person, reason))


_REFERENCE = re.compile(r"[A-Za-z0-9-]{1,40}")


async def api_resolve_dispute(request: web.Request) -> web.Response:
    """POST /api/disputes/{reference}/resolve {outcome, note}: a supervisor's decision on a dispute."""
    person, reference = staff_of(request), request.match_info["reference"]
    if not person.is_supervisor:
        raise desk.Forbidden("only a supervisor may resolve a dispute")
    if not _REFERENCE.fullmatch(reference):
        raise ApiError(404, "no such dispute")
    data = await json_body(request)
    outcome = choice_field(data, "outcome", ("upheld", "rejected"))
    result = await run(desk.resolve_dispute, reference, outcome, person, text_field(data, "note"))
    live = live_of(request)
    live.panel_changed(everywhere=True)  # the account's holds changed: whichever panel shows it reloads
    live.refresh_queue()
    return web.json_response(result)


async def api_events(request: web.Request) -> web.StreamResponse:
    """GET /api/events[?handoff=ID]: server-sent events (queue, message, panel, approval); with `handoff`, the
    messages of that conversation too, if this person may see it."""
    person, live = staff_of(request), live_of(request)
    handoff_id: int | None = None
    conversation_id: str | None = None
    raw = request.query.get("handoff")
    if raw is not None:
        if not raw.isdigit() or len(raw) > 16 or not 0 < int(raw) < MAX_ID:
            raise ApiError(400, "handoff must be a handoff id")
        handoff_id = int(raw)
        conversation_id = await run(desk.conversation_for, handoff_id, person)
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                           "X-Accel-Buffering": "no"})
    await response.prepare(request)
    client = live.subscribe(person, handoff_id, conversation_id)
    loop = asyncio.get_running_loop()
    ends = loop.time() + STREAM_SECONDS
    try:
        await response.write(b"retry: 2000\n\n")
        try:  # this browser's snapshot; changes follow as events
            items = await run(handoffs.queue)
            pending = await asyncio.to_thread(_pending_count, person)
            live.send(client, "queue", live.queue_payload(items, person, pending))
        except Exception:  # the headers are sent: no error page now; the next change brings the queue
            logger.exception("console: could not read the queue for a new event stream")
        while not client.closed or not client.queue.empty():
            left = ends - loop.time()
            if left <= 0:
                break
            try:
                chunk = await asyncio.wait_for(client.queue.get(), timeout=min(HEARTBEAT_SECONDS, left))
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if chunk is None:
                break
            await response.write(chunk.encode("utf-8"))
    except ConnectionResetError:
        pass
    finally:
        live.unsubscribe(client)
    return response


# --- the application ----------------------------------------------------------------------------------------

def _debtor_answered(conversation_id: str, intent: str) -> Any:
    return desk.debtor_answered(SqlUnitOfWork(locking=True), conversation_id, intent)


def create_app(rasa: RasaLike, *, events: EventSource | None = None,
               callback_seconds: float = CALLBACK_SECONDS) -> web.Application:
    """The console's application. `rasa`: the Rasa HTTP API client (bot.console.rasa_api.RasaApi); `events`: the
    broker's events (bot.console.feed.broker_events), or None for no live feed from Rasa."""
    app = web.Application(middlewares=[errors, public_icon], client_max_size=MAX_BODY)
    setup_auth(app)
    live = Live(rasa, events, queue_items=lambda: handoffs.queue(SqlUnitOfWork()),
                pending_approvals=_pending_count, debtor_answered=_debtor_answered,
                reopen_due_callbacks=lambda: handoffs.reopen_due_callbacks(SqlUnitOfWork()),
                callback_seconds=callback_seconds)
    app[LIVE_KEY] = live
    app[RASA_KEY] = rasa

    async def start(_app: web.Application) -> None:
        await live.start()

    async def stop(_app: web.Application) -> None:
        await live.stop()

    async def close_rasa(_app: web.Application) -> None:
        await rasa.close()

    # aiohttp 3.9 types its signals as Signal[handler], aiosignal 1.4 as Signal[*handler arguments]: they disagree.
    app.on_startup.append(start)  # type: ignore[arg-type]
    app.on_shutdown.append(stop)  # type: ignore[arg-type]
    app.on_cleanup.append(close_rasa)  # type: ignore[arg-type]
    app.on_response_prepare.append(security_headers)  # type: ignore[arg-type]
    ident = r"{id:\d{1,16}}"
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/", queue_page)
    app.router.add_get(f"/handoffs/{ident}", conversation_page)
    app.router.add_get("/approvals", approvals_page)
    app.router.add_get(r"/static/{name:[a-z]+\.(?:js|css|svg)}", static_file)
    app.router.add_get("/api/queue", api_queue)
    app.router.add_post(f"/api/handoffs/{ident}/take", api_take)
    app.router.add_post(f"/api/handoffs/{ident}/assign", api_assign)
    app.router.add_get(f"/api/handoffs/{ident}", api_panel)
    app.router.add_get(f"/api/handoffs/{ident}/transcript", api_transcript)
    app.router.add_post(f"/api/handoffs/{ident}/messages", api_message)
    app.router.add_post(f"/api/handoffs/{ident}/notes", api_note)
    app.router.add_post(f"/api/handoffs/{ident}/agreements", api_agreement)
    app.router.add_post(f"/api/handoffs/{ident}/hand-back", api_hand_back)
    app.router.add_get("/api/approvals", api_approvals)
    app.router.add_post(f"/api/approvals/{ident}/approve", api_approve)
    app.router.add_post(f"/api/approvals/{ident}/reject", api_reject)
    app.router.add_post("/api/disputes/{reference}/resolve", api_resolve_dispute)
    app.router.add_get("/api/events", api_events)
    add_routes(app)
    add_operations_routes(app)
    return app
