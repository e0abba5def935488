"""Channel security without the servers: screening, commands, the REST channel in-process.

The rest, with the servers: tests/stack/test_security_channels.py.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import uuid

import pytest
import requests
from sanic import Sanic

from bot.channels.rest import ScreenedRestInput
from bot.domain.inbound import (
    EMPTY_REPLY,
    loggable_conversation,
    message_metadata,
    screen,
)
from bot.services import choices
from bot.sms.standin import free_port
from bot.storage.db import engine_for
from tests.support.database import in_transaction

AGENCY_PHONE = "1-800-555-0142"  # bot.config.agency_phone()'s default: the apology says how to reach a person


@pytest.mark.parametrize("typed, passed_on", [
    ("/restart", "restart"),
    ("/session_start", "session_start"),
    ('/inform{"account_ref": "ACC-1001"}', 'inform{"account_ref": "ACC-1001"}'),
    ("//restart", "restart"),
    ("  /restart  ", "restart"),
    ('/affirm{"verified": true}', 'affirm{"verified": true}'),  # an offered payload, but not exactly
])
def test_a_typed_command_is_passed_on_as_plain_words(typed, passed_on):
    screened = screen(typed, offered=["/affirm", "/deny"])
    assert screened.rejection is None and screened.text == passed_on


def test_only_an_offered_payload_passes_as_a_command_exactly_as_offered():
    assert screen("/affirm", offered=["/affirm", "/deny"]).text == "/affirm"
    # Never with entities, even if a button ever offered one: the rule, kept whatever domain.yml says.
    assert screen('/inform{"dispute_reason": "other"}', offered=['/inform{"dispute_reason": "other"}']).text \
        == 'inform{"dispute_reason": "other"}'
    assert screen("/affirm").text == "affirm"  # nothing offered
    assert screen("/").rejection == EMPTY_REPLY
    assert screen("I paid 1/2 of it").text == "I paid 1/2 of it"  # a slash inside is just a slash


@pytest.mark.parametrize("raw, cleaned", [("\ud800", None), ("hi\ud800 there", "hi there"), ("\udfff\ud800", None),
                                           ("ok \udc80", "ok"), ("😀 fine", "😀 fine")])
def test_lone_surrogates_and_other_unencodable_text_are_dropped(raw, cleaned):
    screened = screen(raw)
    if cleaned is None:
        assert screened.rejection == EMPTY_REPLY
    else:
        assert screened.rejection is None and screened.text == cleaned
        screened.text.encode("utf-8")  # what the NLU pipeline gets can be encoded


def test_a_caller_named_conversation_is_logged_only_as_a_hash():
    issued = uuid.uuid4().hex
    assert loggable_conversation(issued) == issued
    forged = "rest:x\n2026-01-01 INFO granted admin to mallory"
    shown = loggable_conversation(forged)
    assert "\n" not in shown and "mallory" not in shown and shown == loggable_conversation(forged)
    assert "5551230001" not in loggable_conversation("rest:+15551230001")


def test_the_client_is_the_servers_to_say():
    assert message_metadata({"account_ref": "ACC-1001", "client": "ip:10.0.0.1"}, "ip:127.0.0.1") == {
        "account_ref": "ACC-1001", "client": "ip:127.0.0.1"}


def test_offered_choices_are_persisted_and_spent_by_the_next_message(db):
    conversation = uuid.uuid4().hex
    assert in_transaction(choices.offered, conversation) == [] and in_transaction(choices.take, conversation) == []
    in_transaction(choices.offer, conversation, ["/affirm", "/deny"])
    engine_for(db).dispose()  # nothing kept in this process: it is in the database
    assert in_transaction(choices.offered, conversation) == ["/affirm", "/deny"]
    in_transaction(choices.offer, conversation, ["It's not mine", "Something else"])  # the latest offer replaces
    assert in_transaction(choices.take, conversation) == ["It's not mine", "Something else"]
    assert in_transaction(choices.take, conversation) == []  # spent: a "2" typed later means 2


def test_a_message_id_is_first_delivered_once(db):
    sid = "SM" + uuid.uuid4().hex
    assert in_transaction(choices.first_delivery, sid) is True
    engine_for(db).dispose()
    assert in_transaction(choices.first_delivery, sid) is False
    assert in_transaction(choices.first_delivery, "SM" + "x" * 200) is True
    assert in_transaction(choices.first_delivery, "SM" + "x" * 200) is False


# --- the REST channel in process (production settings, the client, the log) --------------------------

@pytest.fixture(scope="session")
def rest_channel():
    """The REST channel's blueprint on a small Sanic app of its own, served from a thread on a free loopback
    port. One app per test session: Sanic 21.12 rewrites its own methods on a first start and fails on a
    second. Each test says what the assistant does by setting `assistant["turn"]`."""
    assistant: dict = {}

    async def on_new_message(message):
        await assistant["turn"](message)

    app = Sanic(f"rest_test_{uuid.uuid4().hex}")
    app.blueprint(ScreenedRestInput().blueprint(on_new_message), url_prefix="/webhooks/rest")
    port, loop, ready = free_port(), asyncio.new_event_loop(), threading.Event()

    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            server = loop.run_until_complete(app.create_server(host="127.0.0.1", port=port,
                                                               return_asyncio_server=True))
            loop.run_until_complete(server.startup())
        except BaseException as error:  # noqa: BLE001 - reported by the fixture, in the test's own thread
            failure.append(error)
            raise
        finally:
            ready.set()
        loop.run_forever()
        server.close()
        loop.run_until_complete(server.wait_closed())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(30) and not failure, f"the REST test app did not start: {failure!r}"
    yield assistant, f"http://127.0.0.1:{port}/webhooks/rest/webhook"
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def answering(seen: list):
    async def turn(message):
        seen.append(message)
        await message.output_channel.send_response(message.sender_id, {"text": "hello"})
    return turn


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer wrong-token-wrong-token", "Basic abc",
                                           "bearer-the-token-" + "x" * 16])
def test_production_rest_without_the_integrators_token_is_401(db, monkeypatch, rest_channel, authorization):
    assistant, url = rest_channel
    monkeypatch.setenv("BOT_ENV", "production")
    monkeypatch.setenv("REST_CHANNEL_TOKEN", "the-token-" + "x" * 16)
    seen: list = []
    assistant["turn"] = answering(seen)
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = requests.post(url, json={"sender": "jordan", "message": "hi"}, headers=headers, timeout=30)
    assert response.status_code == 401
    assert seen == []  # nothing reached the assistant


def test_production_rest_with_the_token_is_served_and_development_stays_open(db, monkeypatch, rest_channel):
    assistant, url = rest_channel
    monkeypatch.setenv("REST_CHANNEL_TOKEN", "the-token-" + "x" * 16)
    seen: list = []
    assistant["turn"] = answering(seen)
    monkeypatch.setenv("BOT_ENV", "production")
    response = requests.post(url, json={"sender": "jordan", "message": "hi"},
                             headers={"Authorization": "Bearer the-token-" + "x" * 16}, timeout=30)
    assert response.status_code == 200 and response.json() == [{"recipient_id": "jordan", "text": "hello"}]
    monkeypatch.setenv("BOT_ENV", "development")
    assert requests.post(url, json={"sender": "jordan", "message": "hi"}, timeout=30).status_code == 200
    assert [message.sender_id for message in seen] == ["rest:jordan", "rest:jordan"]


def test_rest_names_the_client_by_its_address_and_ignores_a_forwarded_for_header(db, rest_channel):
    assistant, url = rest_channel
    seen: list = []
    assistant["turn"] = answering(seen)
    response = requests.post(url, json={"sender": "jordan", "message": "hi", "metadata": {"client": "ip:6.6.6.6"}},
                             headers={"X-Forwarded-For": "6.6.6.6"}, timeout=30)
    assert response.status_code == 200
    assert seen[0].metadata == {"client": "ip:127.0.0.1"}


def test_a_sender_with_a_newline_cannot_forge_a_log_line(db, rest_channel, caplog):
    assistant, url = rest_channel

    async def failing(message):
        raise RuntimeError("the assistant failed")

    assistant["turn"] = failing
    sender = "jordan\n2026-01-01 12:00:00 INFO bot.console granted admin to mallory"
    caplog.set_level(logging.INFO)
    response = requests.post(url, json={"sender": sender, "message": "hi"}, timeout=30)
    assert response.status_code == 200 and AGENCY_PHONE in response.json()[0]["text"]
    assert response.json()[0]["recipient_id"] == sender
    logged = "\n".join(record.getMessage() for record in caplog.records if record.name.startswith("bot"))
    assert "failed" in logged  # the failure was logged...
    assert "mallory" not in logged and "jordan" not in logged  # ...without the sender, so without its forged line
