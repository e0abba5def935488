"""The REST channel (SPEC 5: `POST /webhooks/rest/webhook` with `{"sender", "message"}`), screened.

Differences from Rasa's `RestInput`, each for a reason:
- a sender is required: Rasa's files every sender-less request under one shared "default"
  conversation, so one caller could read what another had been told after verifying;
- a body that is not a JSON object gets 400 with what is expected, not a server error;
- the message is screened like every channel's (`bot.domain.inbound`); the input channel is always
  "rest" (Rasa's lets the caller name one) and the only metadata kept is a linked account reference.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

from bot.domain.inbound import APOLOGY, linked_metadata, screen

logger = logging.getLogger(__name__)

MAX_SENDER_CHARS = 128


def _bad_request(problem: str):
    return response.json({"error": problem, "expected": {"sender": "a conversation id", "message": "text"}},
                         status=400)


class ScreenedRestInput(RestInput):
    """Registered in credentials.yml as `bot.channels.rest.ScreenedRestInput`; keeps the name `rest`."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = Blueprint("screened_rest_webhook", __name__)

        @blueprint.route("/", methods=["GET"])
        async def health(_request: Request):
            return response.json({"status": "ok"})

        @blueprint.route("/webhook", methods=["POST"])
        async def receive(request: Request):
            try:
                payload = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                return _bad_request("the body must be a JSON object")
            if not isinstance(payload, dict):
                return _bad_request("the body must be a JSON object")
            sender = payload.get("sender")
            if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS:
                return _bad_request(f"sender must be a non-empty string of at most {MAX_SENDER_CHARS} characters")
            screened = screen(payload.get("message"))
            if screened.rejection:
                return response.json([{"recipient_id": sender, "text": screened.rejection}])
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(screened.text, collector, sender, input_channel=self.name(),
                                                 metadata=linked_metadata(payload.get("metadata"))))
            except Exception:  # the caller gets an answer, the server stays up, the log has the cause
                logger.exception("REST message from %s failed", sender)
                return response.json([*collector.messages, {"recipient_id": sender, "text": APOLOGY}])
            return response.json(collector.messages)

        return blueprint

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()
