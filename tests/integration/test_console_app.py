"""The agent console's application over HTTP, on both backends: its pages, its JSON API and its event stream, with
real logins (bot.services.staff), real handoffs (handoffs.open_handoff) and the real desk; only Rasa's HTTP API is
a stand-in here (the stack and browser tests talk to the real one)."""
from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer

from bot.cli import DEMO
from bot.config import PROJECT_ROOT
from bot.console.app import create_app
from bot.services import handoffs, identity, imports, staff
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage.orm import Handoff
from tests.support.database import account_json, in_locking_transaction, in_transaction

PASSWORD = "correct horse battery"
WEB, OTHER_WEB = "web-conversation-1", "web-conversation-2"


@dataclass
class FakeRasa:
    """Rasa's HTTP API as the console calls it (bot.console.rasa_api.RasaApi), recording each call."""

    sent: list[dict[str, Any]] = field(default_factory=list)
    resumed: list[dict[str, Any]] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)
    down: bool = False  # the Rasa server cannot be reached
    transcripts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    closed: bool = False

    async def send(self, conversation_id: str, text: str, channel: str, *, agent: str,
                   buttons: list[dict[str, str]] | None = None) -> None:
        self.sent.append({"conversation_id": conversation_id, "text": text, "channel": channel, "agent": agent,
                          "buttons": buttons})

    async def pause(self, conversation_id: str, channel: str) -> None:
        self.paused.append(conversation_id)

    async def resume(self, conversation_id: str, text: str, channel: str, *, agent: str,
                     slots: dict[str, Any] | None = None) -> None:
        if self.down:
            raise ConnectionRefusedError("the Rasa server does not answer")
        self.resumed.append({"conversation_id": conversation_id, "text": text, "channel": channel, "agent": agent,
                             "slots": slots})

    async def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        return self.transcripts.get(conversation_id, [])

    async def close(self) -> None:
        self.closed = True


@dataclass
class Person:
    """A logged-in browser: its session cookie and CSRF token, sent with every request."""

    login: str
    client: TestClient
    cookie: str
    csrf: str

    def headers(self, **more: str) -> dict[str, str]:
        return {"Cookie": f"console_session={self.cookie}", "X-CSRF-Token": self.csrf, **more}

    async def get(self, path: str) -> Any:
        return await self.client.get(path, headers=self.headers(), allow_redirects=False)

    async def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return await self.client.post(path, json=body, headers=self.headers(**headers), allow_redirects=False)


@dataclass
class Console:
    client: TestClient
    rasa: FakeRasa
    feed: asyncio.Queue[dict[str, Any]]
    ana: Person
    ben: Person
    sue: Person



async def _events(feed: asyncio.Queue[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    while True:
        yield await feed.get()


@pytest.fixture
async def console(db: str, monkeypatch: pytest.MonkeyPatch, cheap_hashing: None) -> AsyncIterator[Console]:
    """The console on a real port over this backend's database: the demo portfolio, agents ana and ben, supervisor
    sue (each logged in), a stand-in for Rasa's HTTP API, and a broker feed the test writes Rasa's events to."""
    monkeypatch.setenv("CONSOLE_SECRET_KEY", "a test console key, long enough")
    in_transaction(imports.import_policies, DEMO / "policies.yml")
    in_transaction(imports.import_accounts, DEMO / "accounts.csv", date.today())
    people = {"ana": "agent", "ben": "agent", "sue": "supervisor"}
    for login, role in people.items():
        in_transaction(staff.add_agent, login, role, PASSWORD)
    rasa, feed = FakeRasa(), asyncio.Queue()
    app = create_app(rasa, events=lambda: _events(feed), callback_seconds=0.2)
    async with TestClient(TestServer(app, host="127.0.0.1"), cookie_jar=DummyCookieJar()) as client:
        logged = {}
        for login in people:
            result = in_transaction(staff.log_in, login, PASSWORD, "127.0.0.1")
            assert isinstance(result, staff.LoggedIn)
            logged[login] = Person(login, client, result.session_token, result.csrf_token)
        yield Console(client, rasa, feed, logged["ana"], logged["ben"], logged["sue"])
    assert rasa.closed


def escalate(conversation_id: str = WEB, *, verified: bool = True, reason: str = "request_human") -> int:
    """A debtor asks for a person in the web chat (verified on ACC-1001 first, or not at all)."""
    if verified:
        in_locking_transaction(identity.verify, "ACC-1001", "12/03/1985", conversation_id=conversation_id,
                               channel="socketio")
    return in_transaction(handoffs.open_handoff, conversation_id, reason, "ACC-1001" if verified else None)


async def next_event(response: Any, name: str, timeout: float = 3.0) -> dict[str, Any]:
    """The next server-sent event called `name` on an open stream (others are skipped)."""
    async def read() -> dict[str, Any]:
        event = None
        while True:
            line = (await response.content.readline()).decode()
            if not line:
                raise AssertionError("the event stream ended")
            if line.startswith("event: "):
                event = line[len("event: "):].strip()
            elif line.startswith("data: ") and event == name:
                payload: dict[str, Any] = json.loads(line[len("data: "):])
                return payload
    return await asyncio.wait_for(read(), timeout)


async def queue_where(response: Any, wanted: Any, timeout: float = 3.0) -> dict[str, Any]:
    """The first `queue` event `wanted` accepts (a queue pushed for an earlier change may come first)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        payload = await next_event(response, "queue", timeout=max(0.0, deadline - loop.time()))
        if wanted(payload):
            return payload


# --- pages ------------------------------------------------------------------------------------------

async def test_no_page_or_api_answers_without_a_session(console: Console) -> None:
    for path in ("/", "/handoffs/1", "/approvals"):
        response = await console.client.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"].startswith("/login?next=")
    for method, path in (("GET", "/api/queue"), ("GET", "/api/events"), ("POST", "/api/handoffs/1/take"),
                         ("GET", "/api/handoffs/1"), ("POST", "/api/approvals/1/approve")):
        response = await console.client.request(method, path, allow_redirects=False)
        assert response.status == 401 and await response.json() == {"error": "login required"}, path
    assert (await console.client.get("/healthz")).status == 200


async def test_pages_are_locked_down_and_carry_the_hooks_the_scripts_and_tests_use(console: Console) -> None:
    handoff = escalate()
    response = await console.ana.get("/")
    page = await response.text()
    assert response.status == 200
    policy = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                      "require-trusted-types-for 'script'"):
        assert directive in policy
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert f'<meta name="csrf-token" content="{console.ana.csrf}">' in page
    assert "<title>Queue – Collections console</title>" in page
    assert re.search(r"<script(?![^>]*\bsrc=)", page) is None and " style=" not in page  # no inline code
    assert page.count("<header") == 1 and page.count("<main") == 1 and 'id="queue-rows"' in page
    assert 'href="/approvals"' not in page  # the approval queue is for supervisors
    assert 'href="/approvals"' in await (await console.sue.get("/")).text()

    conversation = await (await console.ana.get(f"/handoffs/{handoff}")).text()
    for hook in ('<label for="message">Message to the debtor</label>', 'role="log"', 'aria-live="polite"',
                 '>Send</button>', '<label for="agreement-kind">Kind</label>', '>Months</label>',
                 '>Monthly amount</label>', '>Amount</label>', '>Date</label>', '>Debtor agreed by phone</label>',
                 '>Note for the supervisor</label>', '<label for="disposition">Disposition</label>',
                 '>Hand back to the assistant</button>', f'data-handoff-id="{handoff}"'):
        assert hook in conversation, hook
    assert "{{" not in conversation and 'id="assign-form"' not in conversation  # reassigning: supervisors
    assert 'id="assign-form"' in await (await console.sue.get(f"/handoffs/{handoff}")).text()
    for name, kind in (("queue.js", "text/javascript"), ("console.css", "text/css"), ("favicon.svg", "image/svg+xml")):
        asset = await console.client.get(f"/static/{name}")
        assert asset.status == 200 and asset.content_type == kind
    assert (await console.client.get("/static/app.py")).status == 404
    assert (await console.ana.get("/handoffs/999999")).status == 404


async def test_an_agent_cannot_see_the_approval_queue_or_decide(console: Console) -> None:
    page = await console.ana.get("/approvals")
    assert page.status == 403 and "supervisors" in await page.text()
    assert (await console.ana.get("/api/approvals")).status == 403
    for action, body in (("approve", {"note": "fine"}), ("reject", {"reason": "no"})):
        response = await console.ana.post(f"/api/approvals/1/{action}", body)
        assert response.status == 403 and "error" in await response.json()
    response = await console.ana.post("/api/disputes/DSP-AAAA-BBBB-CCCC/resolve", {"outcome": "rejected"})
    assert response.status == 403
    assert (await console.sue.get("/approvals")).status == 200
    assert await (await console.sue.get("/api/approvals")).json() == {"items": []}


# --- the queue and taking ----------------------------------------------------------------------------------

async def test_the_queue_lists_open_handoffs_oldest_first(console: Console) -> None:
    first = escalate(WEB)
    second = escalate(OTHER_WEB, verified=False, reason="complain")
    queue = await (await console.ana.get("/api/queue")).json()
    assert [item["id"] for item in queue["items"]] == [first, second]
    assert queue["waiting"] == 2 and queue["approvals_pending"] is None
    verified, unverified = queue["items"]
    assert (verified["reason"], verified["channel"], verified["verified"], verified["balance"], verified["holds"]) \
        == ("request_human", "socketio", True, "1234.56", [])
    assert (unverified["verified"], unverified["account_ref"]) == (False, None)
    assert (await (await console.sue.get("/api/queue")).json())["approvals_pending"] == 0


async def test_a_second_agent_taking_a_taken_handoff_is_told_who_has_it(console: Console) -> None:
    handoff = escalate()
    taken = await console.ana.post(f"/api/handoffs/{handoff}/take")
    assert taken.status == 200 and (await taken.json())["assigned_to"] == "ana"
    refused = await console.ben.post(f"/api/handoffs/{handoff}/take")
    assert refused.status == 409
    assert await refused.json() == {"error": "ana has already taken this conversation", "by": "ana"}
    assert (await console.ben.get(f"/api/handoffs/{handoff}")).status == 403  # nor may he read it now
    assert (await console.ben.get(f"/handoffs/{handoff}")).status == 403
    queue = await (await console.ben.get("/api/queue")).json()
    assert queue["waiting"] == 0 and queue["items"][0]["assigned_to"] == "ana"
    assert console.rasa.paused == [WEB]  # the assistant is silenced for the taker only, once


async def test_only_a_supervisor_reassigns(console: Console) -> None:
    handoff = escalate()
    await console.ana.post(f"/api/handoffs/{handoff}/take")
    assert (await console.ana.post(f"/api/handoffs/{handoff}/assign", {"login": "ben"})).status == 403
    response = await console.sue.post(f"/api/handoffs/{handoff}/assign", {"login": "BEN"})
    assert response.status == 200 and (await response.json())["assigned_to"] == "ben"
    unknown = await console.sue.post(f"/api/handoffs/{handoff}/assign", {"login": "nobody"})
    assert unknown.status == 400 and "nobody" in (await unknown.json())["error"]


# --- a taken conversation -------------------------------------------------------------------------------

async def test_the_panel_shows_the_account_the_rules_and_this_persons_authority(console: Console) -> None:
    handoff = escalate()
    await console.ana.post(f"/api/handoffs/{handoff}/take")
    panel = await (await console.ana.get(f"/api/handoffs/{handoff}")).json()
    assert panel["handoff"]["verified_by"] == "reference and date of birth"
    assert (panel["account"]["account_ref"], panel["account"]["balance"]) == ("ACC-1001", "1234.56")
    assert panel["authority"]["tier"] == "agent" and panel["authority"]["settlement_floor"] == "802.47"
    assert panel["authority_above"]["tier"] == "supervisor"
    assert panel["compose"]["allowed"] is True and panel["contact"]["timezone"] == "America/Chicago"
    assert "handoff_taken" in [event["action"] for event in panel["audit"]]
    console.rasa.transcripts[WEB] = [{"sender": "debtor", "text": "a person please", "at": "2026-01-01T00:00:00+00:00",
                                      "agent": None, "buttons": []}]
    transcript = await (await console.ana.get(f"/api/handoffs/{handoff}/transcript")).json()
    assert transcript == {"conversation_id": WEB, "messages": console.rasa.transcripts[WEB]}
    note = await console.ana.post(f"/api/handoffs/{handoff}/notes", {"text": "Sounds stressed"})
    assert note.status == 201
    notes = (await (await console.ana.get(f"/api/handoffs/{handoff}")).json())["notes"]
    assert [(n["author"], n["text"]) for n in notes] == [("ana", "Sounds stressed")]


async def test_a_message_naming_the_balance_to_an_unverified_person_is_refused_and_never_sent(
        console: Console) -> None:
    handoff = escalate(verified=False)
    await console.ana.post(f"/api/handoffs/{handoff}/take")
    response = await console.ana.post(f"/api/handoffs/{handoff}/messages", {"text": "You owe $1,234.56"})
    assert response.status == 422
    refusal = await response.json()
    assert refusal["rule"] == "not_verified" and "not verified" in refusal["explanation"]
    assert console.rasa.sent == []  # Rasa was never asked
    fine = await console.ana.post(f"/api/handoffs/{handoff}/messages", {"text": "Hello, what is your reference?"})
    assert fine.status == 201 and len(console.rasa.sent) == 1


async def test_a_message_that_may_go_is_sent_on_the_debtors_channel_and_audited(console: Console) -> None:
    handoff = escalate()
    assert (await console.ana.post(f"/api/handoffs/{handoff}/messages", {"text": "Hi"})).status == 403  # not taken
    await console.ana.post(f"/api/handoffs/{handoff}/take")
    response = await console.ana.post(f"/api/handoffs/{handoff}/messages", {"text": "Your balance is $1,234.56"})
    assert response.status == 201
    assert console.rasa.sent == [{"conversation_id": WEB, "text": "Your balance is $1,234.56", "channel": "socketio",
                                  "agent": "ana", "buttons": None}]
    audit = (await (await console.ana.get(f"/api/handoffs/{handoff}")).json())["audit"]
    [sent] = [event for event in audit if event["action"] == "agent_message"]
    assert sent["actor"] == "ana"
    assert (await console.ben.post(f"/api/handoffs/{handoff}/messages", {"text": "Hi"})).status == 403


async def test_the_tier_is_the_logins_never_the_forms(console: Console) -> None:
    handoff = escalate()
    await console.ana.post(f"/api/handoffs/{handoff}/take")
    pay_by = (date.today() + timedelta(days=7)).isoformat()
    response = await console.ana.post(f"/api/handoffs/{handoff}/agreements", {
        "kind": "settlement", "amount": "700.00", "pay_by": pay_by, "agreed_by_phone": True,
        "tier": "supervisor", "authorized_by": "supervisor", "authorized_actor": "sue", "note": "family loan"})
    assert response.status == 201
    outcome = await response.json()
    assert outcome["outcome"] == "approval_requested" and outcome["problems"]
    assert account_json(console_db())["settlements"] == []  # nothing recorded at the tier the form claimed
    [pending] = (await (await console.sue.get("/api/approvals")).json())["items"]
    assert (pending["requested_by"], pending["note"]) == ("ana", "family loan")
    approved = await console.sue.post(f"/api/approvals/{pending['id']}/approve", {"note": "ok", "tier": "bot"})
    assert approved.status == 200 and (await approved.json())["status"] == "approved"
    [settlement] = account_json(console_db())["settlements"]
    assert (settlement["authorized_by"], settlement["authorized_actor"], settlement["requested_by"]) == (
        "supervisor", "sue", "ana")


def console_db() -> str:
    return os.environ["DATABASE_URL"]


async def test_terms_within_the_tier_go_to_the_debtor_with_yes_and_no(console: Console) -> None:
    handoff = escalate()
    await console.ana.post(f"/api/handoffs/{handoff}/take")
    first_due = (date.today() + timedelta(days=10)).isoformat()
    response = await console.ana.post(f"/api/handoffs/{handoff}/agreements",
                                      {"kind": "plan", "months": 20, "first_due": first_due})
    assert response.status == 201 and (await response.json())["outcome"] == "offer_sent"
    [offer] = console.rasa.sent
    assert offer["buttons"] == [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    assert (offer["conversation_id"], offer["channel"], offer["agent"]) == (WEB, "socketio", "ana")
    assert account_json(console_db())["plans"] == []


async def test_a_debtors_yes_from_rasas_broker_records_the_terms_and_is_answered(console: Console) -> None:
    handoff = escalate()
    await console.ana.post(f"/api/handoffs/{handoff}/take")
    await console.ana.post(f"/api/handoffs/{handoff}/agreements",
                           {"kind": "plan", "months": 20, "first_due": (date.today() + timedelta(days=10)).isoformat()})
    stream = await console.client.get(f"/api/events?handoff={handoff}", headers=console.ana.headers())
    await next_event(stream, "queue")
    now = datetime.now(UTC).timestamp()
    await console.feed.put({"sender_id": WEB, "event": "user", "text": "yes", "timestamp": now,
                            "parse_data": {"intent": {"name": "affirm"}}})
    message = await next_event(stream, "message")
    assert message["message"] | {"at": None} == {"sender": "debtor", "text": "yes", "at": None, "agent": None,
                                                 "buttons": []}
    assert (await next_event(stream, "panel"))["handoff_id"] == handoff
    [plan] = account_json(console_db())["plans"]
    assert (plan["authorized_by"], plan["authorized_actor"]) == ("agent", "ana")
    confirmation = console.rasa.sent[-1]
    assert (confirmation["conversation_id"], confirmation["agent"]) == (WEB, "ana")
    assert confirmation["text"].startswith("Your payment plan")
    stream.close()


async def test_hand_back_closes_the_handoff_and_resumes_the_assistant(console: Console) -> None:
    handoff = escalate()
    await console.ana.post(f"/api/handoffs/{handoff}/take")
    response = await console.ana.post(f"/api/handoffs/{handoff}/hand-back",
                                      {"disposition": "resolved", "note": "explained the options"})
    assert response.status == 200
    [resumed] = console.rasa.resumed
    assert (resumed["conversation_id"], resumed["channel"], resumed["agent"]) == (WEB, "socketio", "ana")
    assert "automated assistant" in resumed["text"]
    # the assistant forgets what it was negotiating before the person took over
    assert resumed["slots"]["pending_terms"] is None and resumed["slots"]["requested_slot"] is None
    [closed] = account_json(console_db())["handoffs"]
    assert (closed["status"], closed["disposition"]) == ("closed", "resolved")
    assert (await (await console.ana.get("/api/queue")).json())["items"] == []
    again = await console.ana.post(f"/api/handoffs/{handoff}/hand-back", {"disposition": "resolved"})
    assert again.status in (403, 409) and len(console.rasa.resumed) == 1


async def test_a_hand_back_rasa_cannot_take_leaves_the_conversation_with_the_person(console: Console) -> None:
    handoff = escalate()
    await console.ana.post(f"/api/handoffs/{handoff}/take")
    console.rasa.down = True
    failed = await console.ana.post(f"/api/handoffs/{handoff}/hand-back", {"disposition": "resolved"})
    assert failed.status == 502 and "still yours" in (await failed.json())["error"]
    assert account_json(console_db())["handoffs"][0]["status"] == "assigned"  # not closed with the bot silent
    console.rasa.down = False
    retried = await console.ana.post(f"/api/handoffs/{handoff}/hand-back", {"disposition": "resolved"})
    assert retried.status == 200 and account_json(console_db())["handoffs"][0]["status"] == "closed"


async def test_a_callback_hand_back_needs_a_time_with_its_zone(console: Console) -> None:
    handoff = escalate()
    await console.ana.post(f"/api/handoffs/{handoff}/take")
    for callback_at in (None, "2026-12-01T10:00", "tomorrow"):
        response = await console.ana.post(f"/api/handoffs/{handoff}/hand-back",
                                          {"disposition": "callback", "callback_at": callback_at})
        assert response.status == 400, callback_at
    later = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    response = await console.ana.post(f"/api/handoffs/{handoff}/hand-back",
                                      {"disposition": "callback", "callback_at": later})
    assert response.status == 200 and len(console.rasa.resumed) == 1


# --- bad input ----------------------------------------------------------------------------------------------

async def test_bad_input_is_answered_with_json_never_a_traceback(console: Console) -> None:
    handoff = escalate()
    await console.ana.post(f"/api/handoffs/{handoff}/take")
    base = f"/api/handoffs/{handoff}"
    cases: list[tuple[str, Any, int]] = [
        (f"{base}/messages", [1, 2], 400),
        (f"{base}/messages", {"text": 5}, 400),
        (f"{base}/notes", {"text": ""}, 400),
        (f"{base}/agreements", {"kind": "loan"}, 400),
        (f"{base}/agreements", {"kind": "plan", "months": "nine"}, 400),
        (f"{base}/agreements", {"kind": "plan", "months": True}, 400),
        (f"{base}/agreements", {"kind": "settlement", "amount": 700, "pay_by": "2026-12-01"}, 400),
        (f"{base}/agreements", {"kind": "promise", "amount": "1e9", "pay_on": "2026-12-01"}, 400),
        (f"{base}/agreements", {"kind": "settlement", "amount": "700.00", "pay_by": "next week"}, 400),
        (f"{base}/agreements", {"kind": "plan", "months": 6, "agreed_by_phone": "yes"}, 400),
        (f"{base}/hand-back", {"disposition": "vanished"}, 400),
        ("/api/handoffs/99999999/take", {}, 404),
    ]
    for path, body, status in cases:
        response = await console.ana.post(path, body)
        assert response.status == status, (path, body)
        assert response.content_type == "application/json" and isinstance((await response.json())["error"], str)
    not_json = await console.client.post(f"{base}/notes", data="text=hi", headers=console.ana.headers(
        **{"Content-Type": "application/x-www-form-urlencoded"}))
    assert not_json.status == 415
    broken = await console.client.post(f"{base}/notes", data="{", headers=console.ana.headers(
        **{"Content-Type": "application/json"}))
    assert broken.status == 400
    huge = await console.ana.post(f"{base}/notes", {"text": "x" * (65 * 1024)})
    assert huge.status == 413 and "error" in await huge.json()
    for path in ("/api/handoffs/abc", "/api/handoffs/1e3/take", "/api/handoffs/-1", f"/api/handoffs/{'9' * 30}"):
        response = await console.ana.get(path)
        assert response.status in (404, 405) and "error" in await response.json(), path
    assert (await console.ana.get("/api/events?handoff=x")).status == 400
    no_csrf = await console.client.post(f"{base}/notes", json={"text": "hi"},
                                        headers={"Cookie": f"console_session={console.ana.cookie}"})
    assert no_csrf.status == 403
    assert console.rasa.sent == []


# --- live -----------------------------------------------------------------------------------------------------

async def test_the_event_stream_pushes_the_queue_after_a_take(console: Console) -> None:
    handoff = escalate()
    stream = await console.client.get("/api/events", headers=console.ben.headers())
    assert stream.status == 200 and stream.content_type == "text/event-stream"
    assert stream.headers["Cache-Control"] == "no-store"
    snapshot = await next_event(stream, "queue")
    assert snapshot["waiting"] == 1 and snapshot["items"][0]["status"] == "open"
    await console.ana.post(f"/api/handoffs/{handoff}/take")
    pushed = await queue_where(stream, lambda queue: queue["waiting"] == 0)
    assert pushed["items"][0]["assigned_to"] == "ana"
    stream.close()


async def test_an_escalation_from_rasas_broker_reaches_the_queue_within_two_seconds(console: Console) -> None:
    stream = await console.client.get("/api/events", headers=console.ana.headers())
    assert (await next_event(stream, "queue"))["items"] == []
    handoff = escalate()
    started = asyncio.get_running_loop().time()
    await console.feed.put({"sender_id": WEB, "event": "pause", "timestamp": datetime.now(UTC).timestamp()})
    pushed = await queue_where(stream, lambda queue: queue["items"], timeout=2.0)
    assert [item["id"] for item in pushed["items"]] == [handoff]
    assert asyncio.get_running_loop().time() - started < 2.0
    stream.close()


async def test_a_conversations_messages_go_only_to_those_who_may_see_it(console: Console) -> None:
    handoff = escalate()
    await console.ana.post(f"/api/handoffs/{handoff}/take")
    assert (await console.ben.get(f"/api/events?handoff={handoff}")).status == 403
    ana = await console.client.get(f"/api/events?handoff={handoff}", headers=console.ana.headers())
    ben = await console.client.get("/api/events", headers=console.ben.headers())
    await next_event(ana, "queue")
    await next_event(ben, "queue")
    await console.feed.put({"sender_id": WEB, "event": "bot", "text": "A person will reply shortly.",
                            "timestamp": datetime.now(UTC).timestamp(), "data": {"buttons": []}})
    await console.feed.put({"sender_id": WEB, "event": "user", "text": "my card is 4111",
                            "timestamp": datetime.now(UTC).timestamp(), "parse_data": {"intent": {"name": "inform"}}})
    bot = await next_event(ana, "message")
    debtor = await next_event(ana, "message")
    assert (bot["message"]["sender"], debtor["message"]["text"]) == ("bot", "my card is 4111")
    with pytest.raises(TimeoutError):
        await next_event(ben, "message", timeout=0.5)
    # Shown as the transcript shows them: a clicked button by its title, a date of birth never.
    for event in ({"event": "bot", "text": "Do you agree?", "data": {"buttons": [
                       {"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]}},
                  {"event": "user", "text": "/deny", "parse_data": {"intent": {"name": "deny"}}},
                  {"event": "bot", "text": "What is your date of birth?"},
                  {"event": "user", "text": "it is 12 March 1985", "parse_data": {"intent": {"name": "inform"}}}):
        await console.feed.put({"sender_id": WEB, "timestamp": datetime.now(UTC).timestamp(), **event})
    shown = [(await next_event(ana, "message"))["message"] for _ in range(4)]
    assert shown[0]["buttons"] == [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    assert shown[1]["text"] == "No" and "1985" not in shown[3]["text"] and "withheld" in shown[3]["text"]
    # Reassigned to ben: ana's page is told to reload (and gets a 403), and hears no more of the conversation.
    await console.sue.post(f"/api/handoffs/{handoff}/assign", {"login": "ben"})
    assert (await next_event(ana, "panel"))["handoff_id"] == handoff
    await console.feed.put({"sender_id": WEB, "event": "user", "text": "hello?",
                            "timestamp": datetime.now(UTC).timestamp(), "parse_data": {"intent": {"name": "greet"}}})
    with pytest.raises(TimeoutError):
        await next_event(ana, "message", timeout=0.5)
    ana.close()
    ben.close()


async def test_approval_requests_and_decisions_reach_supervisors_and_the_agent_who_asked(console: Console) -> None:
    handoff = escalate()
    await console.ana.post(f"/api/handoffs/{handoff}/take")
    sue = await console.client.get("/api/events", headers=console.sue.headers())
    ana = await console.client.get(f"/api/events?handoff={handoff}", headers=console.ana.headers())
    ben = await console.client.get("/api/events", headers=console.ben.headers())
    for stream in (sue, ana, ben):
        await next_event(stream, "queue")
    pay_by = (date.today() + timedelta(days=7)).isoformat()
    await console.ana.post(f"/api/handoffs/{handoff}/agreements",
                           {"kind": "settlement", "amount": "700.00", "pay_by": pay_by, "note": "family loan"})
    requested = await next_event(sue, "approval")
    assert (requested["status"], requested["requested_by"], requested["handoff_id"]) == ("pending", "ana", handoff)
    assert (await next_event(ana, "approval"))["status"] == "pending"
    await queue_where(sue, lambda queue: queue["approvals_pending"] == 1)
    rejected = await console.sue.post(f"/api/approvals/{requested['id']}/reject", {"reason": ""})
    assert rejected.status == 400  # a reason is required
    await console.sue.post(f"/api/approvals/{requested['id']}/reject", {"reason": "Offer 803 first"})
    decided = await next_event(ana, "approval")
    assert (decided["status"], decided["decided_by"], decided["decision_note"]) == ("rejected", "sue",
                                                                                    "Offer 803 first")
    with pytest.raises(TimeoutError):
        await next_event(ben, "approval", timeout=0.5)
    for stream in (sue, ana, ben):
        stream.close()


async def test_a_callback_that_comes_due_puts_the_conversation_back_in_the_queue(console: Console) -> None:
    handoff = escalate()
    await console.ana.post(f"/api/handoffs/{handoff}/take")
    later = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    await console.ana.post(f"/api/handoffs/{handoff}/hand-back", {"disposition": "callback", "callback_at": later})
    stream = await console.client.get("/api/events", headers=console.ben.headers())
    assert (await next_event(stream, "queue"))["items"] == []
    with SqlUnitOfWork() as uow:  # two hours pass
        uow.session.get(Handoff, handoff).callback_at = datetime.now(UTC) - timedelta(minutes=1)
    [item] = (await queue_where(stream, lambda queue: queue["items"]))["items"]
    assert (item["reason"], item["status"], item["conversation_id"]) == ("callback", "open", WEB)
    stream.close()


def test_the_console_refuses_to_start_in_production_without_its_secrets() -> None:
    environment = {key: value for key, value in os.environ.items() if key not in ("CONSOLE_SECRET_KEY", "RASA_TOKEN")}
    result = subprocess.run([sys.executable, "-m", "bot.console", "--port", "1"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=60, env={**environment, "BOT_ENV": "production"})
    assert result.returncode == 2
    assert "CONSOLE_SECRET_KEY is not set" in result.stderr and "RASA_TOKEN is not set" in result.stderr
