"""A socket.io client written against the wire protocol (Engine.IO 4, Socket.IO 5) over one websocket.

The tests use it rather than python-socketio's client so that the websocket transport itself is what
is tested, with nothing that could quietly fall back to long-polling.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets


class WireSocket:
    def __init__(self, connection):
        self.connection = connection
        self.received: list[tuple[str, Any]] = []
        self.typing = False  # what the channel's last bot_typing event said
        self.session_id: str | None = None  # the conversation the server confirmed, and its proof
        self.proof: str | None = None

    @classmethod
    async def open(cls, rasa_url: str, origin: str | None = None) -> WireSocket:
        """A connected socket; `origin` is the Origin header a browser page would send (none by default)."""
        url = rasa_url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        connection = await asyncio.wait_for(websockets.connect(url, max_size=None, origin=origin), 10)
        socket = cls(connection)
        handshake = await socket._packet()
        assert handshake.startswith("0{"), handshake  # Engine.IO open
        await connection.send("40")  # Socket.IO connect to the default namespace
        connected = await socket._packet()
        assert connected.startswith("40"), connected
        return socket

    async def _packet(self, timeout: float = 30) -> str:
        while True:
            packet = await asyncio.wait_for(self.connection.recv(), timeout)
            if packet == "2":  # the server's ping
                await self.connection.send("3")
                continue
            return packet

    async def emit(self, event: str, data: Any) -> None:
        await self.connection.send("42" + json.dumps([event, data]))

    async def next_event(self, timeout: float = 30) -> tuple[str, Any]:
        while True:
            packet = await self._packet(timeout)
            if packet.startswith("42"):
                event, *args = json.loads(packet[2:])
                self.received.append((event, args[0] if args else None))
                if event == "bot_typing":
                    self.typing = bool(args[0]["typing"])
                return self.received[-1]

    async def join(self, session_id: Any = None, proof: Any = None) -> str:
        """Ask for a conversation (naming one, with its proof, to rejoin it); the id the server confirmed."""
        await self.emit("session_request", {"session_id": session_id, "session_proof": proof})
        while True:
            event, data = await self.next_event()
            if event == "session_confirm":
                if isinstance(data, dict):
                    self.session_id, self.proof = data["session_id"], data["session_proof"]
                else:  # Rasa's own channel confirms with the bare id (and no proof)
                    self.session_id, self.proof = data, None
                return self.session_id

    async def say(self, message: Any, session_id: str | None = None, metadata: dict | None = None,
                  timeout: float = 60) -> list[dict]:
        """Send a message; the bot's messages until the channel says it stopped typing."""
        payload: Any = message if not isinstance(message, str) and message is not None else {
            "message": message, "session_id": session_id, **({"metadata": metadata} if metadata else {})}
        await self.emit("user_uttered", payload)
        replies: list[dict] = []
        while True:
            event, data = await self.next_event(timeout)
            if event == "bot_uttered":
                replies.append(data)
                if not self.typing:  # a rejection by the channel: no turn, so no typing events
                    return replies
            elif event == "bot_typing" and not data["typing"]:
                return replies

    async def close(self) -> None:
        await self.connection.close()


def texts(replies: list[dict]) -> str:
    return "\n".join(reply.get("text", "") for reply in replies)
