"""Outbound SMS through Twilio's Messages API, on the real `twilio` library.

With no Twilio account configured, development values are used and messages go to the local stand-in
(`bot.sms.standin`) instead of Twilio, so `make run` and the tests never need a Twilio account. The
development auth token is this checkout's generated secret (bot.config), never a published constant: it
is what signs the SMS webhook, so a known value would let anyone text in as any number. Production
(BOT_ENV=production) has no development values at all.
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http import HttpClient
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from bot.config import DEVELOPMENT_SETTINGS, ConfigError, development_secret, is_production

# The library logs every request's headers at INFO (a dozen lines a text); our own log says what matters.
for _name in ("twilio.http_client", "twilio.async_http_client"):
    logging.getLogger(_name).setLevel(logging.WARNING)

# Development values: obviously fake, and never sent to the real Twilio (see SmsGateway._client). The auth
# token has no constant: it is bot.config.development_secret("TWILIO_AUTH_TOKEN"), random per checkout.
DEV_ACCOUNT_SID = DEVELOPMENT_SETTINGS["TWILIO_ACCOUNT_SID"]
DEV_FROM_NUMBER = DEVELOPMENT_SETTINGS["TWILIO_FROM_NUMBER"]
DEV_STANDIN_PORT = 5099
DEV_STANDIN_URL = f"http://127.0.0.1:{DEV_STANDIN_PORT}"
TWILIO_API_URL = "https://api.twilio.com"

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")


class SmsConfigError(ValueError):
    """The TWILIO_* settings are inconsistent; raised before anything is sent."""


class SmsSendError(Exception):
    """Twilio (or the stand-in) refused the message, or could not be reached (code None)."""

    def __init__(self, to: str, message: str, code: int | None = None, status: int | None = None):
        self.to, self.message, self.code, self.status = to, message, code, status
        super().__init__(f"SMS to {to} not sent: {self.detail}")

    @property
    def detail(self) -> str:
        return f"Twilio error {self.code}: {self.message}" if self.code else self.message


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    from_number: str  # E.164: the number messages come from and debtors text to
    api_base_url: str = ""  # "" = the real Twilio; otherwise a stand-in such as http://127.0.0.1:5099

    @property
    def is_development(self) -> bool:
        return self.account_sid == DEV_ACCOUNT_SID

    @property
    def base_url(self) -> str:
        return (self.api_base_url or TWILIO_API_URL).rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TwilioSettings:
        """TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER, TWILIO_API_BASE_URL.

        Without a sid and token: the development values (the token generated for this checkout), talking to
        the stand-in on 127.0.0.1 at TWILIO_STANDIN_PORT (default 5099, where `make run` starts it) unless
        TWILIO_API_BASE_URL says otherwise. With BOT_ENV=production all three must be set.
        """
        env = os.environ if environ is None else environ
        value = lambda name: env.get(name, "").strip()  # noqa: E731
        sid, token, base = value("TWILIO_ACCOUNT_SID"), value("TWILIO_AUTH_TOKEN"), value("TWILIO_API_BASE_URL")
        if bool(sid) != bool(token):
            raise SmsConfigError("set both TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, or neither (development)")
        development = not sid
        try:
            production = is_production()
        except ConfigError as error:
            raise SmsConfigError(str(error)) from None
        if production and (development or not value("TWILIO_FROM_NUMBER")):
            raise SmsConfigError("BOT_ENV=production: set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER"
                                 " (production has no Twilio stand-in)")
        settings = cls(
            account_sid=sid or DEV_ACCOUNT_SID,
            auth_token=token or development_secret("TWILIO_AUTH_TOKEN"),
            from_number=value("TWILIO_FROM_NUMBER") or DEV_FROM_NUMBER,
            api_base_url=base or (f"http://127.0.0.1:{value('TWILIO_STANDIN_PORT') or DEV_STANDIN_PORT}"
                                  if development else ""),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if not ACCOUNT_SID.match(self.account_sid):
            raise SmsConfigError(f"TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits, got {self.account_sid!r}")
        if not E164.match(self.from_number):
            raise SmsConfigError(f"TWILIO_FROM_NUMBER must be an E.164 number such as +15550000000,"
                                 f" got {self.from_number!r}")
        if self.api_base_url and not re.match(r"^https?://[^/\s]+", self.api_base_url):
            raise SmsConfigError(f"TWILIO_API_BASE_URL must be an http(s) URL, got {self.api_base_url!r}")


class SmsGateway:
    """Sends one SMS at a time; returns Twilio's message sid, or raises SmsSendError."""

    def __init__(self, settings: TwilioSettings, timeout: float = 15.0):
        settings.check()
        if settings.is_development and not settings.api_base_url:
            # Fake credentials would only earn an authentication error from the real Twilio: say why instead.
            raise SmsConfigError("development Twilio credentials: set TWILIO_API_BASE_URL to a stand-in,"
                                 " or TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
        self.settings = settings
        self.timeout = timeout
        self._sync_client: Client | None = None

    def _client(self, http_client: HttpClient) -> Client:
        client = Client(self.settings.account_sid, self.settings.auth_token, http_client=http_client)
        client.api.base_url = self.settings.base_url
        return client

    def _error(self, to: str, error: Exception) -> SmsSendError:
        if isinstance(error, TwilioRestException):
            # The library prefixes Twilio's own message with what it was doing; keep Twilio's words.
            message = str(error.msg).removeprefix("Unable to create record: ")
            return SmsSendError(to, message, code=error.code, status=error.status)
        return SmsSendError(to, f"could not reach {self.settings.base_url}: {error or type(error).__name__}")

    def send(self, to: str, body: str) -> str:
        """Synchronous, for the command line."""
        if self._sync_client is None:
            self._sync_client = self._client(TwilioHttpClient(timeout=self.timeout))
        try:
            message = self._sync_client.messages.create(to=to, from_=self.settings.from_number, body=body)
        except (TwilioRestException, requests.RequestException) as error:
            raise self._error(to, error) from error
        return message.sid

    async def send_async(self, to: str, body: str) -> str:
        """For the Rasa channel: aiohttp underneath, so the event loop is never blocked.

        A session per message, opened and closed in the running loop: no session outlives its loop.
        """
        async with AsyncTwilioHttpClient() as http_client:
            client = self._client(http_client)
            try:
                message = await asyncio.wait_for(
                    client.messages.create_async(to=to, from_=self.settings.from_number, body=body), self.timeout)
            except (TimeoutError, TwilioRestException, aiohttp.ClientError) as error:
                raise self._error(to, error) from error
        return message.sid
