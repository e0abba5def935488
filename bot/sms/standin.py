"""A local stand-in for Twilio, for development and tests: there is no real Twilio here.

- The API side: Twilio's Messages API (`POST /2010-04-01/Accounts/{sid}/Messages.json`) with its
  authentication, validation and error shapes; what was "sent" is kept in memory and listed at
  `GET /_standin/messages[?to=...]` (`DELETE` clears it). `PUT /_standin/unsubscribed/{number}` makes
  Twilio's own opt-out list refuse a number (error 21610), as after a debtor texted STOP to Twilio.
- The phone side: `simulate_phone` posts what a person types as Twilio's signed webhook to the Rasa
  server and prints the replies that arrive at the stand-in (`python -m bot sms`).

Run it with `python -m bot.sms.standin --port 5099`, or from code with `StandIn` (a subprocess). It takes
the credentials it accepts from TWILIO_* in its environment (the auth token never in argv, where `ps`
shows it), by default this checkout's development values. Development only: it refuses to run with
BOT_ENV=production.
"""
from __future__ import annotations

import argparse
import hmac
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any, TextIO

import requests
from aiohttp import BasicAuth, web
from twilio.request_validator import RequestValidator

from bot.config import PROJECT_ROOT, ConfigError, is_production
from bot.domain.sms import SINGLE_SMS_GSM7, SINGLE_SMS_UCS2, is_gsm7, sms_length
from bot.sms.gateway import E164, SmsConfigError, TwilioSettings

API_VERSION = "2010-04-01"
MAX_BODY = 1600  # Twilio's limit for one (concatenated) message


# ---- the API side -------------------------------------------------------------------------------

def segments(body: str) -> int:
    """How many SMS segments Twilio would bill: GSM-7 160/153 characters, otherwise UCS-2 70/67."""
    single, multi = (SINGLE_SMS_GSM7, 153) if is_gsm7(body) else (SINGLE_SMS_UCS2, 67)
    units = sms_length(body)
    return 1 if units <= single else -(-units // multi)


def _error(status: int, code: int, message: str, **headers: str) -> web.Response:
    body = {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}
    return web.json_response(body, status=status, headers=headers)


def _authenticated_sid(request: web.Request) -> str | None:
    """The account sid of valid HTTP basic credentials, else None."""
    try:
        auth = BasicAuth.decode(request.headers.get("Authorization", ""))
    except ValueError:
        return None
    config = request.app["config"]
    good = hmac.compare_digest(auth.login.encode(), config.account_sid.encode()) & hmac.compare_digest(
        auth.password.encode(), config.auth_token.encode())
    return auth.login if good else None


def _refusal(form: Any, config: TwilioSettings, unsubscribed: set[str]) -> web.Response | None:
    """Twilio's answer to a message it would not accept, in the order Twilio checks."""
    to, sender, body = form.get("To", "").strip(), form.get("From", "").strip(), form.get("Body", "")
    if not to:
        return _error(400, 21604, "A 'To' phone number is required.")
    if not E164.match(to):
        return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
    if not sender:
        return _error(400, 21603, "A 'From' phone number is required.")
    if sender != config.from_number:
        return _error(400, 21606, f"The From phone number {sender} is not a valid, SMS-capable inbound phone number"
                                  " or short code for your account.")
    if not body.strip():
        return _error(400, 21602, "Message body is required.")
    if len(body) > MAX_BODY:
        return _error(400, 21617, f"The concatenated message body exceeds the {MAX_BODY} character limit.")
    if to in unsubscribed:
        return _error(400, 21610, "Attempt to send to unsubscribed recipient")
    return None


def _text(form: Any, name: str) -> str:
    """A form field as text, "" if absent or a file (Twilio's Messages API takes text fields only)."""
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


async def create_message(request: web.Request) -> web.Response:
    """POST Messages.json: queue a message as Twilio would, or refuse it with Twilio's error."""
    config: TwilioSettings = request.app["config"]
    sid = _authenticated_sid(request)
    if sid is None:
        return _error(401, 20003, "Authenticate", **{"WWW-Authenticate": 'Basic realm="Twilio API"'})
    if request.match_info["account_sid"] != sid:
        return _error(404, 20404, f"The requested resource {request.path} was not found")
    form = await request.post()
    refusal = _refusal(form, config, request.app["unsubscribed"])
    if refusal is not None:
        return refusal
    message_sid = "SM" + secrets.token_hex(16)
    created = format_datetime(datetime.now(UTC).replace(microsecond=0), usegmt=False)
    uri = f"/{API_VERSION}/Accounts/{sid}/Messages/{message_sid}"
    message = {
        "sid": message_sid, "account_sid": sid, "to": _text(form, "To").strip(), "from": _text(form, "From").strip(),
        "body": _text(form, "Body"), "status": "queued", "direction": "outbound-api", "api_version": API_VERSION,
        "date_created": created, "date_updated": created, "date_sent": None,
        "num_segments": str(segments(_text(form, "Body"))), "num_media": "0", "price": None, "price_unit": "USD",
        "error_code": None, "error_message": None, "messaging_service_sid": None, "uri": f"{uri}.json",
        "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
    }
    request.app["messages"].append(message)
    return web.json_response(message, status=201)


async def list_messages(request: web.Request) -> web.Response:
    """The messages sent so far (to one number with ?to=), oldest first."""
    to = request.query.get("to")
    messages = [m for m in request.app["messages"] if to is None or m["to"] == to]
    # The pid lets StandIn tell its own server from another one already on the port.
    return web.json_response(messages, headers={"X-Standin-Pid": str(os.getpid())})


async def clear_messages(request: web.Request) -> web.Response:
    """Forget the messages sent so far."""
    count = len(request.app["messages"])
    request.app["messages"].clear()
    return web.json_response({"deleted": count})


async def unsubscribe(request: web.Request) -> web.Response:
    """Put a number on Twilio's own opt-out list, as after it texted STOP: texts to it fail (error 21610)."""
    request.app["unsubscribed"].add(request.match_info["number"])
    return web.json_response(sorted(request.app["unsubscribed"]))


async def resubscribe(request: web.Request) -> web.Response:
    """Undo `unsubscribe`: the number may be texted again."""
    request.app["unsubscribed"].discard(request.match_info["number"])
    return web.json_response(sorted(request.app["unsubscribed"]))


def make_app(config: TwilioSettings) -> web.Application:
    """The stand-in as an aiohttp application; `config` holds the credentials and number it accepts."""
    app = web.Application()
    app["config"], app["messages"], app["unsubscribed"] = config, [], set()
    app.router.add_post(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json", create_message)
    app.router.add_get("/_standin/messages", list_messages)
    app.router.add_delete("/_standin/messages", clear_messages)
    app.router.add_put("/_standin/unsubscribed/{number}", unsubscribe)
    app.router.add_delete("/_standin/unsubscribed/{number}", resubscribe)
    return app


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.sms.standin`: serve until interrupted; the exit status."""
    try:
        if is_production():
            print("the Twilio stand-in is for development only; it never runs with BOT_ENV=production",
                  file=sys.stderr)
            return 2
        defaults = TwilioSettings.from_env()
    except (SmsConfigError, ConfigError) as error:
        print(error, file=sys.stderr)
        return 2 if isinstance(error, ConfigError) else 1
    parser = argparse.ArgumentParser(
        prog="python -m bot.sms.standin", description="A local stand-in for Twilio. It accepts the credentials"
        " in TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, by default this checkout's development ones.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument("--from-number", default=defaults.from_number, help="the only From number accepted")
    args = parser.parse_args(argv)
    config = TwilioSettings(defaults.account_sid, defaults.auth_token, args.from_number)
    try:
        config.check()
    except SmsConfigError as error:
        print(error, file=sys.stderr)
        return 1
    ready = (f"Twilio stand-in on http://{args.host}:{args.port} (account {config.account_sid},"
             f" from {config.from_number}); sent messages at /_standin/messages")
    # run_app calls `print` once the socket is listening; SIGINT and SIGTERM stop it cleanly.
    web.run_app(make_app(config), host=args.host, port=args.port, access_log=None, shutdown_timeout=2,
                print=lambda _banner: print(ready, flush=True))
    return 0


# ---- running it from other code -----------------------------------------------------------------

def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StandIn:
    """The stand-in as a subprocess on a free port (or a given one); a context manager.

    `settings` are the TwilioSettings that point the gateway at it; `environment()` the same as TWILIO_*
    variables for child processes. Pass a different `auth_token` to make every send fail authentication.
    """

    def __init__(self, account_sid: str | None = None, auth_token: str | None = None,
                 from_number: str | None = None, port: int | None = None, host: str = "127.0.0.1",
                 log_file: Path | None = None):
        if is_production():
            raise ConfigError("the Twilio stand-in never runs with BOT_ENV=production")
        defaults = TwilioSettings.from_env({})  # the development values (this checkout's token)
        self.port = port or free_port()
        self.host = host
        self.settings = TwilioSettings(account_sid or defaults.account_sid, auth_token or defaults.auth_token,
                                       from_number or defaults.from_number, api_base_url=self.url)
        self.settings.check()
        self.log_file = log_file  # None: kept in a temporary file, shown if it fails to start
        self._process: subprocess.Popen | None = None
        self._output: Any = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def environment(self) -> dict[str, str]:
        return {"TWILIO_ACCOUNT_SID": self.settings.account_sid, "TWILIO_AUTH_TOKEN": self.settings.auth_token,
                "TWILIO_FROM_NUMBER": self.settings.from_number, "TWILIO_API_BASE_URL": self.url}

    def start(self, timeout: float = 20) -> StandIn:
        if self.log_file:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._output = open(self.log_file, "a+b") if self.log_file else tempfile.TemporaryFile()  # noqa: SIM115
        s = self.settings
        # The credentials go in the environment: argv is world-readable (ps, /proc/PID/cmdline).
        credentials = {"TWILIO_ACCOUNT_SID": s.account_sid, "TWILIO_AUTH_TOKEN": s.auth_token}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bot.sms.standin", "--host", self.host, "--port", str(self.port),
             "--from-number", s.from_number],
            cwd=PROJECT_ROOT, env={**os.environ, **credentials, "PYTHONPATH": str(PROJECT_ROOT)},
            stdout=self._output, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"the Twilio stand-in exited with {self._process.returncode}:\n{self._log()}")
            try:
                answer = requests.get(f"{self.url}/_standin/messages", timeout=1)
                if answer.status_code == 200 and answer.headers.get("X-Standin-Pid") == str(self._process.pid):
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"the Twilio stand-in did not answer on {self.url} within {timeout:.0f} s")
            time.sleep(0.1)

    def _log(self) -> str:
        self._output.seek(0)
        return self._output.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        if self._output is not None:
            self._output.close()
            self._output = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        return sent_messages(self.url, to)

    def clear(self) -> None:
        requests.delete(f"{self.url}/_standin/messages", timeout=5).raise_for_status()

    def unsubscribe(self, number: str) -> None:
        """Twilio's own opt-out list: sends to `number` fail with 21610 until resubscribed."""
        requests.put(f"{self.url}/_standin/unsubscribed/{number}", timeout=5).raise_for_status()

    def resubscribe(self, number: str) -> None:
        requests.delete(f"{self.url}/_standin/unsubscribed/{number}", timeout=5).raise_for_status()


def sent_messages(standin_url: str, to: str | None = None) -> list[dict[str, Any]]:
    """The messages a running stand-in has accepted (to one number if `to` is given)."""
    response = requests.get(f"{standin_url.rstrip('/')}/_standin/messages", params={"to": to} if to else None,
                            timeout=5)
    response.raise_for_status()
    return response.json()


# ---- the phone side -----------------------------------------------------------------------------

def inbound_sms(settings: TwilioSettings, from_number: str, body: str) -> dict[str, str]:
    """The form fields Twilio posts to a messaging webhook for one incoming SMS."""
    sid = "SM" + secrets.token_hex(16)
    return {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "SmsStatus": "received",
            "AccountSid": settings.account_sid, "From": from_number, "To": settings.from_number, "Body": body,
            "NumMedia": "0", "NumSegments": str(segments(body)), "ApiVersion": API_VERSION}


def signed_headers(settings: TwilioSettings, url: str, params: dict[str, str]) -> dict[str, str]:
    """Twilio's signature over the exact URL posted to and the form fields, as the channel checks it."""
    return {"X-Twilio-Signature": RequestValidator(settings.auth_token).compute_signature(url, params)}


def simulate_phone(number: str, lines: Iterable[str], out: TextIO, *, settings: TwilioSettings, rasa_url: str,
                   standin_url: str, reply_timeout: float = 15.0, quiet: float = 1.5,
                   prompt: bool = False) -> int:
    """A phone texting the assistant: each line goes to Rasa as Twilio would post it; replies are printed.

    Replies are read from the stand-in (what the assistant "sent" to `number`): polled until `quiet`
    seconds pass with nothing new after a reply, or `reply_timeout` with none. Returns 1 when Rasa
    refused a webhook or could not be reached, else 0.
    """
    webhook = f"{rasa_url.rstrip('/')}/webhooks/twilio/webhook"
    seen = {m["sid"] for m in sent_messages(standin_url, number)}  # earlier replies are not shown again
    failed = False
    out.write(f"texting {webhook} as {number} (to {settings.from_number}); replies from {standin_url}\n")
    if prompt:
        out.write("you> ")
        out.flush()
    for line in lines:
        text = line.rstrip("\r\n")
        if text.strip():
            params = inbound_sms(settings, number, text)
            try:
                response = requests.post(webhook, data=params, headers=signed_headers(settings, webhook, params),
                                         timeout=reply_timeout)
                if response.status_code >= 300:
                    failed = True
                    out.write(f"(the assistant refused the message: HTTP {response.status_code}"
                              f" {response.text[:200]})\n")
                else:
                    _print_replies(number, standin_url, seen, out, reply_timeout, quiet)
            except requests.RequestException as error:
                failed = True
                out.write(f"(could not reach {webhook}: {error})\n")
        if prompt:
            out.write("you> ")
        out.flush()
    return 1 if failed else 0


def _print_replies(number: str, standin_url: str, seen: set[str], out: TextIO, timeout: float,
                   quiet: float) -> None:
    """Print new replies as they arrive (none is not an error: a person may have the conversation)."""
    start = last = time.monotonic()
    got_any = False
    while True:
        for message in sent_messages(standin_url, number):
            if message["sid"] not in seen:
                seen.add(message["sid"])
                got_any, last = True, time.monotonic()
                out.write(f"bot> {message['body']}\n")
                out.flush()
        now = time.monotonic()
        if (got_any and now - last >= quiet) or now - start >= timeout:
            break
        time.sleep(0.2)
    if not got_any:
        out.write(f"(no reply within {timeout:.0f} s)\n")


if __name__ == "__main__":
    sys.exit(main())
