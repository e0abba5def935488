"""The web chat widget's channel: Rasa's socket.io channel, fixed for this stack and hardened.

Differences from `rasa.core.channels.socketio.SocketIOInput`, each for a reason:
- the socket joins its conversation's room with `await` (python-socketio >= 5.10 made `enter_room` a
  coroutine, and Rasa 3.6 does not await it, so replies were lost: RasaHQ/rasa#13027);
- Sanic's websockets work on Python 3.11 (`bot.channels.sanic_websockets`);
- conversation ids are issued by this server with a proof (an HMAC of the id keyed by WEBCHAT_SECRET),
  which the page keeps beside the id and sends back to rejoin: a socket naming an id without its proof
  gets a new conversation, so nobody can step into someone else's conversation or receive its replies;
- a socket may only speak in the conversation it joined, and only a page of the chat's own origins may
  open one from a browser (CORS for this channel only; the Rasa server has none);
- every message is screened (`bot.channels.take_turn`: `/` commands only as offered buttons, and never
  silence), and the widget is told when the assistant is typing;
- the metadata is the account reference of a reminder link, from the page, and the client's address as
  this server sees it (never from the page).
"""
from __future__ import annotations

import hashlib
import hmac
import inspect
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from socketio import AsyncServer

from bot.channels import (
    Answering,
    peer_client,
    sanic_websockets,  # noqa: F401 - applies the Python 3.11 fix on import
    take_turn,
)
from bot.config import secret, webchat_origins
from bot.domain.inbound import message_metadata
from bot.services import choices
from bot.services.unit_of_work import SqlUnitOfWork

logger = logging.getLogger(__name__)

_CONVERSATION_ID = re.compile(r"^[0-9a-f]{32}$")
TYPING_EVENT = "bot_typing"
# The widget's opening message, sent unseen when a conversation has no history: offered with each new id.
OPENING = "/greet"


def conversation_proof(conversation_id: str) -> str:
    """What proves a page holds a conversation this server issued: the id's HMAC-SHA256 under WEBCHAT_SECRET."""
    key = secret("WEBCHAT_SECRET").encode()
    return hmac.new(key, b"webchat-conversation:" + conversation_id.encode(), hashlib.sha256).hexdigest()


def proven(requested: Any, proof: Any) -> bool:
    """Whether the client holds the id it names: an issued-style id with its proof (compared in constant time)."""
    return (isinstance(requested, str) and _CONVERSATION_ID.match(requested) is not None and isinstance(proof, str)
            and hmac.compare_digest(proof.encode("utf-8", "replace"), conversation_proof(requested).encode()))


async def join_conversation(sio: AsyncServer, sid: str, requested: Any, proof: Any, namespace: str | None) -> str:
    """Put the socket in its conversation's room, where the replies go, and tell the page which it is.

    The page gets `{"session_id", "session_proof"}` (Rasa's widgets read `session_id`) and keeps both.
    """
    if proven(requested, proof):
        conversation_id = requested
    else:
        conversation_id = uuid.uuid4().hex
        try:
            with SqlUnitOfWork() as uow:
                choices.offer(uow, conversation_id, [OPENING])
        except Exception:  # without it the opening is read as the word "greet": worse, not broken
            logger.exception("could not offer the opening in a new web chat conversation")
    previous = (await sio.get_session(sid, namespace=namespace)).get("conversation_id")
    if previous not in (None, conversation_id):  # one socket, one conversation: it hears only the one it joined
        left = sio.leave_room(sid, previous, namespace=namespace)
        if inspect.isawaitable(left):
            await left
    joined = sio.enter_room(sid, conversation_id, namespace=namespace)
    if inspect.isawaitable(joined):  # python-socketio >= 5.10; Rasa 3.6 forgets to await it
        await joined
    await sio.save_session(sid, {"conversation_id": conversation_id}, namespace=namespace)
    confirmation = {"session_id": conversation_id, "session_proof": conversation_proof(conversation_id)}
    await sio.emit("session_confirm", confirmation, room=sid, namespace=namespace)
    return conversation_id


class WebChatOutput(Answering, SocketIOOutput):
    """Sends to the conversation's room, recording the buttons it offers."""


class WebChatInput(SocketIOInput):
    """Registered in credentials.yml as `bot.channels.webchat.WebChatInput`; keeps the name `socketio`."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        credentials = credentials or {}
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            session_persistence=True,  # the widget's conversations survive reloads; there is no other mode
            socketio_path=credentials.get("socketio_path", "/socket.io"),
        )

    def get_output_channel(self) -> OutputChannel | None:
        """Messages from outside a turn (a person's, through the HTTP API) record their buttons too."""
        return WebChatOutput(self.sio, self.bot_message_evt) if self.sio is not None else super().get_output_channel()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # The Rasa server sets no CORS of its own (bot/rasa_server.py): only the chat page's origins may open this
        # socket from a browser (WEBCHAT_ORIGINS, else WEBCHAT_URL's origin); a page elsewhere is refused.
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=webchat_origins())
        self.sio = sio
        blueprint = SocketBlueprint(sio, self.socketio_path, "webchat_socketio", __name__)
        namespace = self.namespace

        @blueprint.route("/", methods=["GET"])
        async def health(_request):
            return response.json({"status": "ok"})

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            data = data if isinstance(data, dict) else {}
            await join_conversation(sio, sid, data.get("session_id"), data.get("session_proof"), namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any = None) -> None:
            data = data if isinstance(data, dict) else {"message": data}
            conversation_id = (await sio.get_session(sid, namespace=namespace)).get("conversation_id")
            if conversation_id is None:  # a client that never asked for a session gets a new one
                conversation_id = await join_conversation(sio, sid, None, None, namespace)
            environ = sio.get_environ(sid, namespace=namespace) or {}
            output = WebChatOutput(sio, self.bot_message_evt)

            async def say(text: str) -> None:
                await sio.emit(self.bot_message_evt, {"text": text}, room=conversation_id, namespace=namespace)

            await sio.emit(TYPING_EVENT, {"typing": True}, room=conversation_id, namespace=namespace)
            try:
                metadata = message_metadata(data.get("metadata"), peer_client(environ.get("sanic.request")))
                await take_turn(data.get("message"), conversation_id, output, on_new_message,
                                input_channel=self.name(), metadata=metadata, say=say)
            finally:
                await sio.emit(TYPING_EVENT, {"typing": False}, room=conversation_id, namespace=namespace)

        return blueprint
