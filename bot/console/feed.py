"""Rasa's event broker, read by the console: every conversation's events as Rasa publishes them, live.

`broker_events(settings)` yields each event dict as published (`{"sender_id", "event", "timestamp", "text",
"parse_data", "metadata", "name", ...}`; a date-of-birth answer arrives already withheld, see
bot/storage/tracker_store.py), from whichever broker bot.config.event_broker_settings() names:
- the SQL broker: its `events` table tailed by id, every POLL_SECONDS, in id order. PostgreSQL hands out ids when
  a row is inserted, not when it is committed, so a row may appear below ids already seen: a gap is watched for
  GAP_SECONDS and its row yielded late when it commits;
- RabbitMQ: the durable queue Rasa's pika broker declares and binds to its exchange (`settings.queue`); events
  published while the console was away wait there, except at a start `from_now`, which purges the queue. One
  console process consumes it (a second would take turns with the first). A reader that wants its own copy of
  every event (a benchmark, a test beside a running console) passes `dataclasses.replace(settings, queue="")`:
  a server-named queue bound to the same exchange, deleted when it disconnects (what is published meanwhile is
  not kept for it).
Neither ever ends or raises on its own: a failure is logged as a warning and the feed reconnects, with a growing
pause, until it is cancelled.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from sqlalchemy import bindparam, text

from bot.config import EventBrokerSettings
from bot.storage.db import database_failure, engine_for

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
GAP_SECONDS = 5.0  # how long a missing id is watched for a late commit
BATCH = 500  # rows read per poll at most
RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)  # pauses between reconnections, the last repeated
RABBITMQ_PREFETCH = 200
CONSUMER_CHECK_SECONDS = 5.0  # how often a quiet RabbitMQ consumer checks it is still consuming
GAP_TRACKED = 64  # a longer run of missing ids is rows deleted, not rows still to commit


async def broker_events(settings: EventBrokerSettings, *, from_now: bool = True,
                        poll_seconds: float = POLL_SECONDS) -> AsyncIterator[dict[str, Any]]:
    """The events published to the broker, oldest first: only those published from now on when `from_now`
    (else, for the SQL broker, every row it holds; for RabbitMQ, whatever waits in the queue too)."""
    if settings.kind == "pika":
        async for event in _consumed(settings, from_now):
            yield event
    else:
        async for event in _tailed(settings.url, from_now, poll_seconds):
            yield event


def _decoded(raw: str | bytes | None) -> dict[str, Any] | None:
    try:
        event = json.loads(raw or "")
    except (TypeError, ValueError):
        event = None
    if not isinstance(event, dict):
        logger.warning("an event broker message that is not a JSON object was skipped")
        return None
    return event


def _pause(failures: int) -> float:
    return RETRY_SECONDS[min(failures, len(RETRY_SECONDS)) - 1]


# --- SQL: tail the table by id ---------------------------------------------------------------------------------

class _SqlTail:
    """The reading position in an SQL broker's `events` table; each method is one short, blocking read."""

    def __init__(self, url: str):
        self.url = url
        self.last: int | None = None  # the highest id yielded (or skipped, from now); None until known
        self.gaps: dict[int, float] = {}  # id -> monotonic time to stop waiting for it

    def start(self, from_now: bool) -> None:
        self.last = self._newest() if from_now else 0

    def _newest(self) -> int:
        try:
            with engine_for(self.url).connect() as connection:
                return int(connection.execute(text("SELECT max(id) FROM events")).scalar() or 0)
        except Exception as error:
            if _missing_table(error):  # Rasa has not created it yet: everything in it will be new
                return 0
            raise

    def poll(self) -> list[dict[str, Any]]:
        """The rows committed since the last poll (and any late ones in the gaps), in id order."""
        assert self.last is not None
        now = time.monotonic()
        self.gaps = {row_id: until for row_id, until in self.gaps.items() if until > now}
        try:
            with engine_for(self.url).connect() as connection:
                rows = connection.execute(text("SELECT id, data FROM events WHERE id > :last ORDER BY id LIMIT :n"),
                                          {"last": self.last, "n": BATCH}).all()
                late = connection.execute(text("SELECT id, data FROM events WHERE id IN :ids").bindparams(
                    bindparam("ids", expanding=True)), {"ids": sorted(self.gaps)}).all() if self.gaps else []
                if not rows and self.last and not connection.execute(
                        text("SELECT 1 FROM events WHERE id >= :last LIMIT 1"), {"last": self.last}).first():
                    self._restarted(connection)
        except Exception as error:
            if _missing_table(error):
                if self.last:
                    logger.warning("the event broker's table is gone; reading it from its start when it is back")
                    self.last, self.gaps = 0, {}
                return []
            raise
        expected = self.last + 1
        for row_id, _data in rows:
            if row_id - expected <= GAP_TRACKED:
                for missing in range(expected, row_id):
                    self.gaps[missing] = now + GAP_SECONDS
            expected = row_id + 1
        for row_id, _data in late:
            self.gaps.pop(row_id, None)
        if rows:
            self.last = rows[-1][0]
        events = [_decoded(data) for _id, data in sorted([*late, *rows])]
        return [event for event in events if event is not None]

    def _restarted(self, connection: Any) -> None:
        """The newest row is below where we are: the table was emptied or made anew; read it from its start."""
        newest = connection.execute(text("SELECT max(id) FROM events")).scalar()
        if newest is not None and newest < (self.last or 0):
            logger.warning("the event broker's table starts again below id %s; reading it from its start", self.last)
            self.last, self.gaps = 0, {}


def _missing_table(error: BaseException) -> bool:
    failure = database_failure(error)
    return failure is not None and failure[0] == "no_tables"


async def _tailed(url: str, from_now: bool, poll_seconds: float) -> AsyncIterator[dict[str, Any]]:
    tail, failures = _SqlTail(url), 0
    shown = EventBrokerSettings("sql", url).shown()
    while True:
        try:
            if tail.last is None:
                await asyncio.to_thread(tail.start, from_now)
            events = await asyncio.to_thread(tail.poll)
        except Exception as error:
            failures += 1
            logger.warning("reading the event broker at %s failed (%s); trying again", shown,
                           str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
            await asyncio.sleep(_pause(failures))
            continue
        if failures:
            logger.warning("reading the event broker at %s again", shown)
            failures = 0
        for event in events:
            yield event
        if not events:
            await asyncio.sleep(poll_seconds)


# --- RabbitMQ: consume the console's queue ------------------------------------------------------------------------

_CLOSED = object()


class _Inbox:
    """One connection's deliveries and its closing, in arrival order (callbacks of that connection only)."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[Any, BaseException | None]] = asyncio.Queue()

    def closed(self, _sender: Any, error: BaseException | None = None) -> None:
        self.queue.put_nowait((_CLOSED, error))

    async def delivered(self, message: Any) -> None:
        self.queue.put_nowait((message, None))


async def _consumed(settings: EventBrokerSettings, from_now: bool) -> AsyncIterator[dict[str, Any]]:
    import aio_pika

    purge, failures = from_now, 0
    shown = settings.shown()
    while True:
        inbox, connection = _Inbox(), None
        try:
            connection = await aio_pika.connect(settings.url, timeout=10)
            connection.close_callbacks.add(inbox.closed)
            channel = await connection.channel()
            channel.close_callbacks.add(inbox.closed)
            await channel.set_qos(prefetch_count=RABBITMQ_PREFETCH)
            # Declared exactly as Rasa's PikaEventBroker declares them, whichever of the two starts first.
            exchange = await channel.declare_exchange(settings.exchange, type=aio_pika.ExchangeType.FANOUT)
            queue = (await channel.declare_queue(settings.queue, durable=True) if settings.queue
                     else await channel.declare_queue(exclusive=True, auto_delete=True))  # a private copy
            await queue.bind(exchange, "")
            if purge:
                await queue.purge()
                purge = False
            tag = await queue.consume(inbox.delivered)
            if failures:
                logger.warning("consuming the event broker at %s again", shown)
                failures = 0
            while True:
                try:
                    message, error = await asyncio.wait_for(inbox.queue.get(), CONSUMER_CHECK_SECONDS)
                except TimeoutError:
                    # RabbitMQ cancels a consumer whose queue is deleted, and aiormq then just forgets it.
                    if tag not in getattr(channel.channel, "consumers", {tag: None}):
                        raise ConnectionError("RabbitMQ cancelled the consumer (was the queue deleted?)") from None
                    continue
                if message is _CLOSED:
                    raise ConnectionError(f"the connection to RabbitMQ closed: {error or 'no reason given'}")
                await message.ack()  # a live feed: the console reloads what it shows when it reconnects
                event = _decoded(message.body)
                if event is not None:
                    yield event
        except asyncio.CancelledError:
            raise
        except Exception as error:
            failures += 1
            logger.warning("consuming the event broker at %s failed (%s); reconnecting", shown,
                           str(error).strip() or type(error).__name__)
        finally:
            if connection is not None:
                await _close(connection)
        await asyncio.sleep(_pause(failures))


async def _close(connection: Any) -> None:
    """Close the AMQP connection underneath aio_pika's: aio_pika 8.2's `Connection.close`, once cancelled (the
    console shutting down while a close is under way), waits forever for a callback the cancelled close never
    fires, and would hang its task and the shutdown with it; aiormq's own close ends cleanly when cancelled."""
    transport, connection.transport = connection.transport, None
    if transport is None:
        return
    try:
        await asyncio.wait_for(transport.connection.close(), 5)
    except Exception:  # closing a broken connection: nothing more to do with it
        pass
