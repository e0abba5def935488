"""The SMS gateway on the real twilio library, against the local Twilio stand-in over HTTP; the phone simulator."""
from __future__ import annotations

import asyncio
import dataclasses
import io
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

import pytest
from twilio.request_validator import RequestValidator

from bot.config import development_secret
from bot.sms.gateway import (
    DEV_ACCOUNT_SID,
    DEV_FROM_NUMBER,
    DEV_STANDIN_URL,
    SmsConfigError,
    SmsGateway,
    SmsSendError,
    TwilioSettings,
)
from bot.sms.standin import (
    StandIn,
    free_port,
    inbound_sms,
    segments,
    signed_headers,
    simulate_phone,
)

JORDAN = "+15551230001"


@pytest.fixture(scope="module")
def running_standin() -> Iterator[StandIn]:
    with StandIn() as standin:
        yield standin


@pytest.fixture
def standin(running_standin: StandIn) -> StandIn:
    running_standin.clear()
    return running_standin


def test_a_message_arrives_with_its_to_from_and_body(standin):
    sid = SmsGateway(standin.settings).send(JORDAN, "Hello from the gateway")
    assert re.fullmatch(r"SM[0-9a-f]{32}", sid)
    [message] = standin.messages()
    assert (message["sid"], message["to"], message["from"], message["body"]) == (
        sid, JORDAN, DEV_FROM_NUMBER, "Hello from the gateway")
    assert message["status"] == "queued" and message["account_sid"] == DEV_ACCOUNT_SID
    assert standin.messages(to="+15559999999") == []


def test_the_async_send_lets_the_event_loop_run_while_it_waits(standin):
    async def scenario() -> tuple[list[str], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        before = ticks
        gateway = SmsGateway(standin.settings)
        first = await gateway.send_async(JORDAN, "async 0")
        during = ticks - before
        rest = await asyncio.gather(*(gateway.send_async(JORDAN, f"async {n}") for n in (1, 2)))
        task.cancel()
        return [first, *rest], during

    sids, ticks_during_send = asyncio.run(scenario())
    # a blocking send never yields, so the ticker could not run while it waited for the stand-in (0 ticks);
    # how many times it ran depends on the machine's speed, so only "it ran" is asserted
    assert ticks_during_send > 0
    assert sorted(m["sid"] for m in standin.messages(to=JORDAN)) == sorted(sids)
    assert sorted(m["body"] for m in standin.messages()) == ["async 0", "async 1", "async 2"]


def test_a_wrong_auth_token_is_a_send_error_with_twilios_code(standin):
    gateway = SmsGateway(dataclasses.replace(standin.settings, auth_token="not-the-token"))
    with pytest.raises(SmsSendError) as refused:
        gateway.send(JORDAN, "hi")
    assert (refused.value.code, refused.value.status) == (20003, 401)
    assert "20003" in str(refused.value) and JORDAN in str(refused.value)
    with pytest.raises(SmsSendError) as refused_async:
        asyncio.run(gateway.send_async(JORDAN, "hi"))
    assert refused_async.value.code == 20003
    assert standin.messages() == []


@pytest.mark.parametrize("to, body, code", [
    ("12345", "hi", 21211),  # not E.164
    ("", "hi", 21604),  # no To at all
    (JORDAN, "", 21602),  # no body
    (JORDAN, "   ", 21602),
    (JORDAN, "x" * 1601, 21617),  # longer than Twilio concatenates
])
def test_the_standin_refuses_what_twilio_refuses(standin, to, body, code):
    with pytest.raises(SmsSendError) as refused:
        SmsGateway(standin.settings).send(to, body)
    assert (refused.value.code, refused.value.status) == (code, 400)
    assert standin.messages() == []


def test_the_standin_refuses_another_from_number_and_an_unsubscribed_recipient(standin):
    with pytest.raises(SmsSendError) as refused:
        SmsGateway(dataclasses.replace(standin.settings, from_number="+15557777777")).send(JORDAN, "hi")
    assert refused.value.code == 21606
    standin.unsubscribe(JORDAN)
    try:
        with pytest.raises(SmsSendError) as unsubscribed:
            SmsGateway(standin.settings).send(JORDAN, "hi")
        assert unsubscribed.value.code == 21610
    finally:
        standin.resubscribe(JORDAN)
    SmsGateway(standin.settings).send(JORDAN, "hi again")
    assert [m["body"] for m in standin.messages()] == ["hi again"]


def test_an_unreachable_api_is_a_send_error_too():
    settings = TwilioSettings(DEV_ACCOUNT_SID, development_secret("TWILIO_AUTH_TOKEN"), DEV_FROM_NUMBER,
                              f"http://127.0.0.1:{free_port()}")
    with pytest.raises(SmsSendError, match="could not reach") as refused:
        SmsGateway(settings, timeout=5).send(JORDAN, "hi")
    assert refused.value.code is None
    with pytest.raises(SmsSendError, match="could not reach"):
        asyncio.run(SmsGateway(settings, timeout=5).send_async(JORDAN, "hi"))


def test_settings_come_from_the_environment_with_marked_development_values():
    development = TwilioSettings.from_env({})
    assert development.is_development
    assert (development.account_sid, development.from_number, development.api_base_url) == (
        DEV_ACCOUNT_SID, DEV_FROM_NUMBER, DEV_STANDIN_URL)
    assert development.auth_token == development_secret("TWILIO_AUTH_TOKEN")  # this checkout's, not a constant
    assert TwilioSettings.from_env({"TWILIO_STANDIN_PORT": "6001"}).api_base_url == "http://127.0.0.1:6001"
    real = TwilioSettings.from_env({"TWILIO_ACCOUNT_SID": "AC" + "ab" * 16, "TWILIO_AUTH_TOKEN": "secret",
                                    "TWILIO_FROM_NUMBER": "+15550001111"})
    assert not real.is_development and real.api_base_url == "" and real.base_url == "https://api.twilio.com"
    with pytest.raises(SmsConfigError, match="both"):
        TwilioSettings.from_env({"TWILIO_ACCOUNT_SID": "AC" + "ab" * 16})
    with pytest.raises(SmsConfigError, match="E.164"):
        TwilioSettings.from_env({"TWILIO_FROM_NUMBER": "5550001111"})
    with pytest.raises(SmsConfigError, match="stand-in"):  # fake credentials are never sent to the real Twilio
        SmsGateway(dataclasses.replace(development, api_base_url=""))


def test_segments_are_counted_as_twilio_bills_them():
    assert segments("x" * 160) == 1 and segments("x" * 161) == 2 and segments("x" * 306) == 2
    assert segments("é" * 160) == 1  # é is in the GSM alphabet
    assert segments("ł" * 70) == 1 and segments("ł" * 71) == 2  # not GSM: UCS-2


def test_the_simulators_signature_validates_and_a_tampered_one_does_not():
    settings = TwilioSettings.from_env({})
    url = "http://127.0.0.1:5005/webhooks/twilio/webhook"
    params = inbound_sms(settings, JORDAN, "what do I owe?")
    assert (params["From"], params["To"], params["Body"], params["AccountSid"]) == (
        JORDAN, settings.from_number, "what do I owe?", settings.account_sid)
    assert re.fullmatch(r"SM[0-9a-f]{32}", params["MessageSid"])
    signature = signed_headers(settings, url, params)["X-Twilio-Signature"]
    validator = RequestValidator(settings.auth_token)
    assert validator.validate(url, params, signature)
    assert not validator.validate(url, {**params, "Body": "what do I owe? nothing"}, signature)
    assert not validator.validate(url.replace("5005", "5006"), params, signature)
    assert not RequestValidator("another-token").validate(url, params, signature)


class _ChannelStandIn(BaseHTTPRequestHandler):
    """What the Rasa Twilio channel does with a webhook: check the signature, answer through the Twilio API."""

    settings: TwilioSettings  # whose token signs; the replies go through the stand-in

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        form = dict(parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode(), keep_blank_values=True))
        url = f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"
        signature = self.headers.get("X-Twilio-Signature", "")
        if not RequestValidator(self.settings.auth_token).validate(url, form, signature):
            self.send_response(403)
            self.end_headers()
            return
        gateway = SmsGateway(self.settings)
        gateway.send(form["From"], f"you said: {form['Body']}")
        gateway.send(form["From"], "anything else?")
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.end_headers()
        self.wfile.write(b"<Response></Response>")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def channel(standin) -> Iterator[str]:
    handler = type("Handler", (_ChannelStandIn,), {"settings": standin.settings})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_simulator_texts_the_channel_and_prints_its_replies(standin, channel):
    SmsGateway(standin.settings).send(JORDAN, "an older message")  # already there: not shown again
    out = io.StringIO()
    status = simulate_phone(JORDAN, ["hello\n", "\n", "ACC-1001\n"], out, settings=standin.settings,
                            rasa_url=channel, standin_url=standin.url, reply_timeout=5, quiet=0.3)
    printed = out.getvalue()
    assert status == 0, printed
    assert [line for line in printed.splitlines() if line.startswith("bot> ")] == [
        "bot> you said: hello", "bot> anything else?", "bot> you said: ACC-1001", "bot> anything else?"]
    assert "older message" not in printed


def test_the_simulator_reports_a_refused_webhook(standin, channel):
    out = io.StringIO()
    wrong = dataclasses.replace(standin.settings, auth_token="not-the-channels-token")
    status = simulate_phone(JORDAN, ["hello\n"], out, settings=wrong, rasa_url=channel, standin_url=standin.url,
                            reply_timeout=2, quiet=0.3)
    assert status == 1 and "HTTP 403" in out.getvalue()
    assert standin.messages() == []
