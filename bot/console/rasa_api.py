"""The console's client of Rasa's HTTP API: a person's message to the debtor, hand back, and the transcript.

A message is a `bot` event appended to the conversation (`POST /conversations/{id}/tracker/events`), so the tracker
stays the one record of what the debtor was told, marked with the agent's login in its metadata. With
`execute_side_effects=true&output_channel=<name>` Rasa also sends every appended bot event through that input
channel's output channel (rasa/server.py `append_events`, `_get_output_channel` matches the channel's `name()`):
- "socketio": the web chat (bot.channels.webchat.WebChatInput), to the conversation's socket.io room;
- "twilio": SMS (bot.channels.sms.SmsInput), to the number the conversation belongs to, buttons as numbered
  choices ("Reply 1 Yes, 2 No") which the debtor's numbered reply maps back to;
- "rest": the REST channel answers only the request that brought a message, so nothing can be pushed there: the
  event is appended without side effects (stored, shown in the transcript, never delivered).
Both pushing channels remember the buttons they send (bot.channels.Answering), so the debtor's click or numbered
reply is accepted as that button's payload.

Rasa rebuilds the event with `BotUttered(text, data, metadata)` and its output message is `{**data, "text",
**metadata}`, so `data.buttons` reaches the channel and `metadata.agent` stays on the stored event.

Conversation ids go into the URL as they are: Rasa's routes (Sanic 21) do not percent-decode path parameters, so
an encoded id would name another conversation. An id that cannot be written in a URL path as it is (`?`, `#`,
`%`, a space, a `.` or `..` segment...) is refused with ValueError.
"""
from __future__ import annotations

import json
import string
from typing import Any

import aiohttp
from yarl import URL

from bot.config import rasa_api_headers
from bot.domain.transcripts import WITHHELD, transcript_of  # noqa: F401 - re-exported for the console

# Rasa's name of each channel the console may answer on (InputChannel.name()).
PUSHED_CHANNELS = frozenset({"socketio", "twilio"})
CHANNELS = PUSHED_CHANNELS | {"rest"}
REQUEST_SECONDS = 30.0

# What may stand in a URL path unencoded (RFC 3986 pchar, and "/" since Rasa's route takes a path).
_PATH_SAFE = frozenset(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/")


class RasaApiError(RuntimeError):
    """Rasa's HTTP API refused or failed a request (`status` is its HTTP status; 502 when it could not be
    reached at all)."""

    def __init__(self, status: int, message: str):
        super().__init__(f"Rasa's HTTP API answered {status}: {message}")
        self.status = status
        self.message = message


def conversation_path(conversation_id: str) -> str:
    """`/conversations/<id>` with the id exactly as Rasa will read it back; ValueError if it cannot be."""
    segments = conversation_id.split("/")
    if (not conversation_id or not set(conversation_id) <= _PATH_SAFE
            or any(segment in (".", "..") for segment in segments)):
        raise ValueError("this conversation id cannot be addressed through Rasa's HTTP API")
    return f"/conversations/{conversation_id}"


def _bot_event(text: str, agent: str, buttons: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A `bot` event as Rasa's BotUttered reads it: buttons in `data`, the login in `metadata`."""
    event: dict[str, Any] = {"event": "bot", "text": text, "metadata": {"agent": agent}}
    if buttons:
        event["data"] = {"buttons": [{"title": str(b["title"]), "payload": str(b.get("payload") or b["title"])}
                                     for b in buttons]}
    return event


class RasaApi:
    """One aiohttp session to the Rasa server at `base_url`, each request with a fresh Bearer JWT signed with
    `token` (RASA_TOKEN; bot.config.rasa_api_headers)."""

    def __init__(self, base_url: str, token: str, *, timeout: float = REQUEST_SECONDS):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:  # made in the loop that uses it
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def _request(self, method: str, path: str, *, query: dict[str, str] | None = None,
                       body: Any = None) -> Any:
        url = URL(self.base_url + path, encoded=True)  # as it is: no re-quoting, no dot-segment folding
        if query:
            url = url.with_query(query)
        try:
            async with self._client().request(method, url, json=body, headers=rasa_api_headers(self.token)) as answer:
                if answer.status >= 300:
                    raise RasaApiError(answer.status, await _reason(answer))
                return await answer.json(content_type=None)
        except aiohttp.ClientError as error:
            raise RasaApiError(502, f"the Rasa server could not be reached ({type(error).__name__})") from error
        except TimeoutError as error:
            raise RasaApiError(502, f"the Rasa server did not answer within {self.timeout:.0f} s") from error

    async def _append(self, conversation_id: str, channel: str, events: list[dict[str, Any]]) -> None:
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}: one of {sorted(CHANNELS)}")
        query = {"execute_side_effects": "true", "output_channel": channel} if channel in PUSHED_CHANNELS else None
        await self._request("POST", conversation_path(conversation_id) + "/tracker/events", query=query, body=events)

    async def send(self, conversation_id: str, text: str, channel: str, *, agent: str,
                   buttons: list[dict[str, Any]] | None = None) -> None:
        """A person's message, with optional buttons (`{"title", "payload"}`), to the debtor on `channel` and into
        the conversation, marked with the login `agent`. On "rest" it is stored only (nothing can push there)."""
        await self._append(conversation_id, channel, [_bot_event(text, agent, buttons)])

    async def pause(self, conversation_id: str, channel: str) -> None:
        """Rasa's ConversationPaused, sent by no one: the assistant falls silent while a person has the
        conversation. It already is when the assistant escalated; not when a callback brought it back."""
        await self._append(conversation_id, channel, [{"event": "pause"}])

    async def resume(self, conversation_id: str, text: str, channel: str, *, agent: str,
                     slots: dict[str, Any] | None = None) -> None:
        """Hand the conversation back to the assistant in one request: Rasa's ConversationResumed, the slots the
        assistant must know from now on, the message saying so (from `agent`), and `action_listen`.

        A paused conversation logs the debtor's messages with no action after them (the last is the hand-off
        action), so without `action_listen` the policies would read the next message as the continuation of the
        hand-off turn and answer with a fallback; with it, the next message starts a turn of its own, and what the
        debtor wrote while waiting stays in the record without being answered twice.
        """
        events = [{"event": "resume"}, *({"event": "slot", "name": name, "value": value}
                                         for name, value in (slots or {}).items()),
                  _bot_event(text, agent), {"event": "action", "name": "action_listen"}]
        await self._append(conversation_id, channel, events)

    async def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every message of the conversation, all sessions, oldest first: `{"sender": "debtor"|"bot"|"agent",
        "text", "at" (ISO 8601, UTC), "agent": login or None, "buttons": [{"title", "payload"}...]}`.

        A debtor's button click or numbered reply (its payload) shows as the button's title. Date-of-birth answers
        are withheld by the store already; in a debtor message that answers the date-of-birth question anything
        still looking like a date (or, where a postcode was asked for, a postcode) is withheld here too.
        """
        tracker = await self._request("GET", conversation_path(conversation_id) + "/tracker",
                                      query={"include_events": "ALL"})
        return transcript_of((tracker or {}).get("events") or [])

    async def parse(self, text: str) -> tuple[str | None, float]:
        """The assistant's model's reading of `text` (`POST /model/parse`): its intent and confidence."""
        answer = await self._request("POST", "/model/parse", body={"text": text})
        intent = answer.get("intent") if isinstance(answer, dict) else None
        if not isinstance(intent, dict):
            return None, 0.0
        name, confidence = intent.get("name"), intent.get("confidence")
        return (name if isinstance(name, str) else None,
                float(confidence) if isinstance(confidence, int | float) else 0.0)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _reason(answer: aiohttp.ClientResponse) -> str:
    """Rasa's own error message (its JSON `message`), else the start of the body."""
    body = await answer.text()
    try:
        message = json.loads(body).get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message or body[:200] or answer.reason or "no reason given")
