"""The console's call screen and call-assist API (SPEC section 8), and the telephony provider's webhooks.

A thin adapter onto `bot.services.calls`: each route reads and checks its request, has the assistant's NLU model
read an utterance (through Rasa's `/model/parse`, so both sides share one model), and runs the use case in a
unit of work of its own. The Twilio routes are outside the console's login (Twilio cannot log in) and are instead
signed: every request must carry a valid `X-Twilio-Signature` for the account's auth token over the public URL,
checked as the SMS channel checks its webhook; anything else gets 403 and changes nothing.
"""
from __future__ import annotations

import logging
import os
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from twilio.request_validator import RequestValidator

from bot.console import transcription
from bot.console.api import (
    LIVE_KEY,
    MAX_BODY,
    RASA_KEY,
    ApiError,
    agreement_form,
    choice_field,
    json_body,
    page,
    path_id,
    run,
    text_field,
    to_rasa,
)
from bot.console.auth import staff_of
from bot.domain import calls as rules
from bot.domain.console import DISPOSITIONS
from bot.services import calls
from bot.sms.gateway import SmsConfigError, TwilioSettings
from bot.sms.signature import signed_by_twilio

logger = logging.getLogger(__name__)

DISPUTE_REASONS = ("not_mine", "wrong_amount", "already_paid", "other")
FLAGS = ("cease", "attorney", "bankruptcy")
MAX_CALL_ID = 16


def _call_id(value: Any) -> int:
    """A call id as the API takes it: its digits, as text or a number."""
    text = str(value) if isinstance(value, int | str) else ""
    if not text.isdigit() or len(text) > MAX_CALL_ID or int(text) == 0:
        raise ApiError(400, "call_id must be the id of a call started in the console")
    return int(text)


async def _reading(request: web.Request, text: str) -> calls.Reading:
    intent, confidence = await to_rasa(request.app[RASA_KEY].parse(text), "read what was said")
    return calls.Reading(intent, confidence)


def _push(request: web.Request, login: str, payload: dict[str, Any]) -> None:
    """An utterance's assessment to the screens of the call's person (a transcription arrives without them)."""
    request.app[LIVE_KEY].broadcast("assist", payload, to=lambda client: client.staff.login == login)


# --- pages and reads ---------------------------------------------------------------------------------------

async def calls_page(request: web.Request) -> web.Response:
    """GET /calls: find an account, start a call, and be assisted on it (?call=ID reopens one)."""
    return page(request, "calls", "Calls")


async def api_accounts(request: web.Request) -> web.Response:
    """GET /api/accounts?q=: accounts by reference, phone number or name."""
    query = request.query.get("q", "")
    return web.json_response({"accounts": await run(calls.search, staff_of(request), query)})


async def api_start(request: web.Request) -> web.Response:
    """POST /api/calls {account_ref, phone}: a call attempt, if the contact rules allow it now."""
    data = await json_body(request)
    call = await run(calls.start, staff_of(request), text_field(data, "account_ref", required=True, max_chars=64),
                     text_field(data, "phone", required=True, max_chars=40))
    return web.json_response({"call": call}, status=201)


async def api_call(request: web.Request) -> web.Response:
    """GET /api/calls/{id}."""
    return web.json_response({"call": await run(calls.view, staff_of(request), path_id(request))})


# --- call-assist ------------------------------------------------------------------------------------------------

async def api_assist(request: web.Request) -> web.Response:
    """POST /api/assist {call_id, account_ref, speaker, text} (SPEC section 8)."""
    data = await json_body(request)
    call_id = _call_id(data.get("call_id"))
    speaker = choice_field(data, "speaker", rules.SPEAKERS)
    text = text_field(data, "text", required=True, max_chars=calls.MAX_UTTERANCE_CHARS)
    account_ref = text_field(data, "account_ref", required=True, max_chars=64)
    reading = await _reading(request, text)
    return web.json_response(await run(calls.assist, staff_of(request), call_id, account_ref, speaker, text,
                                       reading))


async def api_verify(request: web.Request) -> web.Response:
    """POST /api/calls/{id}/verify {reference, date_of_birth}: checked against the account."""
    data = await json_body(request)
    return web.json_response(await run(
        calls.verify, staff_of(request), path_id(request), text_field(data, "reference", required=True, max_chars=64),
        text_field(data, "date_of_birth", required=True, max_chars=64), locking=True))


async def api_checklist(request: web.Request) -> web.Response:
    """POST /api/calls/{id}/checklist {item}: the disclosure or the validation notice was given."""
    data = await json_body(request)
    item = choice_field(data, "item", ("disclosure_given", "validation_notice"))
    return web.json_response({"call": await run(calls.tick, staff_of(request), path_id(request), item)})


async def api_agreement(request: web.Request) -> web.Response:
    """POST /api/calls/{id}/agreements: terms agreed on the phone, at the person's tier (or for approval)."""
    data = await json_body(request)
    result = await run(calls.agree, staff_of(request), path_id(request), agreement_form(data), text_field(data, "note"),
                       locking=True)
    if result["result"] == "approval_requested":
        request.app[LIVE_KEY].approval_changed({"id": result["approval_id"]})
    return web.json_response(result)


async def api_dispute(request: web.Request) -> web.Response:
    """POST /api/calls/{id}/dispute {reason, details}."""
    data = await json_body(request)
    return web.json_response(await run(calls.dispute, staff_of(request), path_id(request),
                                       choice_field(data, "reason", DISPUTE_REASONS), text_field(data, "details")))


async def api_flag(request: web.Request) -> web.Response:
    """POST /api/calls/{id}/flags {flag}: cease, attorney or bankruptcy."""
    data = await json_body(request)
    return web.json_response(await run(calls.flag, staff_of(request), path_id(request),
                                       choice_field(data, "flag", FLAGS)))


async def api_contact_point(request: web.Request) -> web.Response:
    """POST /api/calls/{id}/contact-points {kind, value}."""
    data = await json_body(request)
    return web.json_response(await run(calls.add_contact, staff_of(request), path_id(request),
                                       choice_field(data, "kind", ("phone", "email")),
                                       text_field(data, "value", required=True, max_chars=320)))


async def api_outcome(request: web.Request) -> web.Response:
    """POST /api/calls/{id}/outcome {outcome}."""
    data = await json_body(request)
    return web.json_response({"call": await run(calls.set_outcome, staff_of(request), path_id(request),
                                                choice_field(data, "outcome", rules.OUTCOMES))})


async def api_summary(request: web.Request) -> web.Response:
    """GET /api/calls/{id}/summary: the draft of the call's note."""
    return web.json_response({"draft": await run(calls.draft_summary, staff_of(request), path_id(request))})


async def api_end(request: web.Request) -> web.Response:
    """POST /api/calls/{id}/end {outcome, disposition, note}."""
    data = await json_body(request)
    return web.json_response({"call": await run(
        calls.end, staff_of(request), path_id(request), choice_field(data, "outcome", rules.OUTCOMES),
        choice_field(data, "disposition", DISPOSITIONS), text_field(data, "note"))})


# --- Twilio -------------------------------------------------------------------------------------------------

def _public_url(request: web.Request) -> str:
    """The URL Twilio posted to, which its signature covers: CONSOLE_PUBLIC_URL's origin (behind a proxy it is not
    what this server sees) with the request's path and query."""
    base = os.environ.get("CONSOLE_PUBLIC_URL", "").strip().rstrip("/") or f"{request.scheme}://{request.host}"
    return base + request.raw_path


async def _signed_params(request: web.Request) -> dict[str, str]:
    """The form Twilio posted, if its signature is good; else 403 (logged, nothing else done)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
    # Parsed here, keeping blank fields: the signature covers every field.
    params = dict(parse_qsl((await request.read()).decode("utf-8", "replace"), keep_blank_values=True))
    try:
        validator = RequestValidator(TwilioSettings.from_env().auth_token)
    except SmsConfigError as error:
        logger.error("console: Twilio is not configured (%s); a Twilio webhook was refused", error)
        raise web.HTTPServiceUnavailable() from None
    if not signed_by_twilio(validator, _public_url(request), params, request.headers.get("X-Twilio-Signature", "")):
        logger.warning("console: refused a Twilio webhook without a valid signature from %s", request.remote)
        raise web.HTTPForbidden(text="Forbidden: invalid or missing X-Twilio-Signature")
    return params


async def twilio_voice(request: web.Request) -> web.Response:
    """POST /twilio/voice/{id}: the TwiML of the debtor's leg of a call: transcribe both tracks, connect the
    person's softphone (Twilio Client identity = their login)."""
    params = await _signed_params(request)
    call_id = path_id(request)
    owner = await run(calls.transcribed_call, call_id, params.get("CallSid", ""))
    callback = _public_url(request).replace(f"/twilio/voice/{call_id}", f"/twilio/transcription/{call_id}")
    return web.Response(text=transcription.call_twiml(callback, owner.staff.login), content_type="text/xml")


async def twilio_transcription(request: web.Request) -> web.Response:
    """POST /twilio/transcription/{id}: one real-time transcription event. A final utterance is read by the
    assistant's model, assessed on the call as a typed one would be, and pushed to the person's screen; the
    debtor's track is the inbound one (bot.console.transcription)."""
    params = await _signed_params(request)
    call_id = path_id(request)
    try:
        heard = transcription.heard(params)
    except ValueError as error:
        logger.warning("console: an unreadable transcription event for call %s: %s", call_id, error)
        return web.json_response({"error": str(error)}, status=400)
    if heard is None:  # started, stopped, a partial result: nothing to assess
        return web.Response(status=204)
    owner = await run(calls.transcribed_call, call_id, heard.call_sid)
    reading = await _reading(request, heard.text)
    result = await run(calls.assist, owner.staff, call_id, owner.account_ref, heard.speaker, heard.text, reading,
                       source="transcription", event_id=heard.event_id)
    if not result.get("duplicate"):
        _push(request, owner.staff.login, result)
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    """The call screen's page and API, and the Twilio webhooks (public paths: bot.console.auth)."""
    ident = r"{id:\d{1,16}}"
    app.router.add_get("/calls", calls_page)
    app.router.add_get("/api/accounts", api_accounts)
    app.router.add_post("/api/calls", api_start)
    app.router.add_get(f"/api/calls/{ident}", api_call)
    app.router.add_post("/api/assist", api_assist)
    app.router.add_post(f"/api/calls/{ident}/verify", api_verify)
    app.router.add_post(f"/api/calls/{ident}/checklist", api_checklist)
    app.router.add_post(f"/api/calls/{ident}/agreements", api_agreement)
    app.router.add_post(f"/api/calls/{ident}/dispute", api_dispute)
    app.router.add_post(f"/api/calls/{ident}/flags", api_flag)
    app.router.add_post(f"/api/calls/{ident}/contact-points", api_contact_point)
    app.router.add_post(f"/api/calls/{ident}/outcome", api_outcome)
    app.router.add_get(f"/api/calls/{ident}/summary", api_summary)
    app.router.add_post(f"/api/calls/{ident}/end", api_end)
    app.router.add_post(f"/twilio/voice/{ident}", twilio_voice)
    app.router.add_post(f"/twilio/transcription/{ident}", twilio_transcription)
