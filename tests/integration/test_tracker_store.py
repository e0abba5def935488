"""The redacting tracker store reads and writes what Rasa's own SQL store does, on both backends, while it keeps the
events it has deserialised and the number of rows a tracker was read from (issue 11, turn latency)."""
from __future__ import annotations

import asyncio
import json
import uuid

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from sqlalchemy import text

from bot.storage.db import engine_for
from bot.storage.tracker_store import WITHHELD, RedactingSQLTrackerStore

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [greet, inform]
slots:
  date_of_birth: {type: text, mappings: [{type: custom}]}
  account_ref: {type: text, mappings: [{type: custom}]}
""")


def _user(words: str, at: float) -> UserUttered:
    return UserUttered(words, {"name": "inform", "confidence": 0.9}, [], timestamp=at)


# What each turn adds to the tracker, as the processor would: a new session starts in turn 3.
TURNS: list[list[Event]] = [
    [ActionExecuted("action_session_start", timestamp=1.0), SessionStarted(timestamp=1.1),
     ActionExecuted("action_listen", timestamp=1.2), _user("hi", 1.3), BotUttered("hello", timestamp=1.4),
     SlotSet("requested_slot", "date_of_birth", timestamp=1.5), ActionExecuted("action_listen", timestamp=1.6)],
    [_user("12 March 1985", 2.0), SlotSet("date_of_birth", "12 March 1985", timestamp=2.1),
     SlotSet("requested_slot", None, timestamp=2.2), ActionExecuted("action_listen", timestamp=2.3)],
    [ActionExecuted("action_session_start", timestamp=3.0), SessionStarted(timestamp=3.1),
     SlotSet("account_ref", "ACC-1001", timestamp=3.2), ActionExecuted("action_listen", timestamp=3.3),
     _user("what do I owe", 3.4), BotUttered("1,234.56", timestamp=3.5),
     ActionExecuted("action_listen", timestamp=3.6)],
    [_user("thanks", 4.0), BotUttered("you're welcome", timestamp=4.1), ActionExecuted("action_listen", timestamp=4.2)],
]


def _converse(store: SQLTrackerStore, sender: str) -> None:
    async def turns() -> None:
        for events in TURNS:
            tracker = await store.retrieve(sender) or DialogueStateTracker(sender, DOMAIN.slots)
            for event in events:
                tracker.update(event, DOMAIN)
            await store.save(tracker)
        await store.save(tracker)  # saved again as it is: nothing new may be written

    asyncio.run(turns())


def _rows(url: str, sender: str) -> list[dict]:
    with engine_for(url).connect() as connection:
        return [dict(row) for row in connection.execute(text(
            "SELECT type_name, timestamp, intent_name, action_name, data FROM events WHERE sender_id = :s ORDER BY id"),
            {"s": sender}).mappings()]


def _read(store: SQLTrackerStore, sender: str, full: bool = False) -> list[dict]:
    read = store.retrieve_full_tracker if full else store.retrieve
    tracker = asyncio.run(read(sender))
    return tracker.current_state(EventVerbosity.ALL)["events"]


def test_the_store_writes_the_rows_rasas_store_writes_with_the_answers_withheld(database_url):
    ours, rasas = RedactingSQLTrackerStore(DOMAIN, host=database_url), SQLTrackerStore(DOMAIN, host=database_url)
    mine, theirs = f"test-{uuid.uuid4().hex}", f"test-{uuid.uuid4().hex}"
    _converse(ours, mine)
    _converse(rasas, theirs)

    written, expected = _rows(database_url, mine), _rows(database_url, theirs)
    assert len(written) == sum(len(events) for events in TURNS)  # every event once, none twice
    for row, rasa_row in zip(written, expected, strict=True):
        data, rasa_data = json.loads(row.pop("data")), json.loads(rasa_row.pop("data"))
        assert row == rasa_row
        if rasa_data.get("text") == "12 March 1985" or rasa_data.get("value") == "12 March 1985":
            kept = json.dumps({k: v for k, v in data.items() if k != "timestamp"})  # the clock's digits may hold 1985
            assert WITHHELD in kept and "1985" not in kept
        else:
            assert data == rasa_data


def test_the_store_reads_what_rasas_store_reads_also_after_rows_change_under_it(database_url):
    ours, rasas = RedactingSQLTrackerStore(DOMAIN, host=database_url), SQLTrackerStore(DOMAIN, host=database_url)
    sender = f"test-{uuid.uuid4().hex}"
    _converse(ours, sender)
    assert _read(ours, sender) == _read(rasas, sender)  # the latest session
    assert _read(ours, sender, full=True) == _read(rasas, sender, full=True)

    # What the store remembers never outlives the rows: one changed, one deleted (`erase`, `purge` delete rows).
    with engine_for(database_url).begin() as connection:
        ids = list(connection.execute(text("SELECT id FROM events WHERE sender_id = :s AND type_name = 'user' "
                                           "ORDER BY id"), {"s": sender}).scalars())
        changed = json.dumps({**_user("thank you", 4.0).as_dict()})
        connection.execute(text("UPDATE events SET data = :d WHERE id = :i"), {"d": changed, "i": ids[-1]})
        connection.execute(text("DELETE FROM events WHERE id = :i"), {"i": ids[-2]})
    now = _read(ours, sender)
    assert now == _read(rasas, sender)
    assert [e["text"] for e in now if e["event"] == "user"] == ["thank you"]
