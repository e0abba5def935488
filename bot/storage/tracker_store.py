"""Rasa's SQL tracker store, minus the verification answers: they are never written to the database.

Rasa keeps every event of a conversation, the debtor's messages included, so the message that answered
"what is your date of birth?" (or, by SMS, "your date of birth or postcode?") would sit in the `events`
table in clear for as long as the conversation is kept. This store redacts, as each event is serialised
for saving, the text (and the text and entity values inside parse_data) of every user message that
answered that question, and the value of every `date_of_birth` slot. The tracker in memory, which the
form validates in this turn, is left as it is: only what is persisted is redacted.

What the store publishes to Rasa's event broker (the agent console's live feed) is exactly what it writes, redacted
the same way, once the rows are committed (see the end of this module).

Registered in endpoints.yml as `type: bot.storage.tracker_store.RedactingSQLTrackerStore` (Rasa falls back to
an in-memory store without a word if the class cannot be imported, so the tests check the table itself).

Each turn reads the conversation once and writes its new events once; what Rasa's store does besides, this one
does more cheaply, with the same rows read and written (bench/turn_profile.py measures it):
- it remembers the events it has already deserialised, by row id and stored text, so a turn deserialises only
  the rows written since the last (rebuilding a Rasa event from its JSON is most of a retrieve's time);
- `save` knows how many rows of the session the tracker it is given was built from, instead of counting them again;
- the new rows go in as one multi-row INSERT;
- the database work runs in a worker thread, so that while one conversation waits for its commit (an fsync) the
  server goes on with the others' turns (Rasa's store blocks the event loop);
- it uses the engine of the rest of our code (`bot.storage.db.engine_for`: the same connection settings, e.g.
  SQLite's 30 s busy timeout where Rasa's engine gives up after 5 s).
"""
from __future__ import annotations

import asyncio
import copy
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.brokers.sql import SQLEventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import AllSlotsReset, Event, Restarted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import delete, insert, inspect, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import sessionmaker

from bot.storage.db import create_private_sqlite_file, engine_for

logger = logging.getLogger(__name__)

WITHHELD = "[date of birth withheld]"
SECRET_SLOT = "date_of_birth"  # its question takes the date of birth (or, by SMS, the postcode)


class _Serialised:
    """An event as it is to be written: what Rasa's `save` reads of an event (its type and its dict)."""

    def __init__(self, event: Event, data: dict[str, Any]):
        self.type_name = event.type_name
        self._data = data

    def as_dict(self) -> dict[str, Any]:
        return self._data


def _redacted_message(data: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(data)  # the event in memory keeps its text
    data["text"] = WITHHELD
    parse_data = data.get("parse_data")
    if isinstance(parse_data, dict):
        parse_data["text"] = WITHHELD
        for entity in parse_data.get("entities") or []:
            if isinstance(entity, dict) and "value" in entity:
                entity["value"] = WITHHELD
    return data


def redacted(events: Iterable[Event], start: int = 0) -> Iterator[_Serialised]:
    """The events from index `start` on, serialised, with verification answers withheld.

    A user message is an answer when the form's `requested_slot` in force just before it was the date of
    birth, or when its text became the `date_of_birth` slot's value (a reference and a date in one message).
    """
    events = list(events)
    answers = {str(e.value).strip() for e in events if isinstance(e, SlotSet) and e.key == SECRET_SLOT and e.value}
    requested: Any = None
    for index, event in enumerate(events):
        if index >= start:
            data = event.as_dict()
            if isinstance(event, UserUttered) and (
                    requested == SECRET_SLOT or (event.text or "").strip() in answers):
                data = _redacted_message(data)
            elif isinstance(event, SlotSet) and event.key == SECRET_SLOT and event.value is not None:
                data = {**data, "value": WITHHELD}
            yield _Serialised(event, data)
        if isinstance(event, SlotSet) and event.key == "requested_slot":
            requested = event.value
        elif isinstance(event, (Restarted, SessionStarted, AllSlotsReset)):
            requested = None


# Conversations whose deserialised events are kept (the latest session of each): enough for every conversation
# going on at once; one that comes back later is read in full once.
REMEMBERED_CONVERSATIONS = 2000
# Set by `retrieve` on the tracker it builds: how many rows of the session it was built from.
ROWS_READ = "_rows_read_by_redacting_store"


class _ParsedEvents:
    """The events already rebuilt from their rows, per conversation: row id -> (stored text, event or None).

    A row is reused only while its stored text is the same, so a row changed or deleted by anyone (`erase`,
    `purge`) is read again or not at all. Rasa treats events as immutable once on a tracker, so one event object
    may serve the trackers of successive turns.
    """

    def __init__(self, conversations: int = REMEMBERED_CONVERSATIONS):
        self.conversations = conversations
        self._by_conversation: OrderedDict[str, dict[int, tuple[str, Event | None]]] = OrderedDict()
        self._lock = threading.Lock()  # conversations are read in several worker threads at once

    def events(self, sender_id: str, rows: list[tuple[int, str]], remember: bool) -> list[Event]:
        """The events of `rows` (id, data), as `DialogueStateTracker.from_dict` would rebuild them."""
        with self._lock:
            known = self._by_conversation.get(sender_id, {})
        parsed: dict[int, tuple[str, Event | None]] = {}
        events = []
        for row_id, data in rows:
            entry = known.get(row_id)
            if entry is None or entry[0] != data:
                entry = (data, _deserialised(json.loads(data)))
            parsed[row_id] = entry
            if entry[1] is not None:
                events.append(entry[1])
        if remember:  # the latest session's rows, and only those: what the next turn reads
            with self._lock:
                self._by_conversation[sender_id] = parsed
                self._by_conversation.move_to_end(sender_id)
                while len(self._by_conversation) > self.conversations:
                    self._by_conversation.popitem(last=False)
        return events


def _deserialised(data: dict[str, Any]) -> Event | None:
    """`rasa.shared.core.events.deserialise_events` for one event: None for what it would leave out."""
    if "event" not in data:
        return None
    event = Event.from_parameters(data)
    if event is None:
        logger.warning("a stored event could not be deserialised: %s", data.get("event"))
    return event


class RedactingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose saved events never hold a date-of-birth answer; everything else is Rasa's."""

    engine: Engine

    def __init__(self, domain=None, host: str | None = None, **kwargs: Any) -> None:
        if host and host.startswith("sqlite"):
            create_private_sqlite_file(make_url(host).database)  # 0600, like the rest of our database
        super().__init__(domain=domain, host=host, **kwargs)  # creates the table if need be
        if host and "://" in host:  # a database URL (endpoints.yml's DATABASE_URL), which is all we configure
            self.engine.dispose()
            self.engine = engine_for(host)
            self.sessionmaker = sessionmaker(bind=self.engine)
        self._parsed = _ParsedEvents()
        if isinstance(self.event_broker, SQLEventBroker):
            _use_our_engine(self.event_broker)

    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        return await asyncio.to_thread(self._retrieve_now, sender_id, fetch_events_from_all_sessions)

    def _retrieve_now(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        """Rasa's `_retrieve` (the same query and the same tracker), rebuilding only the events not seen before."""
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=fetch_events_from_all_sessions
                                     ).with_entities(self.SQLEvent.id, self.SQLEvent.data).all()
        if not (self.domain and rows):
            return None
        events = self._parsed.events(sender_id, rows, remember=not fetch_events_from_all_sessions)
        tracker = DialogueStateTracker.from_events(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions:
            setattr(tracker, ROWS_READ, len(rows))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        new = await asyncio.to_thread(self._save_now, tracker)
        if new and self.event_broker is not None and not isinstance(self.event_broker, SQLEventBroker):
            _publish(self.event_broker, tracker.sender_id, new)  # the SQL broker's were written with the rows

    def _save_now(self, tracker: DialogueStateTracker) -> list[dict[str, Any]]:
        """Rasa's `save`: the events not yet stored, redacted, each as a row (in one INSERT); then, once they are
        committed, the same to an SQL event broker. The new events' dicts, as written."""
        with self.session_scope() as session:
            rows, new = [], []
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                new.append(data)
                rows.append({"sender_id": tracker.sender_id, "type_name": event.type_name,
                             "timestamp": data.get("timestamp"),
                             "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                             "action_name": data.get("name"), "data": json.dumps(data)})
            if rows:
                session.execute(insert(self.SQLEvent.__table__), rows)
            session.commit()
        if new and isinstance(self.event_broker, SQLEventBroker):
            # Not waited for: the turn is saved, and the broker's commit (a second fsync on SQLite) would add its
            # time to every turn. One writer thread keeps the events in the order they were saved.
            _BROKER_WRITER.submit(_publish_to_sql, self.event_broker, tracker.sender_id, new)
        return new

    @staticmethod
    def published() -> None:
        """Wait until every event saved so far has reached the SQL broker (tests, and a clean shutdown)."""
        _BROKER_WRITER.submit(lambda: None).result()

    async def stream_events(self, tracker: DialogueStateTracker) -> None:
        """Rasa's `stream_events` (which `save` does not call: it publishes what it writes): the events the
        database does not hold yet, redacted as they would be written, to the event broker."""
        if self.event_broker is None:
            return

        def unsaved() -> list[dict[str, Any]]:
            with self.session_scope() as session:
                stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
            return [event.as_dict() for event in redacted(tracker.events, stored)]

        new = await asyncio.to_thread(unsaved)
        if isinstance(self.event_broker, SQLEventBroker):
            await asyncio.to_thread(_publish_to_sql, self.event_broker, tracker.sender_id, new)
        else:
            _publish(self.event_broker, tracker.sender_id, new)

    def _additional_events(self, session, tracker: DialogueStateTracker) -> Iterator:
        """The events not yet stored, redacted. Rasa counts the session's rows again; when this tracker is the
        one `retrieve` built, that count is the number of rows it was built from."""
        stored = tracker.__dict__.pop(ROWS_READ, None)  # spent: a second save of this tracker counts again
        if stored is None:
            stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
        return redacted(tracker.events, stored)


# --- The event broker: what the agent console sees live (bot/console/feed.py) --------------------------------------
# Rasa's stores publish each new event, before saving, as `{"sender_id": ..., **event.as_dict()}`, and find the new
# events by reading the conversation again. This store publishes exactly the rows it has just committed, redacted as
# they were written (a date-of-birth answer never reaches the broker), with no second read; the SQL broker's rows go
# in with one INSERT in the same worker thread (Rasa's SQL broker commits once per event, on the event loop).


def _bodies(sender_id: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"sender_id": sender_id, **data} for data in events]


def _publish(broker: EventBroker, sender_id: str, events: list[dict[str, Any]]) -> None:
    """Each event as Rasa's `TrackerStore._stream_new_events` publishes it; a broker's failure never fails a turn."""
    for body in _bodies(sender_id, events):
        try:
            broker.publish(body)
        except Exception:
            logger.exception("an event of conversation %s could not be published to the event broker", sender_id)


_BROKER_WRITER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="event-broker")


def _publish_to_sql(broker: SQLEventBroker, sender_id: str, events: list[dict[str, Any]]) -> None:
    """The rows Rasa's SQLEventBroker.publish writes (sender_id, the body's JSON), in order, in one transaction."""
    if not events:
        return
    rows = [{"sender_id": sender_id, "data": json.dumps(body)} for body in _bodies(sender_id, events)]
    try:
        with broker.session_scope() as session:
            session.execute(insert(broker.SQLBrokerEvent.__table__), rows)
            session.commit()
    except Exception:  # the turn is saved: the console misses these events (and says so in its log), nothing else
        logger.exception("%d event(s) of conversation %s could not be published to the SQL event broker",
                         len(rows), sender_id)


def _use_our_engine(broker: SQLEventBroker) -> None:
    """The broker writes through `bot.storage.db.engine_for` like the store (SQLite: WAL, so the console's reads
    never hold up a write, and a 30 s busy timeout; PostgreSQL: connections checked before use)."""
    url = broker.engine.url.render_as_string(hide_password=False)
    if "://" not in url:
        return
    broker.engine.dispose()
    broker.engine = engine_for(url)
    broker.sessionmaker = sessionmaker(bind=broker.engine)


def delete_broker_events(url: str, *, conversation_ids: Iterable[str] | None = None,
                         before: float | None = None) -> int:
    """Delete rows from the SQL event broker's `events` table at `url`; how many.

    The broker holds a copy of every message (redacted as the tracker store's rows are), so erasing a debtor's
    conversations (`conversation_ids`) or purging old texts (`before`: a Unix time, compared with the events' own
    timestamps) must reach it too. The newest row is always kept, so that SQLite never hands its id out again and a
    reader tailing by id (bot/console/feed.py) misses nothing. Rows are read oldest first, a chunk at a time, up to
    the first one not older than `before`.
    """
    table = SQLEventBroker.SQLBrokerEvent.__table__
    engine = engine_for(url)
    with engine.connect() as connection:
        if not inspect(connection).has_table(table.name):  # the broker never ran here: nothing to delete
            return 0
        newest = connection.execute(select(table.c.id).order_by(table.c.id.desc()).limit(1)).scalar()
    if newest is None:
        return 0
    deleted = 0
    if conversation_ids is not None:
        ids = list(conversation_ids)
        for start in range(0, len(ids), 500):
            with engine.begin() as connection:
                deleted += connection.execute(delete(table).where(
                    table.c.sender_id.in_(ids[start:start + 500]), table.c.id != newest)).rowcount
        with engine.begin() as connection:  # the newest row stays, emptied of the conversation it belonged to
            deleted += connection.execute(update(table).where(table.c.id == newest, table.c.sender_id.in_(ids))
                                          .values(sender_id="", data="{}")).rowcount
    after = 0
    while before is not None:
        with engine.begin() as connection:
            chunk = connection.execute(select(table.c.id, table.c.data).where(table.c.id > after, table.c.id < newest)
                                       .order_by(table.c.id).limit(1000)).all()
            old = [row_id for row_id, data in chunk if _timestamp(data) < before]
            if old:
                deleted += connection.execute(delete(table).where(table.c.id.in_(old))).rowcount
        if len(old) < len(chunk) or not chunk:
            break
        after = chunk[-1][0]
    if before is not None:
        with engine.begin() as connection:  # the newest row stays; when it is old too, without its content
            data = connection.execute(select(table.c.data).where(table.c.id == newest)).scalar()
            if data != "{}" and _timestamp(data) < before:
                deleted += connection.execute(update(table).where(table.c.id == newest)
                                              .values(sender_id="", data="{}")).rowcount
    return deleted


def _timestamp(data: str | None) -> float:
    """An event row's own timestamp; none readable counts as old (nothing to keep it for)."""
    try:
        timestamp = json.loads(data or "").get("timestamp")
    except (ValueError, AttributeError):
        return float("-inf")
    return float(timestamp) if isinstance(timestamp, (int, float)) else float("-inf")


def prepare_sql_event_broker(url: str, schema: str | None = None) -> None:
    """Make the SQL broker's database ready before Rasa's SQLEventBroker opens it (it creates only its table).

    SQLite: the file is created 0600 (it holds conversation texts) and in WAL mode, through `engine_for`, before
    SQLAlchemy would create it world-readable. PostgreSQL: the broker's schema (bot.config.EVENT_BROKER_SCHEMA).
    """
    engine = engine_for(url)
    if schema is None:
        with engine.connect():
            return
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    except Exception:  # two servers starting at once: IF NOT EXISTS is not atomic in PostgreSQL
        with engine.connect() as connection:
            if not connection.exec_driver_sql(
                    "SELECT 1 FROM information_schema.schemata WHERE schema_name = %(name)s", {"name": schema}).first():
                raise
