"""The web chat widget's channel: Rasa's socket.io channel, fixed for this stack and hardened.

Differences from `rasa.core.channels.socketio.SocketIOInput`, each for a reason:
- the socket joins its conversation's room with `await` (python-socketio >= 5.10 made `enter_room` a
  coroutine, and Rasa 3.6 does not await it, so replies were lost: RasaHQ/rasa#13027);
- Sanic's websockets work on Python 3.11 (`bot.channels.sanic_websockets`);
- a conversation id is one this server issued (32 hex digits), never a name the client picks, so a
  web client cannot step into someone else's conversation by naming it;
- a socket may only speak in the conversation it joined;
- every message is screened (`bot.domain.inbound`) and the widget is told when the assistant is typing;
- the only metadata taken from the page is the account reference of a reminder link.
"""
from __future__ import annotations

import inspect
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from socketio import AsyncServer

from bot.channels import sanic_websockets  # noqa: F401 - applies the Python 3.11 fix on import
from bot.domain.inbound import APOLOGY, linked_metadata, screen

logger = logging.getLogger(__name__)

_CONVERSATION_ID = re.compile(r"^[0-9a-f]{32}$")
TYPING_EVENT = "bot_typing"


def conversation_id_from(requested: Any) -> str:
    """The client's conversation id if it is one we could have issued, else a new one."""
    return requested if isinstance(requested, str) and _CONVERSATION_ID.match(requested) else uuid.uuid4().hex


async def join_conversation(sio: AsyncServer, sid: str, requested: Any, namespace: str | None) -> str:
    """Put the socket in its conversation's room, where the replies go, and tell the page which it is."""
    conversation_id = conversation_id_from(requested)
    joined = sio.enter_room(sid, conversation_id, namespace=namespace)
    if inspect.isawaitable(joined):  # python-socketio >= 5.10; Rasa 3.6 forgets to await it
        await joined
    await sio.save_session(sid, {"conversation_id": conversation_id}, namespace=namespace)
    await sio.emit("session_confirm", conversation_id, room=sid, namespace=namespace)
    return conversation_id


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

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # CORS is left to Rasa's --cors setting, as in Rasa's channel: two sets of headers would break browsers.
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
        self.sio = sio
        blueprint = SocketBlueprint(sio, self.socketio_path, "webchat_socketio", __name__)
        namespace = self.namespace

        @blueprint.route("/", methods=["GET"])
        async def health(_request):
            return response.json({"status": "ok"})

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            await join_conversation(sio, sid, data.get("session_id") if isinstance(data, dict) else None, namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any = None) -> None:
            data = data if isinstance(data, dict) else {"message": data}
            conversation_id = (await sio.get_session(sid, namespace=namespace)).get("conversation_id")
            if conversation_id is None:  # a client that never asked for a session gets a new one
                conversation_id = await join_conversation(sio, sid, None, namespace)
            screened = screen(data.get("message"))
            if screened.rejection:
                await sio.emit(self.bot_message_evt, {"text": screened.rejection}, room=sid, namespace=namespace)
                return
            output = SocketIOOutput(sio, self.bot_message_evt)
            await sio.emit(TYPING_EVENT, {"typing": True}, room=conversation_id, namespace=namespace)
            try:
                await on_new_message(UserMessage(screened.text, output, conversation_id,
                                                 input_channel=self.name(), metadata=linked_metadata(data.get("metadata"))))
            except Exception:  # the debtor gets an answer, the server stays up, the log has the cause
                logger.exception("web chat message in conversation %s failed", conversation_id)
                await sio.emit(self.bot_message_evt, {"text": APOLOGY}, room=conversation_id, namespace=namespace)
            finally:
                await sio.emit(TYPING_EVENT, {"typing": False}, room=conversation_id, namespace=namespace)

        return blueprint
