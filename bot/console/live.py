"""Live updates of the console: Rasa's event broker in, server-sent events out.

One `Live` per console process. It consumes the broker's events (`bot.console.feed.broker_events`) in one
background task and pushes to the browsers connected to `/api/events`:
- `queue`: the whole queue (`handoffs.queue`), after an escalation (Rasa's `pause`), a hand back (`resume`),
  every take, assignment and hand back made here, and whenever a callback comes due (checked every 10 s);
- `message`: a debtor's, the assistant's or a person's message, to the browsers watching that conversation, shown
  as the transcript shows it (`rasa_api.transcript_of`: a clicked button by its title, a date of birth masked);
- `panel`: the conversation's panel changed (an offer answered, an agreement recorded, it was taken);
- `approval`: an approval request was made or decided, to supervisors and to the agent who asked.

Each browser has a bounded queue: one that does not read is disconnected (its EventSource reconnects and gets a
fresh snapshot), so a stalled tab never holds the process's memory. A debtor's message in a conversation with a
handoff goes to `desk.debtor_answered`: a yes or no to terms a person sent is recorded or declined there, and its
answer is sent to the debtor (on behalf of the person who has the conversation). Who may watch a conversation is checked
when the stream opens (`desk.conversation_for`) and again whenever the handoff changes hands.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.domain.console import Staff
from bot.domain.transcripts import transcript_of

logger = logging.getLogger(__name__)

CLIENT_QUEUE_SIZE = 200  # events a browser may fall behind by before it is disconnected
HEARTBEAT_SECONDS = 15.0
CALLBACK_SECONDS = 10.0
FEED_RETRY_SECONDS = 2.0
_MAX_TRACKED = 10_000  # conversations whose last bot message is remembered


class RasaLike(Protocol):
    """What the console needs of `bot.console.rasa_api.RasaApi` (Rasa's HTTP API)."""

    async def send(self, conversation_id: str, text: str, channel: str, *, agent: str,
                   buttons: list[dict[str, str]] | None = None) -> Any: ...

    async def pause(self, conversation_id: str, channel: str) -> Any: ...

    async def resume(self, conversation_id: str, text: str, channel: str, *, agent: str,
                     slots: dict[str, Any] | None = None) -> Any: ...

    async def transcript(self, conversation_id: str) -> list[dict[str, Any]]: ...

    async def parse(self, text: str) -> tuple[str | None, float]: ...

    async def close(self) -> None: ...


EventSource = Callable[[], AsyncIterator[dict[str, Any]]]


@dataclass(eq=False)
class Client:
    """One browser's event stream."""

    staff: Staff
    handoff_id: int | None = None
    conversation_id: str | None = None  # the conversation it may watch (None: queue only)
    queue: asyncio.Queue[str | None] = field(default_factory=lambda: asyncio.Queue(CLIENT_QUEUE_SIZE))
    closed: bool = False


def sse(event: str, payload: Any) -> str:
    """One server-sent event: a name and a single line of JSON."""
    return f"event: {event}\ndata: {json.dumps(payload, separators=(',', ':'), default=str)}\n\n"


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def message_of(event: dict[str, Any], last_bot: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """A Rasa `user` or `bot` event as the transcript shows it (`rasa_api.transcript_of`: a clicked button as its
    title, an answer to the date-of-birth question masked), or None for any other event. `last_bot`: the
    conversation's previous bot event, which a debtor's message answers."""
    if event.get("event") not in ("user", "bot"):
        return None
    lines = transcript_of([last_bot, event] if last_bot is not None and event.get("event") == "user" else [event])
    return lines[-1] if lines else None


def may_watch(staff: Staff, item: dict[str, Any] | None) -> bool:
    """Whether `staff` may still see a conversation whose queue item is `item` (None: no longer open)."""
    if staff.is_supervisor:
        return True
    return item is not None and (item.get("status") == "open" or item.get("assigned_to") == staff.login)


class Live:
    """The console's live hub: the broker consumer, the callback timer and every connected browser."""

    def __init__(self, rasa: RasaLike, events: EventSource | None, *,
                 queue_items: Callable[[], list[dict[str, Any]]],
                 pending_approvals: Callable[[Staff], int | None],
                 debtor_answered: Callable[[str, str], Any],
                 reopen_due_callbacks: Callable[[], list[int]],
                 callback_seconds: float = CALLBACK_SECONDS) -> None:
        self.rasa = rasa
        self.events = events
        self._queue_items = queue_items
        self._pending_approvals = pending_approvals
        self._debtor_answered = debtor_answered
        self._reopen_due_callbacks = reopen_due_callbacks
        self.callback_seconds = callback_seconds
        self.clients: set[Client] = set()
        self.items: dict[int, dict[str, Any]] = {}  # the last queue, by handoff id
        self.open_conversations: dict[str, int] = {}  # conversation id -> open or assigned handoff id
        self._last_bot: OrderedDict[str, dict[str, Any]] = OrderedDict()  # what a debtor's next message answers
        self._queue_wanted = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the background tasks (the app's on_startup)."""
        self._tasks = [asyncio.create_task(self._queue_worker(), name="console-queue"),
                       asyncio.create_task(self._callbacks(), name="console-callbacks")]
        if self.events is not None:
            self._tasks.append(asyncio.create_task(self._consume(), name="console-feed"))
        self.refresh_queue()  # which conversations have a handoff: a debtor's answer to terms may come any time

    async def stop(self) -> None:
        """Stop the tasks and end every stream (the app's on_shutdown)."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        for client in list(self.clients):
            self.close(client)

    # --- browsers --------------------------------------------------------------------------------------

    def subscribe(self, staff: Staff, handoff_id: int | None = None, conversation_id: str | None = None) -> Client:
        """A new stream for `staff`, watching `conversation_id` (already access-checked) if given."""
        client = Client(staff, handoff_id, conversation_id)
        self.clients.add(client)
        return client

    def unsubscribe(self, client: Client) -> None:
        """The browser went away."""
        self.clients.discard(client)
        client.closed = True

    def close(self, client: Client) -> None:
        """End `client`'s stream: everything it had not read is dropped, then the end marker."""
        self.unsubscribe(client)
        while not client.queue.empty():
            client.queue.get_nowait()
        client.queue.put_nowait(None)

    def send(self, client: Client, event: str, payload: Any) -> None:
        """Queue an event for one browser; a browser this far behind is disconnected instead."""
        if client.closed:
            return
        try:
            client.queue.put_nowait(sse(event, payload))
        except asyncio.QueueFull:
            logger.info("console: dropping a slow event stream of %s", client.staff.login)
            self.close(client)

    def broadcast(self, event: str, payload: Any, to: Callable[[Client], bool] = lambda _c: True) -> None:
        """Send one event to every browser `to` accepts."""
        for client in list(self.clients):
            if to(client):
                self.send(client, event, payload)

    def watchers(self, conversation_id: str) -> Iterable[Client]:
        """The browsers watching a conversation."""
        return [c for c in self.clients if c.conversation_id == conversation_id]

    def panel_changed(self, handoff_id: int | None = None, conversation_id: str | None = None, *,
                      everywhere: bool = False) -> None:
        """Tell the browsers watching a handoff (by id or conversation; or all of them) to reload its panel."""
        for client in list(self.clients):
            if client.conversation_id is not None and (
                    everywhere or (handoff_id is not None and client.handoff_id == handoff_id)
                    or (conversation_id is not None and client.conversation_id == conversation_id)):
                self.send(client, "panel", {"handoff_id": client.handoff_id})

    def approval_changed(self, payload: dict[str, Any]) -> None:
        """An approval request was made or decided: supervisors and the agent who asked hear of it."""
        requested_by = payload.get("requested_by")
        self.broadcast("approval", payload,
                       lambda c: c.staff.is_supervisor or c.staff.login == requested_by)
        if payload.get("handoff_id") is not None:
            self.panel_changed(handoff_id=int(payload["handoff_id"]))
        self.refresh_queue()  # the supervisors' count of pending requests

    # --- the queue -------------------------------------------------------------------------------------

    def refresh_queue(self) -> None:
        """Ask for a fresh queue to be pushed; bursts of changes coalesce into one read."""
        self._queue_wanted.set()

    def queue_payload(self, items: list[dict[str, Any]], staff: Staff, pending: int | None) -> dict[str, Any]:
        """What `GET /api/queue` and the `queue` event carry."""
        return {"items": items, "waiting": sum(1 for i in items if i.get("status") == "open"),
                "approvals_pending": pending if staff.is_supervisor else None}

    def remember(self, items: list[dict[str, Any]]) -> None:
        """Keep the queue just read; revoke watchers who may no longer see a conversation that changed hands."""
        previous = self.items
        self.items = {int(i["id"]): i for i in items}
        self.open_conversations = {str(i["conversation_id"]): int(i["id"]) for i in items}
        for client in list(self.clients):
            if client.handoff_id is None or client.conversation_id is None:
                continue
            item, before = self.items.get(client.handoff_id), previous.get(client.handoff_id)
            changed = (item or {}).get("status") != (before or {}).get("status") or (
                (item or {}).get("assigned_to") != (before or {}).get("assigned_to"))
            if not may_watch(client.staff, item):
                self.send(client, "panel", {"handoff_id": client.handoff_id})
                client.conversation_id = None  # no more of its messages
            elif changed and before is not None:
                self.send(client, "panel", {"handoff_id": client.handoff_id})

    async def push_queue(self) -> None:
        """Read the queue once and push it to every browser."""
        items = await asyncio.to_thread(self._queue_items)
        supervisor = next((c.staff for c in self.clients if c.staff.is_supervisor), None)
        pending = await asyncio.to_thread(self._pending_approvals, supervisor) if supervisor else None
        self.remember(items)
        for client in list(self.clients):
            self.send(client, "queue", self.queue_payload(items, client.staff, pending))

    async def _queue_worker(self) -> None:
        while True:
            await self._queue_wanted.wait()
            self._queue_wanted.clear()
            try:
                await self.push_queue()
            except Exception:  # the database is away for a moment: the next change retries
                logger.exception("console: could not read the queue")
                await asyncio.sleep(1)

    async def _callbacks(self) -> None:
        while True:
            await asyncio.sleep(self.callback_seconds)
            try:
                if await asyncio.to_thread(self._reopen_due_callbacks):
                    self.refresh_queue()
            except Exception:
                logger.exception("console: could not reopen due callbacks")

    # --- Rasa's events -----------------------------------------------------------------------------------

    async def _consume(self) -> None:
        assert self.events is not None
        while True:
            try:
                async for event in self.events():
                    try:
                        await self.on_event(event)
                    except Exception:
                        logger.exception("console: could not handle a Rasa event")
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("console: the event broker feed failed; reconnecting")
            await asyncio.sleep(FEED_RETRY_SECONDS)

    def _answering(self, conversation_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
        """The bot message a debtor's message answers (remembered for each conversation from the bot events)."""
        last = self._last_bot.get(conversation_id)
        if event.get("event") == "bot":
            self._last_bot[conversation_id] = event
            self._last_bot.move_to_end(conversation_id)
            while len(self._last_bot) > _MAX_TRACKED:
                self._last_bot.popitem(last=False)
        return last

    async def on_event(self, event: dict[str, Any]) -> None:
        """One event from Rasa's broker."""
        conversation_id = event.get("sender_id")
        if not isinstance(conversation_id, str):
            return
        kind = event.get("event")
        if kind in ("pause", "resume"):
            self.refresh_queue()
            return
        if kind not in ("user", "bot"):
            return
        message = message_of(event, self._answering(conversation_id, event))
        if message is None:
            return
        handoff_id = self.open_conversations.get(conversation_id)
        for client in self.watchers(conversation_id):
            self.send(client, "message", {"handoff_id": client.handoff_id, "conversation_id": conversation_id,
                                          "message": message})
        if kind == "user" and handoff_id is not None:
            await self._answered(conversation_id, event)

    async def _answered(self, conversation_id: str, event: dict[str, Any]) -> None:
        """A debtor's message in a conversation a person has: maybe the yes or no to terms a person sent."""
        intent = _mapping(_mapping(event.get("parse_data")).get("intent")).get("name")
        if not isinstance(intent, str) or not intent:
            return
        answered = await asyncio.to_thread(self._debtor_answered, conversation_id, intent)
        if answered is None:
            return
        if answered.text:
            # Said on behalf of the person who sent the terms (the one the handoff is with).
            item = self.items.get(answered.handoff_id) if answered.handoff_id is not None else None
            agent = (item or {}).get("assigned_to") or "assistant"
            await self.rasa.send(answered.conversation_id, answered.text, answered.channel, agent=agent)
        self.panel_changed(conversation_id=conversation_id)
        self.refresh_queue()
