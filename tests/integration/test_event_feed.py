"""The console's live feed (bot/console/feed.py) reads what Rasa's own event brokers publish, in order, and what the
redacting tracker store publishes never holds a date-of-birth answer (bot/storage/tracker_store.py).

The brokers are Rasa's SQLEventBroker (on both backends) and PikaEventBroker on the real RabbitMQ at 127.0.0.1:5672,
created from the endpoint the Rasa server uses (bot.rasa_server.event_broker_endpoint). Outages are real: the feed
talks to the database or RabbitMQ through a TCP relay that the test cuts and restores.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import aio_pika
import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.sql import SQLEventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.config import EVENT_BROKER_SCHEMA, ConfigError, EventBrokerSettings, event_broker_settings
from bot.console import feed
from bot.console.feed import broker_events
from bot.rasa_server import event_broker_endpoint
from bot.storage.db import engine_for
from bot.storage.tracker_store import WITHHELD, RedactingSQLTrackerStore, delete_broker_events
from tests.support.database import BACKENDS

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
WAIT = 10.0  # seconds an expected event may take to arrive (they take a fraction of a second)


@pytest.fixture(autouse=True)
def derived_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The broker beside the test's database, whatever this shell's environment says."""
    for name in ("EVENT_BROKER_URL", "RABBITMQ_URL", "RABBITMQ_QUEUE", "RABBITMQ_EXCHANGE"):
        monkeypatch.delenv(name, raising=False)


# --- where the broker is -------------------------------------------------------------------------------------------

def test_the_broker_settings_follow_the_environment(monkeypatch):
    assert event_broker_settings("sqlite:////srv/var/collections.db") == EventBrokerSettings(
        "sql", "sqlite:////srv/var/collections-events.db")
    postgres = event_broker_settings("postgresql://bot:s%40cret@db:5432/collections?options=-cstatement_timeout%3D5000")
    assert postgres.kind == "sql" and postgres.schema == EVENT_BROKER_SCHEMA
    url = make_url(postgres.url)
    assert url.password == "s@cret" and url.database == "collections"
    assert url.query["options"] == f"-cstatement_timeout=5000 -csearch_path={EVENT_BROKER_SCHEMA}"  # kept, added to
    assert "s%40cret" not in postgres.shown() and "***" in postgres.shown()

    monkeypatch.setenv("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
    monkeypatch.setenv("RABBITMQ_QUEUE", "console-q")
    assert event_broker_settings("sqlite:////srv/var/collections.db") == EventBrokerSettings(
        "pika", "amqp://guest:guest@127.0.0.1:5672/", exchange="rasa-exchange", queue="console-q")
    monkeypatch.setenv("EVENT_BROKER_URL", "sqlite:////srv/var/feed.db")  # says it outright: wins
    assert event_broker_settings() == EventBrokerSettings("sql", "sqlite:////srv/var/feed.db")
    monkeypatch.delenv("EVENT_BROKER_URL")
    monkeypatch.setenv("RABBITMQ_URL", "http://127.0.0.1:15672/")
    with pytest.raises(ConfigError, match="RABBITMQ_URL"):
        event_broker_settings()
    monkeypatch.delenv("RABBITMQ_URL")
    with pytest.raises(ConfigError, match="EVENT_BROKER_URL"):
        event_broker_settings("sqlite://")


# --- helpers ------------------------------------------------------------------------------------------------------

class Reader:
    """The feed read in a task of its own; `next()` waits for one event. (An async generator whose `__anext__` is
    cancelled by a timeout is finished, so a test never waits on the feed itself with a timeout.)"""

    def __init__(self, events: AsyncIterator[dict[str, Any]]):
        self.events = events
        self.arrived: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for event in self.events:
            self.arrived.put_nowait(event)

    async def next(self, timeout: float = WAIT, *, markers: bool = False) -> dict[str, Any]:
        """The next event (the markers `started` publishes are passed over unless asked for)."""
        while True:
            if self.task.done():
                self.task.result()  # the feed ended or raised: it never may
                raise AssertionError("the feed ended")
            event = await asyncio.wait_for(self.arrived.get(), timeout)
            if markers or event.get("event") != "marker":
                return event

    async def quiet(self, seconds: float) -> list[dict[str, Any]]:
        """What arrives within `seconds` (expected: nothing)."""
        await asyncio.sleep(seconds)
        got = []
        while not self.arrived.empty():
            event = self.arrived.get_nowait()
            if event.get("event") != "marker":
                got.append(event)
        return got

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.events.aclose()  # type: ignore[attr-defined]


async def started(reader: Reader, publish: Callable[[dict[str, Any]], Any]) -> None:
    """Wait until a feed started `from_now` has found its place: markers are published until one arrives."""
    marker = f"marker-{uuid.uuid4().hex}"
    for attempt in range(100):
        await _maybe_await(publish({"sender_id": marker, "event": "marker", "n": attempt}))
        try:
            event = await reader.next(timeout=0.3, markers=True)
        except TimeoutError:
            continue
        if event["sender_id"] != marker:  # another reader's, started before
            continue
        while True:  # later markers may still be on their way
            try:
                await reader.next(timeout=0.5, markers=True)
            except TimeoutError:
                return
    raise AssertionError("the feed never started")


async def _maybe_await(value: Any) -> None:
    if asyncio.iscoroutine(value):
        await value


def conversation(sender: str, count: int) -> list[dict[str, Any]]:
    """Events as a tracker store publishes them: `{"sender_id", **event.as_dict()}`."""
    return [{"sender_id": sender, **UserUttered(f"message {n}", {"name": "inform", "confidence": 0.9},
                                                timestamp=1000.0 + n, metadata={"n": n}).as_dict()}
            for n in range(count)]


class Relay:
    """A TCP relay to a real server, which a test can cut (every connection dropped, nothing accepted) and restore
    on the same port: a database or RabbitMQ going away and coming back, as the client sees it."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = 0
        self.server: asyncio.AbstractServer | None = None
        self.connections: set[asyncio.StreamWriter] = set()

    async def start(self) -> Relay:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.connections.update((writer, upstream_writer))

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        for writer in self.connections:
            writer.transport.abort()
        self.connections.clear()

    async def restore(self) -> None:
        await self.start()


# --- the SQL broker -----------------------------------------------------------------------------------------------

def sql_broker(settings: EventBrokerSettings) -> SQLEventBroker:
    """Rasa's SQLEventBroker from the endpoint the Rasa server configures (which also readies its database)."""
    endpoint = event_broker_endpoint(settings)
    assert endpoint.type == "sql"
    broker = asyncio.run(EventBroker.create(endpoint))
    assert isinstance(broker, SQLEventBroker)
    return broker


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_the_sql_broker_lives_beside_the_database_never_in_its_events_table(database_url):
    settings = event_broker_settings(database_url)
    assert settings.kind == "sql"
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert settings.url == f"sqlite:///{url.database[:-len('.db')]}-events.db"
    else:
        assert settings.schema == EVENT_BROKER_SCHEMA and make_url(settings.url).database == url.database
    RedactingSQLTrackerStore(DOMAIN, host=database_url)  # the tracker store's own `events` table
    broker, sender = sql_broker(settings), f"test-{uuid.uuid4().hex}"
    broker.publish({"sender_id": sender, "event": "user", "text": "hello"})
    with engine_for(database_url).connect() as connection:  # the tracker store's table has no such row
        assert connection.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}).scalar() == 0
    with engine_for(settings.url).connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}).scalar() == 1


def test_the_sqlite_broker_file_is_private(tmp_path):
    database = tmp_path / "collections.db"
    settings = event_broker_settings(f"sqlite:///{database}")
    sql_broker(settings).publish({"sender_id": "x", "event": "user", "text": "hello"})
    assert (tmp_path / "collections-events.db").stat().st_mode & 0o777 == 0o600


async def test_the_sql_feed_yields_what_rasas_sql_broker_publishes_from_now_in_order(database_url):
    settings = event_broker_settings(database_url)
    broker = await asyncio.to_thread(sql_broker, settings)
    sender = f"test-{uuid.uuid4().hex}"
    before = conversation(f"{sender}-before", 3)
    for event in before:
        broker.publish(event)
    reader = Reader(broker_events(settings, poll_seconds=0.05))
    try:
        await started(reader, broker.publish)
        published = conversation(sender, 30)
        for event in published:
            broker.publish(event)
        assert [await reader.next() for _ in published] == published  # exactly, in order
        assert await reader.quiet(0.5) == []  # and nothing from before it started
    finally:
        await reader.close()


async def test_the_sql_feed_from_the_start_reads_every_row(tmp_path):
    settings = event_broker_settings(f"sqlite:///{tmp_path / 'collections.db'}")
    broker = await asyncio.to_thread(sql_broker, settings)
    published = conversation("early", 5)
    for event in published:
        broker.publish(event)
    reader = Reader(broker_events(settings, from_now=False, poll_seconds=0.05))
    try:
        assert [await reader.next() for _ in published] == published
    finally:
        await reader.close()


def _fresh_location(database_url: str, tmp_path) -> EventBrokerSettings:
    """Broker settings where nothing exists yet: a new SQLite file, or a new PostgreSQL schema."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return event_broker_settings(f"sqlite:///{tmp_path / 'fresh.db'}")
    schema = f"feed_{uuid.uuid4().hex[:10]}"
    scoped = url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    return EventBrokerSettings("sql", scoped, schema=schema)


async def test_the_sql_feed_waits_for_the_broker_to_create_its_table(database_url, tmp_path, caplog):
    settings = _fresh_location(database_url, tmp_path)
    reader = Reader(broker_events(settings, poll_seconds=0.05))
    try:
        assert await reader.quiet(0.5) == []  # no table (no schema, no file) yet: the feed waits
        broker = await asyncio.to_thread(sql_broker, settings)
        published = conversation("first", 3)
        for event in published:
            broker.publish(event)
        assert [await reader.next() for _ in published] == published  # all of them: it started before the table
    finally:
        await reader.close()


async def survives_a_cut(reader: Reader, publish: Any, relay: Relay, caplog: pytest.LogCaptureFixture,
                         meanwhile: Awaitable[None]) -> None:
    """Half a conversation read; the connection cut; the other half published while the feed cannot reach its
    source (then `meanwhile`); the failure logged, not crashed; the connection restored: the second half read,
    nothing lost."""
    sender = f"test-{uuid.uuid4().hex}"
    await started(reader, publish)
    first, second = conversation(sender, 6)[:3], conversation(sender, 6)[3:]
    for event in first:
        publish(event)
    assert [await reader.next() for _ in first] == first
    with caplog.at_level(logging.WARNING, logger=feed.__name__):
        await relay.cut()
        for event in second:
            publish(event)
        await meanwhile
        assert any("failed" in record.getMessage() for record in caplog.records)  # said, not crashed
        await relay.restore()
        assert [await reader.next() for _ in second] == second


async def test_the_sql_feed_survives_the_database_going_away_and_misses_nothing(postgresql_database, caplog):
    settings = event_broker_settings(postgresql_database)
    broker = await asyncio.to_thread(sql_broker, settings)
    relay = await Relay(make_url(settings.url).host or "127.0.0.1", make_url(settings.url).port or 5432).start()
    relayed = EventBrokerSettings("sql", make_url(settings.url).set(host="127.0.0.1", port=relay.port)
                                  .render_as_string(hide_password=False), schema=settings.schema)
    reader = Reader(broker_events(relayed, poll_seconds=0.05))
    try:
        await survives_a_cut(reader, broker.publish, relay, caplog, asyncio.sleep(1.5))
    finally:
        await reader.close()
        await relay.cut()


async def test_a_row_committed_late_below_the_newest_is_not_missed(postgresql_database):
    """Two publishers at once on PostgreSQL: the row with the lower id commits after the feed read a higher one."""
    settings = event_broker_settings(postgresql_database)
    broker = await asyncio.to_thread(sql_broker, settings)
    reader = Reader(broker_events(settings, poll_seconds=0.05))
    sender = f"test-{uuid.uuid4().hex}"
    try:
        await started(reader, broker.publish)
        slow, fast = conversation(sender, 2)
        with engine_for(settings.url).connect() as held:  # takes an id, and keeps it uncommitted for now
            held.execute(text("INSERT INTO events (sender_id, data) VALUES (:s, :d)"),
                         {"s": sender, "d": json.dumps(slow)})
            broker.publish(fast)
            assert await reader.next() == fast
            held.commit()
        assert await reader.next() == slow
    finally:
        await reader.close()


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_deleting_broker_rows_for_erasure_and_retention(database_url, tmp_path):
    settings = _fresh_location(database_url, tmp_path)
    broker = sql_broker(settings)
    erased, kept = f"erased-{uuid.uuid4().hex}", f"kept-{uuid.uuid4().hex}"
    for event in conversation(erased, 3) + conversation(kept, 3):
        broker.publish(event)
    assert delete_broker_events(settings.url, conversation_ids=[erased]) == 3
    assert delete_broker_events(settings.url, before=1001.5) == 2  # kept's messages 0 and 1, by their timestamps
    with engine_for(settings.url).connect() as connection:
        left = [json.loads(data) for data in connection.execute(text("SELECT data FROM events ORDER BY id")).scalars()]
    assert [(e["sender_id"], e["text"]) for e in left] == [(kept, "message 2")]
    # The newest row stays (SQLite never hands its id out again, and a reader tails by id), emptied of its content.
    assert delete_broker_events(settings.url, before=10_000) == 1
    assert delete_broker_events(settings.url, before=10_000) == 0
    with engine_for(settings.url).connect() as connection:
        assert connection.execute(text("SELECT sender_id, data FROM events")).all() == [("", "{}")]


@pytest.mark.parametrize("database_url", BACKENDS, indirect=True)
def test_erasing_the_conversation_of_the_newest_broker_row_empties_it(database_url, tmp_path):
    settings = _fresh_location(database_url, tmp_path)
    broker = sql_broker(settings)
    kept, erased = f"kept-{uuid.uuid4().hex}", f"erased-{uuid.uuid4().hex}"
    for event in conversation(kept, 2) + conversation(erased, 2):
        broker.publish(event)
    assert delete_broker_events(settings.url, conversation_ids=[erased]) == 2
    with engine_for(settings.url).connect() as connection:
        rows = connection.execute(text("SELECT sender_id, data FROM events ORDER BY id")).all()
    assert [sender for sender, _ in rows] == [kept, kept, ""] and rows[-1][1] == "{}"
    assert erased not in "".join(data for _, data in rows)


def test_a_broker_that_never_ran_has_nothing_to_delete(tmp_path):
    assert delete_broker_events(f"sqlite:///{tmp_path / 'never-events.db'}", conversation_ids=["x"]) == 0


# --- RabbitMQ ------------------------------------------------------------------------------------------------------

@pytest.fixture
async def rabbitmq() -> AsyncIterator[EventBrokerSettings]:
    """The real RabbitMQ (required: the test fails when it does not answer), with an exchange and a queue of this
    test's own, deleted afterwards."""
    try:
        connection = await aio_pika.connect(RABBITMQ_URL, timeout=5)
    except Exception as error:
        pytest.fail(f"RabbitMQ is required for these tests and is not reachable at {RABBITMQ_URL}: {error}")
    name = uuid.uuid4().hex[:10]
    settings = EventBrokerSettings("pika", RABBITMQ_URL, exchange=f"test-exchange-{name}", queue=f"test-queue-{name}")
    yield settings
    channel = await connection.channel()
    await channel.queue_delete(settings.queue)
    await channel.exchange_delete(settings.exchange)
    await connection.close()


async def pika_broker(settings: EventBrokerSettings) -> Any:
    """Rasa's PikaEventBroker, created and connected as the Rasa server creates it from its endpoint."""
    endpoint = event_broker_endpoint(settings)
    assert endpoint.type == "pika" and endpoint.kwargs["queues"] == [settings.queue]
    broker = await EventBroker.create(endpoint)
    assert type(broker).__name__ == "PikaEventBroker" and broker.is_ready()
    return broker


async def published(broker: Any) -> None:
    """Rasa's pika broker publishes in background tasks: wait until they are done."""
    while broker._background_tasks:
        await asyncio.gather(*list(broker._background_tasks))


async def test_the_rabbitmq_feed_yields_what_rasas_pika_broker_publishes_from_now_in_order(rabbitmq):
    broker = await pika_broker(rabbitmq)
    try:
        for event in conversation("before", 3):  # waits in the queue Rasa declared, until the console starts
            broker.publish(event)
        await published(broker)
        reader = Reader(broker_events(rabbitmq))
        try:
            await started(reader, broker.publish)
            events = conversation(f"test-{uuid.uuid4().hex}", 30)
            for event in events:
                broker.publish(event)
            assert [await reader.next() for _ in events] == events
            assert await reader.quiet(0.5) == []  # what was published before it started was dropped
        finally:
            await reader.close()
    finally:
        await broker.close()


async def test_the_rabbitmq_feed_reconnects_and_loses_nothing_published_meanwhile(rabbitmq, caplog):
    broker = await pika_broker(rabbitmq)
    relay = await Relay("127.0.0.1", 5672).start()
    relayed = EventBrokerSettings("pika", f"amqp://guest:guest@127.0.0.1:{relay.port}/", exchange=rabbitmq.exchange,
                                  queue=rabbitmq.queue)
    reader = Reader(broker_events(relayed))

    async def settled() -> None:  # kept in the durable queue while the console is away
        await published(broker)
        await asyncio.sleep(1.0)

    try:
        await survives_a_cut(reader, broker.publish, relay, caplog, settled())
    finally:
        await reader.close()
        await relay.cut()
        await broker.close()


async def test_the_rabbitmq_feed_comes_back_when_its_queue_is_deleted(rabbitmq, monkeypatch):
    monkeypatch.setattr(feed, "CONSUMER_CHECK_SECONDS", 0.3)
    broker = await pika_broker(rabbitmq)
    reader = Reader(broker_events(rabbitmq))
    try:
        await started(reader, broker.publish)
        connection = await aio_pika.connect(RABBITMQ_URL)
        channel = await connection.channel()
        await channel.queue_delete(rabbitmq.queue)  # RabbitMQ cancels the console's consumer
        await connection.close()
        await asyncio.sleep(2.0)  # the feed notices, declares the queue again and binds it to Rasa's exchange
        events = conversation(f"test-{uuid.uuid4().hex}", 3)
        for event in events:
            broker.publish(event)
        assert [await reader.next() for _ in events] == events
    finally:
        await reader.close()
        await broker.close()


async def test_a_reader_with_a_private_queue_gets_its_own_copy_of_every_event(rabbitmq):
    broker = await pika_broker(rabbitmq)
    console, copies = Reader(broker_events(rabbitmq)), [Reader(broker_events(replace(rabbitmq, queue="")))
                                                        for _ in range(2)]
    try:
        for reader in (console, *copies):
            await started(reader, broker.publish)
        events = conversation(f"test-{uuid.uuid4().hex}", 5)
        for event in events:
            broker.publish(event)
        for reader in (console, *copies):  # none takes an event from another
            assert [await reader.next() for _ in events] == events
    finally:
        for reader in (console, *copies):
            await reader.close()
        await broker.close()


@pytest.mark.parametrize("delay", [0, 0.001, 0.002, 0.005, 0.05])
async def test_the_rabbitmq_feed_stops_when_cancelled_even_in_the_middle_of_closing(rabbitmq, delay):
    """A shutdown cancels every task: a second cancellation that lands while the feed closes its connection must
    not hang it (aio_pika 8.2's own close would wait forever)."""
    broker = await pika_broker(rabbitmq)
    reader = Reader(broker_events(replace(rabbitmq, queue="")))
    try:
        await started(reader, broker.publish)
        reader.task.cancel()
        await asyncio.sleep(delay)
        reader.task.cancel()
        done, _pending = await asyncio.wait({reader.task}, timeout=10)
        assert done == {reader.task}
    finally:
        await broker.close()


# --- what the tracker store publishes: the rows it wrote, redacted, with no second read -----------------------------

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [greet, inform]
slots:
  date_of_birth: {type: text, mappings: [{type: custom}]}
""")
ANSWER = "12 March 1985"


def _user(words: str, at: float) -> UserUttered:
    return UserUttered(words, {"name": "inform", "confidence": 0.9},
                       [{"entity": "date", "value": words}], timestamp=at, metadata={"client": "ip:127.0.0.1"})


TURNS: list[list[Event]] = [
    [ActionExecuted("action_session_start", timestamp=1.0), SessionStarted(timestamp=1.1),
     ActionExecuted("action_listen", timestamp=1.2), _user("hi", 1.3),
     BotUttered("And your date of birth, please?", timestamp=1.4),
     SlotSet("requested_slot", "date_of_birth", timestamp=1.5), ActionExecuted("action_listen", timestamp=1.6)],
    [_user(ANSWER, 2.0), SlotSet("date_of_birth", ANSWER, timestamp=2.1),
     SlotSet("requested_slot", None, timestamp=2.2), BotUttered("Thank you", timestamp=2.3),
     ActionExecuted("action_listen", timestamp=2.4)],
    [_user("what do I owe", 3.0), BotUttered("1,234.56", {"buttons": [{"title": "Pay", "payload": "/pay"}]},
                                             {"agent": "alex"}, timestamp=3.1),
     ActionExecuted("action_listen", timestamp=3.2)],
]


async def _converse(store: RedactingSQLTrackerStore, sender: str) -> None:
    for events in TURNS:
        tracker = await store.retrieve(sender) or DialogueStateTracker(sender, DOMAIN.slots)
        for event in events:
            tracker.update(event, DOMAIN)
        await store.save(tracker)
    await store.save(tracker)  # saved again as it is: nothing new is published
    store.published()  # the SQL broker's rows are written behind the turn


def _assert_redacted_rows_published(database_url: str, sender: str, events: list[dict[str, Any]]) -> None:
    with engine_for(database_url).connect() as connection:
        rows = [json.loads(data) for data in connection.execute(
            text("SELECT data FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}).scalars()]
    assert len(rows) == sum(len(turn) for turn in TURNS)
    assert events == [{"sender_id": sender, **row} for row in rows]  # exactly the rows, as Rasa's body, in order
    answer = next(e for e in events if e["event"] == "user" and e["timestamp"] == 2.0)
    assert answer["text"] == WITHHELD and answer["parse_data"]["text"] == WITHHELD
    assert answer["parse_data"]["entities"][0]["value"] == WITHHELD and answer["metadata"] == {"client": "ip:127.0.0.1"}
    assert [e["value"] for e in events if e.get("name") == "date_of_birth"] == [WITHHELD]
    assert "1985" not in json.dumps([{k: v for k, v in e.items() if k != "timestamp"} for e in events])
    agent = next(e for e in events if e["event"] == "bot" and e.get("metadata"))
    assert agent["metadata"] == {"agent": "alex"} and agent["data"]["buttons"][0]["payload"] == "/pay"


async def test_the_store_publishes_to_the_sql_broker_exactly_its_redacted_rows(database_url, monkeypatch):
    settings = event_broker_settings(database_url)
    broker = await asyncio.to_thread(sql_broker, settings)
    store = RedactingSQLTrackerStore(DOMAIN, host=database_url, event_broker=broker)
    reads = []
    read = store._retrieve
    monkeypatch.setattr(store, "_retrieve", lambda *args, **kwargs: reads.append(args) or read(*args, **kwargs))
    reader = Reader(broker_events(settings, poll_seconds=0.05))
    sender = f"test-{uuid.uuid4().hex}"
    try:
        await started(reader, broker.publish)
        await _converse(store, sender)
        assert len(reads) == len(TURNS)  # one read per turn (the turn's own): publishing reads nothing more
        events = [await reader.next() for _ in range(sum(len(turn) for turn in TURNS))]
        assert await reader.quiet(0.3) == []
        _assert_redacted_rows_published(database_url, sender, events)
    finally:
        await reader.close()


async def test_the_store_publishes_to_rabbitmq_exactly_its_redacted_rows(sqlite_database, rabbitmq):
    broker = await pika_broker(rabbitmq)
    store = RedactingSQLTrackerStore(DOMAIN, host=sqlite_database, event_broker=broker)
    reader = Reader(broker_events(rabbitmq))
    sender = f"test-{uuid.uuid4().hex}"
    try:
        await started(reader, broker.publish)
        await _converse(store, sender)
        events = [await reader.next() for _ in range(sum(len(turn) for turn in TURNS))]
        assert await reader.quiet(0.3) == []
        _assert_redacted_rows_published(sqlite_database, sender, events)
    finally:
        await reader.close()
        await broker.close()
