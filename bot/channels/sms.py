"""SMS through Twilio: a webhook that only believes Twilio, carrier keywords, and replies that fit a text.

Differences from Rasa's stock Twilio channel, each for a reason:
- every request must carry a valid `X-Twilio-Signature` for the configured auth token, or it gets
  403 and nothing is processed: otherwise anyone could text "as" any debtor's number;
- a number's conversation id is random (`bot.services.sms`), not the number, so no other channel
  can name it;
- STOP and its kin opt the number out at once for every account it is on, with one confirmation;
  START opts back in; HELP answers; nothing else is sent to an opted-out number;
- replies go out through the real twilio library (`bot.sms.gateway`), split to SMS length, with
  buttons as numbered choices ("Reply 1 Yes, 2 No").
"""
from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from twilio.request_validator import RequestValidator

from bot.config import agency_name, agency_phone
from bot.domain import sms as texting
from bot.domain.inbound import APOLOGY, screen
from bot.services import sms
from bot.sms.gateway import SmsGateway, SmsSendError, TwilioSettings

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def opted_out_reply() -> str:
    return (f"{agency_name()}: you're unsubscribed and will get no more texts from us. "
            "Reply START to resubscribe.")


def opted_in_reply() -> str:
    return f"{agency_name()}: you're subscribed to our texts again. Reply STOP to unsubscribe, HELP for help."


def help_reply() -> str:
    return (f"{agency_name()}: automated assistant. Call {agency_phone()} to speak to a person. "
            "Reply STOP to unsubscribe.")


async def text_number(gateway: SmsGateway, phone: str, text: str) -> None:
    """Text a reply in as many SMS as it takes; an opted-out number gets nothing (confirmations go direct)."""
    if sms.is_opted_out(phone):
        logger.info("not texting an opted-out number")
        return
    for part in texting.split_for_sms(text):
        await gateway.send_async(phone, part)


class _Recent(OrderedDict):
    """The most recent entries only: what a long-running server keeps in memory without growing."""

    def __init__(self, size: int = 10_000):
        super().__init__()
        self.size = size

    def remember(self, key: str, value: Any = None) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class _RecentChoices:
    """The numbered choices last offered in each conversation, so that a reply of "2" means the second.

    Kept in memory: after a restart a bare number is simply read as text.
    """

    def __init__(self):
        self._offers = _Recent()

    def offer(self, conversation_id: str, payloads: list[str]) -> None:
        self._offers.remember(conversation_id, payloads)

    def resolve(self, conversation_id: str, reply: str) -> str:
        payload = texting.chosen_payload(reply, self._offers.pop(conversation_id, []))
        return payload if payload is not None else reply


class SmsOutput(OutputChannel):
    """Texts the conversation's number; the name matches the input channel so domain.yml can address it."""

    @classmethod
    def name(cls) -> str:
        return "twilio"

    def __init__(self, gateway: SmsGateway, choices: _RecentChoices, phone: str | None = None):
        self.gateway = gateway
        self.choices = choices
        self.phone = phone  # known when answering a text; otherwise looked up from the conversation

    async def _text(self, conversation_id: str, text: str) -> None:
        phone = self.phone or sms.phone_of(conversation_id)
        if phone is None:
            logger.warning("conversation %s is not an SMS conversation: nothing texted", conversation_id)
            return
        await text_number(self.gateway, phone, text)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._text(recipient_id, text)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict[str, Any]],
                                     **kwargs: Any) -> None:
        self.choices.offer(recipient_id, [str(button.get("payload") or button.get("title")) for button in buttons])
        await self._text(recipient_id, texting.with_numbered_choices(text, [str(b.get("title")) for b in buttons]))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        await self._text(recipient_id, image)

    async def send_attachment(self, recipient_id: str, attachment: str, **kwargs: Any) -> None:
        await self._text(recipient_id, str(attachment))


class SmsInput(InputChannel):
    """Registered in credentials.yml as `bot.channels.sms.SmsInput`; served at /webhooks/twilio/webhook.

    Settings come from the environment (TWILIO_*, see bot.sms.gateway). `webhook_url` (or TWILIO_WEBHOOK_URL)
    is the public URL Twilio posts to, which the signature covers; behind a proxy it differs from the URL
    this server sees.
    """

    @classmethod
    def name(cls) -> str:
        return "twilio"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(TwilioSettings.from_env(), credentials.get("webhook_url") or os.environ.get("TWILIO_WEBHOOK_URL"))

    def __init__(self, settings: TwilioSettings, webhook_url: str | None = None):
        self.settings = settings
        self.webhook_url = webhook_url or None
        self.validator = RequestValidator(settings.auth_token)
        self.gateway = SmsGateway(settings)
        self.choices = _RecentChoices()
        self._seen = _Recent()  # MessageSids handled: a redelivery is not a new text

    def get_output_channel(self) -> OutputChannel:
        return SmsOutput(self.gateway, self.choices)

    def _signed_by_twilio(self, request: Request, params: dict[str, str]) -> bool:
        signature = request.headers.get("X-Twilio-Signature", "")
        return bool(signature) and self.validator.validate(self.webhook_url or request.url, params, signature)

    def _is_redelivery(self, message_sid: str) -> bool:
        if not message_sid:
            return False
        if message_sid in self._seen:
            return True
        self._seen.remember(message_sid)
        return False

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("sms_webhook", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(_request: Request):
            return response.json({"status": "ok"})

        @blueprint.route("/webhook", methods=["POST"])
        async def receive(request: Request):
            # Parsed here rather than by Sanic, which drops empty fields (an MMS has an empty Body) and so
            # would break the signature, which covers every field.
            params = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
            if not self._signed_by_twilio(request, params):
                logger.warning("refused an SMS webhook without a valid Twilio signature from %s", request.ip)
                return response.text("Forbidden: invalid or missing X-Twilio-Signature", status=403)
            phone = params.get("From", "").strip()
            if not phone or self._is_redelivery(params.get("MessageSid", "")):
                return response.text(EMPTY_TWIML, content_type="text/xml")
            try:
                await self._handle(phone, params.get("Body", ""), on_new_message)
            except SmsSendError:
                logger.exception("a reply to %s could not be sent", phone)
            except Exception:  # the texter gets an answer, Twilio gets its 200, the log has the cause
                logger.exception("an SMS from %s failed", phone)
                await text_number(self.gateway, phone, APOLOGY)
            return response.text(EMPTY_TWIML, content_type="text/xml")

        return blueprint

    async def _handle(self, phone: str, body: str, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        keyword = texting.keyword_of(body)
        conversation_id = sms.conversation_for(phone)
        if keyword is texting.Keyword.OPT_OUT:
            sms.set_opt_out(phone, True, conversation_id)
            await self.gateway.send_async(phone, opted_out_reply())  # the one text an opted-out number gets
            return
        if keyword is texting.Keyword.OPT_IN:
            sms.set_opt_out(phone, False, conversation_id)
            await text_number(self.gateway, phone, opted_in_reply())
            return
        if keyword is texting.Keyword.HELP:
            await self.gateway.send_async(phone, help_reply())  # carriers require HELP to answer, opted out or not
            return
        if sms.is_opted_out(phone):
            logger.info("an opted-out number texted; nothing is sent until it texts START")
            return
        screened = screen(body)
        if screened.rejection:
            await text_number(self.gateway, phone, screened.rejection)
            return
        text = self.choices.resolve(conversation_id, screened.text)
        await on_new_message(UserMessage(text, SmsOutput(self.gateway, self.choices, phone), conversation_id,
                                         input_channel=self.name()))
