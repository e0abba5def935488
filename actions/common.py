"""What the actions share: today's date, the requests that need verification, reading answers."""
from __future__ import annotations

from datetime import date, datetime, timezone

from rasa_sdk import Tracker

def today() -> date:
    return datetime.now(timezone.utc).date()


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def answer_text(tracker: Tracker, not_answers: frozenset[str]) -> str | None:
    """The message as an answer to a form's question, or None when the person is doing something else."""
    return None if latest_intent(tracker) in not_answers else tracker.latest_message.get("text") or ""

