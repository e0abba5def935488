"""The REST channel (SPEC 5: `POST /webhooks/rest/webhook` with `{"sender", "message"}`), screened.

Differences from Rasa's `RestInput`, each for a reason:
- a sender is required: Rasa's files every sender-less request under one shared "default"
  conversation, so one caller could read what another had been told after verifying;
- the conversation is `rest:<sender>`, never the sender itself: a conversation id is bound to its channel,
  so no REST caller can name a web chat or SMS conversation and step into it (web and SMS ids are 32 hex
  digits); the reply names the sender as given;
- in production (BOT_ENV=production) a caller needs `Authorization: Bearer <REST_CHANNEL_TOKEN>`: the
  channel is for an integrator, not the public; development stays open so the README's curl examples work;
- a body that is not a JSON object gets 400 with what is expected, not a server error;
- the message is screened like every channel's (`bot.channels.take_turn`); the input channel is always
  "rest" (Rasa's lets the caller name one) and the metadata is the linked account reference and the
  client's address, as the server sees it;
- a raw sender never reaches a log line (a newline in it would forge one).
"""
from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request

from bot.channels import Answering, peer_client, take_turn
from bot.config import is_production, secret
from bot.domain.inbound import message_metadata

MAX_SENDER_CHARS = 128
CONVERSATION_PREFIX = "rest:"


def conversation_of(sender: str) -> str:
    """The conversation a REST sender speaks in: its own namespace, which no other channel's ids can enter."""
    return CONVERSATION_PREFIX + sender


class RestOutput(Answering, CollectingOutputChannel):
    """Collects the turn's messages for the HTTP response, recording the buttons it offers."""


def _bad_request(problem: str):
    return response.json({"error": problem, "expected": {"sender": "a conversation id", "message": "text"}},
                         status=400)


def _authorised(request: Request) -> bool:
    """Production: the integrator's bearer token, compared in constant time. Development: anyone."""
    if not is_production():
        return True
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(),
                                                              secret("REST_CHANNEL_TOKEN").encode())


def _encodable(text: str) -> bool:
    """Whether the text can be stored and answered: a lone UTF-16 surrogate cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
            if not _authorised(request):
                return response.json({"error": "a valid Authorization: Bearer token is required"}, status=401,
                                     headers={"WWW-Authenticate": "Bearer"})
            try:
                payload = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                return _bad_request("the body must be a JSON object")
            if not isinstance(payload, dict):
                return _bad_request("the body must be a JSON object")
            sender = payload.get("sender")
            if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER_CHARS \
                    or not _encodable(sender):
                return _bad_request(f"sender must be a non-empty string of at most {MAX_SENDER_CHARS} characters")
            output = RestOutput()

            async def say(text: str) -> None:
                output.messages.append({"recipient_id": sender, "text": text})

            await take_turn(payload.get("message"), conversation_of(sender), output, on_new_message,
                            input_channel=self.name(), metadata=message_metadata(payload.get("metadata"),
                                                                                  peer_client(request)), say=say)
            return response.json([{**message, "recipient_id": sender} for message in output.messages])

        return blueprint

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls()
