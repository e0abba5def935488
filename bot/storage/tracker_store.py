"""Rasa's SQL tracker store, minus the verification answers: they are never written to the database.

Rasa keeps every event of a conversation, the debtor's messages included, so the message that answered
"what is your date of birth?" (or, by SMS, "your date of birth or postcode?") would sit in the `events`
table in clear for as long as the conversation is kept. This store redacts, as each event is serialised
for saving, the text (and the text and entity values inside parse_data) of every user message that
answered that question, and the value of every `date_of_birth` slot. The tracker in memory, which the
form validates in this turn, is left as it is: only what is persisted is redacted.

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
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import AllSlotsReset, Event, Restarted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import insert
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
        await self.stream_events(tracker)
        await asyncio.to_thread(self._save_now, tracker)

    def _save_now(self, tracker: DialogueStateTracker) -> None:
        """Rasa's `save`: the events not yet stored, redacted, each as a row (in one INSERT)."""
        with self.session_scope() as session:
            rows = []
            for event in self._additional_events(session, tracker):
                data = event.as_dict()
                rows.append({"sender_id": tracker.sender_id, "type_name": event.type_name,
                             "timestamp": data.get("timestamp"),
                             "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                             "action_name": data.get("name"), "data": json.dumps(data)})
            if rows:
                session.execute(insert(self.SQLEvent.__table__), rows)
            session.commit()

    def _additional_events(self, session, tracker: DialogueStateTracker) -> Iterator:
        """The events not yet stored, redacted. Rasa counts the session's rows again; when this tracker is the
        one `retrieve` built, that count is the number of rows it was built from."""
        stored = tracker.__dict__.pop(ROWS_READ, None)  # spent: a second save of this tracker counts again
        if stored is None:
            stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
        return redacted(tracker.events, stored)
