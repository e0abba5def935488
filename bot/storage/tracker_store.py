"""Rasa's SQL tracker store, minus the verification answers: they are never written to the database.

Rasa keeps every event of a conversation, the debtor's messages included, so the message that answered
"what is your date of birth?" (or, by SMS, "your date of birth or postcode?") would sit in the `events`
table in clear for as long as the conversation is kept. This store redacts, as each event is serialised
for saving, the text (and the text and entity values inside parse_data) of every user message that
answered that question, and the value of every `date_of_birth` slot. The tracker in memory, which the
form validates in this turn, is left as it is: only what is persisted is redacted.

Registered in endpoints.yml as `type: bot.storage.tracker_store.RedactingSQLTrackerStore` (Rasa falls back to
an in-memory store without a word if the class cannot be imported, so the tests check the table itself).
"""
from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import AllSlotsReset, Event, Restarted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.storage.db import create_private_sqlite_file

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


class RedactingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose saved events never hold a date-of-birth answer; everything else is Rasa's."""

    def __init__(self, domain=None, host: str | None = None, **kwargs: Any) -> None:
        if host and host.startswith("sqlite"):
            create_private_sqlite_file(make_url(host).database)  # 0600, like the rest of our database
        super().__init__(domain=domain, host=host, **kwargs)

    def _additional_events(self, session, tracker: DialogueStateTracker) -> Iterator:
        """Rasa's `save` writes what this returns: the events not yet stored, redacted."""
        stored = self._event_query(session, tracker.sender_id, fetch_events_from_all_sessions=False).count()
        return redacted(tracker.events, stored)
