"""What the actions share: today's date, the unit of work use cases run in, reading answers."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from rasa_sdk import Tracker

from bot.services.unit_of_work import AbstractUnitOfWork, SqlUnitOfWork

Events = list[dict[str, Any]]  # what an action returns: rasa_sdk's events (SlotSet, FollowupAction, ...)

# The unit of work each use case an action calls runs in: the database, at the real time. Unit tests of the
# actions hand in a FakeUnitOfWork instead.
unit_of_work_factory: Callable[[], AbstractUnitOfWork] = SqlUnitOfWork


def new_unit_of_work() -> AbstractUnitOfWork:
    return unit_of_work_factory()


def today() -> date:
    return datetime.now(UTC).date()


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def answer_text(tracker: Tracker, not_answers: frozenset[str]) -> str | None:
    """The message as an answer to a form's question, or None when the person is doing something else."""
    return None if latest_intent(tracker) in not_answers else tracker.latest_message.get("text") or ""


def earlier_user_intent(events: list[dict[str, Any]], skip: int = 0) -> str | None:
    """The intent of a user message among `events`, counting back from the last one and skipping `skip` of them."""
    turns = [event for event in events if event.get("event") == "user"]
    if len(turns) <= skip:
        return None
    intent: str | None = ((turns[-1 - skip].get("parse_data") or {}).get("intent") or {}).get("name")
    return intent
