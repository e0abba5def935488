"""SMS through Twilio: a webhook that only believes Twilio, carrier keywords, and replies that fit a text.

Differences from Rasa's stock Twilio channel, each for a reason:
- every request must carry a valid `X-Twilio-Signature` for the configured auth token, or it gets
  403 and nothing is processed: otherwise anyone could text "as" any debtor's number;
- a number's conversation id is random (`bot.services.sms`), not the number, so no other channel
  can name it;
- STOP and its kin opt the number out at once for every account it is on, with one confirmation;
  START opts back in; HELP answers; nothing else is sent to an opted-out number, but what it texts still
  reaches the assistant (recorded, and a dispute or a cease in it acted on);
- a MessageSid is handled once, remembered in the database (a webhook Twilio retries after a restart too);
- a text starting with `/` is a command only when it is a button just offered, and a turn that fails or
  says nothing gets an apology (`bot.channels.take_turn`); logs never show the number;
- replies go out through the real twilio library (`bot.sms.gateway`), split to SMS length, with
  buttons as numbered choices ("Reply 1 Yes, 2 No"), remembered in the database like the web's buttons.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from twilio.request_validator import RequestValidator

from bot.channels import Answering, take_turn
from bot.config import agency_name, agency_phone
from bot.domain import sms as texting
from bot.domain.inbound import apology, loggable_conversation, message_metadata
from bot.domain.phones import to_e164
from bot.services import choices, sms
from bot.services.unit_of_work import SqlUnitOfWork
from bot.sms.gateway import SmsGateway, TwilioSettings
from bot.sms.signature import signed_by_twilio

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def opted_out_reply() -> str:
    """The confirmation of STOP: the last text an opted-out number gets."""
    return (f"{agency_name()}: you're unsubscribed and will get no more texts from us. "
            "Reply START to resubscribe.")


def opted_in_reply() -> str:
    """The confirmation of START."""
    return f"{agency_name()}: you're subscribed to our texts again. Reply STOP to unsubscribe, HELP for help."


def help_reply() -> str:
    """The answer to HELP: who we are and how to reach a person."""
    return (f"{agency_name()}: automated assistant. Call {agency_phone()} to speak to a person. "
            "Reply STOP to unsubscribe.")


async def text_number(gateway: SmsGateway, phone: str, text: str) -> None:
    """Text a reply in as many SMS as it takes; an opted-out number gets nothing (confirmations go direct)."""
    with SqlUnitOfWork() as uow:
        opted_out = sms.is_opted_out(uow, phone)
    if opted_out:
        logger.info("not texting an opted-out number")
        return
    for part in texting.split_for_sms(text):
        await gateway.send_async(phone, part)


class SmsOutput(Answering, OutputChannel):
    """Texts the conversation's number; the name matches the input channel so domain.yml can address it.

    The buttons it offers (`Answering`, in the database) are what a numbered reply ("2") stands for.
    """

    @classmethod
    def name(cls) -> str:
        return "twilio"

    def __init__(self, gateway: SmsGateway, phone: str | None = None):
        self.gateway = gateway
        self.phone = phone  # known when answering a text; otherwise looked up from the conversation

    async def _text(self, conversation_id: str, text: str) -> None:
        phone = self.phone
        if phone is None:
            with SqlUnitOfWork() as uow:
                phone = sms.phone_of(uow, conversation_id)
        if phone is None:
            logger.warning("conversation %s is not an SMS conversation: nothing texted",
                           loggable_conversation(conversation_id))
            return
        await text_number(self.gateway, phone, text)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._text(recipient_id, text)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict[str, Any]],
                                     **kwargs: Any) -> None:
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

    def get_output_channel(self) -> OutputChannel:
        return SmsOutput(self.gateway)

    def _signed_by_twilio(self, request: Request, params: dict[str, str]) -> bool:
        return signed_by_twilio(self.validator, self.webhook_url or request.url, params,
                                request.headers.get("X-Twilio-Signature", ""))

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
            phone = sms.e164(params.get("From", ""))  # every number we look up or text is E.164
            if phone is None:  # empty, or not a phone number (a short code, an alphanumeric sender)
                logger.warning("an SMS whose sender is not a phone number was not handled")
                return response.text(EMPTY_TWIML, content_type="text/xml")
            try:
                message_sid = params.get("MessageSid", "")
                with SqlUnitOfWork() as uow:
                    repeated = bool(message_sid) and not choices.first_delivery(uow, message_sid)
                if repeated:
                    logger.info("a redelivered SMS webhook (same MessageSid) was not handled again")
                else:
                    await self._handle(phone, params.get("Body", ""), on_new_message)
            except Exception:  # a keyword or the number's records failed; Twilio gets its 200, the log the cause
                logger.exception("an SMS webhook failed")
                try:
                    await text_number(self.gateway, phone, apology(agency_phone()))
                except Exception:  # the database or Twilio is down: an opted-out number must not be texted blind
                    logger.exception("the apology for a failed SMS could not be sent")
            return response.text(EMPTY_TWIML, content_type="text/xml")

        return blueprint

    async def _handle(self, phone: str, body: str, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        keyword = texting.keyword_of(body)
        with SqlUnitOfWork() as uow:
            conversation_id = sms.conversation_for(uow, phone)
            if keyword in (texting.Keyword.OPT_OUT, texting.Keyword.OPT_IN):
                sms.set_opt_out(uow, phone, keyword is texting.Keyword.OPT_OUT, conversation_id)
        if keyword is texting.Keyword.OPT_OUT:
            await self.gateway.send_async(phone, opted_out_reply())  # the one text an opted-out number gets
            return
        if keyword is texting.Keyword.OPT_IN:
            await text_number(self.gateway, phone, opted_in_reply())
            return
        if keyword is texting.Keyword.HELP:
            await self.gateway.send_async(phone, help_reply())  # carriers require HELP to answer, opted out or not
            return
        # Anything else goes to the assistant, from an opted-out number too: it is recorded, and a dispute or a
        # "stop contacting me" in it is acted on; only the replies are withheld (`text_number`).

        async def say(text: str) -> None:
            await text_number(self.gateway, phone, text)

        metadata = message_metadata(None, f"phone:{to_e164(phone, None) or phone}")
        await take_turn(body, conversation_id, SmsOutput(self.gateway, phone), on_new_message,
                        input_channel=self.name(), metadata=metadata, say=say, numbered_choices=True)
