"""What the agent console does through Rasa, on the real servers: a person's message reaches the debtor on the
debtor's own channel and is stored in the conversation (bot/console/rasa_api.py), hand back wakes the assistant,
and the debtor's messages reach the console's live feed from Rasa's event broker (bot/console/feed.py)."""
from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import pytest
import requests
from sqlalchemy import select

from bot.channels.rest import CONVERSATION_PREFIX
from bot.console.feed import broker_events
from bot.console.rasa_api import RasaApi, RasaApiError, conversation_path, transcript_of
from bot.storage.db import unit_of_work
from bot.storage.orm import PhoneConversation
from bot.storage.tracker_store import WITHHELD
from tests.stack.test_conversations import Chat
from tests.stack.test_sms_channel import JORDAN, Phone
from tests.support.personal_data import holds_date_of_birth
from tests.support.socketio_wire import WireSocket, texts

pytestmark = pytest.mark.stack

HANDOFF = "I want to talk to a real person"
BUTTONS = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 180))


def api(stack) -> RasaApi:
    return RasaApi(stack.rasa_url, stack.settings.token)


def tracker_events(stack, conversation_id: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{stack.rasa_url}/conversations/{conversation_id}/tracker",
                          params={"include_events": "ALL"}, headers=stack.api_headers(), timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()["events"]


async def next_bot_message(socket: WireSocket, timeout: float = 30) -> dict[str, Any]:
    """The next message the socket gets outside a turn (a person's, pushed through the HTTP API)."""
    while True:
        event, data = await socket.next_event(timeout)
        if event == "bot_uttered":
            return data


async def web_chat(stack) -> tuple[WireSocket, str]:
    """A debtor's web chat over socket.io, and its conversation id."""
    socket = await WireSocket.open(stack.rasa_url)
    return socket, await socket.join()


async def handed_over_socket(stack) -> tuple[WireSocket, str]:
    """A web chat whose debtor asked for a person: the assistant is silent now."""
    socket, conversation = await web_chat(stack)
    assert "a person will reply" in texts(await socket.say(HANDOFF, conversation))
    return socket, conversation


def test_a_persons_message_reaches_the_web_chat_and_is_stored_with_the_login(demo):
    async def scenario():
        socket, conversation = await handed_over_socket(demo)
        client = api(demo)
        try:
            await client.send(conversation, "Hello, this is Alex. Can I help?", "socketio", agent="alex",
                              buttons=BUTTONS)
            message = await next_bot_message(socket)
            assert message["text"] == "Hello, this is Alex. Can I help?"
            assert [(b["title"], b["payload"]) for b in message["quick_replies"]] == [("Yes", "/affirm"),
                                                                                      ("No", "/deny")]
            # The button is offered, so the debtor's click is taken as its payload (not screened out).
            assert await socket.say("/affirm", conversation) == []  # the assistant stays silent: a person has it
            stored = [e for e in tracker_events(demo, conversation) if e["event"] == "bot"][-1]
            assert stored["metadata"]["agent"] == "alex" and stored["data"]["buttons"] == BUTTONS
            assert [e["text"] for e in tracker_events(demo, conversation) if e["event"] == "user"][-1] == "/affirm"
            lines = await client.transcript(conversation)
            assert lines[-2:] == [
                {"sender": "agent", "text": "Hello, this is Alex. Can I help?", "at": lines[-2]["at"], "agent": "alex",
                 "buttons": BUTTONS},
                {"sender": "debtor", "text": "Yes", "at": lines[-1]["at"], "agent": None, "buttons": []}]
            assert lines[-2]["at"].endswith("+00:00") and lines[-2]["at"] <= lines[-1]["at"]
            assert {"sender": "debtor", "text": HANDOFF} in [{k: line[k] for k in ("sender", "text")} for line in lines]
        finally:
            await client.close()
            await socket.close()

    run(scenario())


def test_a_persons_message_reaches_the_phone_with_numbered_choices_and_the_reply_maps_back(demo):
    demo.twilio.clear()
    phone = Phone(demo, JORDAN)
    assert "a person will reply" in "\n".join(phone.text(HANDOFF))
    with unit_of_work() as session:
        conversation = session.scalars(
            select(PhoneConversation.conversation_id).where(PhoneConversation.phone == JORDAN)).one()

    async def agent_writes() -> list[dict[str, Any]]:
        client = api(demo)
        try:
            await client.send(conversation, "This is Alex. Shall I call you?", "twilio", agent="alex",
                              buttons=BUTTONS)
            return await client.transcript(conversation)
        finally:
            await client.close()

    before = len(demo.twilio.messages(JORDAN))
    lines = run(agent_writes())
    assert [m["body"] for m in demo.twilio.messages(JORDAN)[before:]] == [
        "This is Alex. Shall I call you?\nReply 1 Yes, 2 No."]
    assert lines[-1]["sender"] == "agent" and lines[-1]["agent"] == "alex"
    assert phone.text("1") == []  # taken, and the assistant stays silent while a person has the conversation
    [*_, reply] = [e for e in tracker_events(demo, conversation) if e["event"] == "user"]
    assert reply["text"] == "/affirm"  # "1" stood for the first button


def test_hand_back_resumes_the_assistant_which_answers_the_next_message(demo):
    async def scenario():
        socket, conversation = await handed_over_socket(demo)
        client = api(demo)
        try:
            assert await socket.say("hello?", conversation) == []  # paused: nobody answers yet
            await client.resume(conversation, "You're back with our automated assistant.", "socketio", agent="alex",
                                slots={"verified": False})
            assert (await next_bot_message(socket))["text"] == "You're back with our automated assistant."
            reply = texts(await socket.say("hi", conversation))
            assert "automated assistant" in reply and "account reference" in reply  # the assistant answers again
            events = tracker_events(demo, conversation)
            kinds = [e["event"] for e in events]
            assert kinds.index("pause") < kinds.index("resume")
            assert "hello?" in [e.get("text") for e in events]  # what the debtor wrote meanwhile is kept
        finally:
            await client.close()
            await socket.close()

    run(scenario())


def test_a_rest_conversation_gets_the_message_stored_only(demo):
    chat = Chat(demo)
    assert "a person will reply" in chat.say(HANDOFF)
    conversation = CONVERSATION_PREFIX + chat.sender  # "rest:...": the id goes into the URL as it is

    async def scenario():
        client = api(demo)
        try:
            await client.send(conversation, "We will call you today.", "rest", agent="alex")
            return await client.transcript(conversation)
        finally:
            await client.close()

    lines = run(scenario())
    assert [(line["sender"], line["text"]) for line in lines][-2:] == [
        ("bot", lines[-2]["text"]), ("agent", "We will call you today.")]
    assert HANDOFF in [line["text"] for line in lines]


def test_a_wrong_key_is_refused_by_rasa(demo):
    async def scenario():
        client = RasaApi(demo.rasa_url, "not-the-key-" + "x" * 32)
        try:
            with pytest.raises(RasaApiError) as refused:
                await client.send("0" * 32, "hello", "socketio", agent="alex")
            return refused.value.status
        finally:
            await client.close()

    assert run(scenario()) == 401


def test_the_feed_sees_the_debtors_messages_within_two_seconds_with_the_date_of_birth_withheld(demo):
    settings = demo.settings.event_broker()
    assert settings.kind == "sql"

    async def scenario():
        events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def read() -> None:
            async for event in broker_events(settings, from_now=False):
                events.put_nowait(event)

        reader = asyncio.create_task(read())
        socket, conversation = await web_chat(demo)
        try:
            while True:  # caught up with what the table held: nothing more for a moment
                try:
                    await asyncio.wait_for(events.get(), 0.5)
                except TimeoutError:
                    break
            seen: list[dict[str, Any]] = []
            for message in ("hi", "ACC-1001", "12 March 1985", "what do I owe?"):
                sent = time.monotonic()
                await socket.emit("user_uttered", {"message": message, "session_id": conversation})
                while True:
                    event = await asyncio.wait_for(events.get(), max(0.0, sent + 2.0 - time.monotonic()))
                    if event["sender_id"] != conversation:
                        continue
                    seen.append(event)
                    if event["event"] == "user":
                        break
            users = [e for e in seen if e["event"] == "user"]
            assert [e["text"] for e in users] == ["hi", "ACC-1001", WITHHELD, "what do I owe?"]
            assert users[1]["metadata"]["client"].startswith("ip:") and users[0]["parse_data"]["intent"]["name"]
            assert not holds_date_of_birth(json.dumps(seen), "1985", "12 March")
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            await socket.close()

    run(scenario())


# --- what needs no server --------------------------------------------------------------------------------------------

def test_the_transcript_masks_a_date_of_birth_the_store_missed_and_shows_a_click_as_its_title():
    asks = "Thank you. And your date of birth, please? For example: 21 July 1970."
    events = [
        {"event": "action", "name": "action_listen", "timestamp": 1.0},
        {"event": "bot", "text": asks, "timestamp": 2.0, "metadata": {"utter_action": "utter_ask_date_of_birth"}},
        {"event": "user", "text": "it's 12/03/1985 I think", "timestamp": 3.0},
        {"event": "bot", "text": "To confirm it's you, please reply with your date of birth or your postcode.",
         "timestamp": 4.0, "data": {}},
        {"event": "user", "text": "10027", "timestamp": 5.0},
        {"event": "bot", "text": "Shall we?", "data": {"buttons": BUTTONS}, "metadata": {"agent": "alex"},
         "timestamp": 6.0},
        {"event": "user", "text": "/affirm", "timestamp": 7.0},
        {"event": "bot", "text": None, "data": {}, "timestamp": 8.0},  # nothing to show
        {"event": "user", "text": "my son was born on 1 May 2001", "timestamp": 9.0},  # not an answer to it
    ]
    assert transcript_of(events) == [
        {"sender": "bot", "text": asks, "at": "1970-01-01T00:00:02.000+00:00", "agent": None, "buttons": []},
        {"sender": "debtor", "text": f"it's {WITHHELD} I think", "at": "1970-01-01T00:00:03.000+00:00",
         "agent": None, "buttons": []},
        {"sender": "bot", "text": events[3]["text"], "at": "1970-01-01T00:00:04.000+00:00", "agent": None,
         "buttons": []},
        {"sender": "debtor", "text": WITHHELD, "at": "1970-01-01T00:00:05.000+00:00", "agent": None, "buttons": []},
        {"sender": "agent", "text": "Shall we?", "at": "1970-01-01T00:00:06.000+00:00", "agent": "alex",
         "buttons": BUTTONS},
        {"sender": "debtor", "text": "Yes", "at": "1970-01-01T00:00:07.000+00:00", "agent": None, "buttons": []},
        {"sender": "debtor", "text": "my son was born on 1 May 2001", "at": "1970-01-01T00:00:09.000+00:00",
         "agent": None, "buttons": []},
    ]


@pytest.mark.parametrize("conversation_id", ["a?b=1", "a#b", "a b", "a%2Fb", "x/../y", "..", "", "é"])
def test_an_id_that_would_reach_another_conversation_is_refused(conversation_id):
    with pytest.raises(ValueError):
        conversation_path(conversation_id)
    assert conversation_path("rest:jordan@example.com") == "/conversations/rest:jordan@example.com"
