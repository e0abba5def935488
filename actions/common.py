"""What the actions share: today's date, the request topics, and the holding replies."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.services import accounts, audit
from bot.storage.db import unit_of_work

# Questions about a debt: answered only once the person is verified.
ACCOUNT_REQUESTS = frozenset({
    "ask_balance", "request_payment_plan", "request_settlement", "pay_in_full", "promise_to_pay",
    "dispute", "already_paid", "hardship",
})


def today() -> date:
    return datetime.now(timezone.utc).date()


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def answer_text(tracker: Tracker, not_answers: frozenset[str]) -> str | None:
    """The message as an answer to a form's question, or None when the person is doing something else."""
    return None if latest_intent(tracker) in not_answers else tracker.latest_message.get("text") or ""


def note_request(dispatcher: CollectingDispatcher, tracker: Tracker, intent: str) -> None:
    """Holding reply for a capability still to come; the request is noted for the team in the audit log."""
    account_ref = tracker.get_slot("account_ref") if tracker.get_slot("verified") else None
    with unit_of_work() as session:
        account = accounts.find(session, account_ref) if account_ref else None
        audit.record(session, "request_noted", account=account, conversation_id=tracker.sender_id,
                     intent=intent, text=(tracker.latest_message.get("text") or "")[:500])
    dispatcher.utter_message(response=f"utter_noted_{intent}", **_slots(tracker))


def _slots(tracker: Tracker) -> dict[str, Any]:
    return {name: tracker.get_slot(name) for name in ("account_ref", "agency_name", "agency_phone")}
