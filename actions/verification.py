"""Right-party verification form: reference, then date of birth; three failures lock it."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.account import tell_balance
from actions.cases import CASE_TOPICS, record_cease
from actions.common import answer_text, today
from actions.negotiation import AGREEMENT_TYPES
from bot.domain.dates import past_dates_in
from bot.domain.verification import is_locked
from bot.services import identity, sms

# Intents that interrupt the form: their rules answer them instead of reading the text as a slot value.
INTERRUPTIONS = frozenset({
    "bot_challenge", "request_human", "stop_contact", "wrong_person", "attorney", "bankruptcy", "deceased",
    "complain", "goodbye", "deny",
})


class ValidateVerificationForm(FormValidationAction):
    def name(self) -> str:
        return "validate_verification_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        if tracker.get_slot("verification_locked"):
            return []
        # A texter's number on file stands in for the reference (SPEC 2.1).
        return ["date_of_birth"] if tracker.get_slot("identified_by_phone") else domain_slots

    async def extract_account_ref(self, dispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        text = answer_text(tracker, INTERRUPTIONS)
        if text is None or tracker.get_slot("account_ref"):
            return {}
        requested = tracker.get_slot("requested_slot") == "account_ref"
        reference = identity.likely_reference(text, whole_message_may_be_ref=requested)
        if reference:
            return {"account_ref": reference}
        if requested:
            dispatcher.utter_message(response="utter_not_a_reference")
            return {"account_ref": None}
        return {}

    async def extract_date_of_birth(self, dispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        text = answer_text(tracker, INTERRUPTIONS)
        if text is None or tracker.get_slot("date_of_birth"):
            return {}
        if tracker.get_slot("identified_by_phone"):  # a date of birth or a postcode: any answer is tried
            return {"date_of_birth": text} if tracker.get_slot("requested_slot") == "date_of_birth" else {}
        if not tracker.get_slot("account_ref"):
            return {}
        if past_dates_in(text, today()):
            return {"date_of_birth": text}
        if tracker.get_slot("requested_slot") == "date_of_birth":
            dispatcher.utter_message(response="utter_not_a_date")
            return {"date_of_birth": None}
        return {}

    async def validate_date_of_birth(self, value, dispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if tracker.get_slot("identified_by_phone"):
            account_ref = identity.verify_by_phone(sms.phone_of(tracker.sender_id), value or "", tracker.sender_id,
                                                   today())
            if account_ref:
                return {"account_ref": account_ref, "date_of_birth": value, "verified": True}
            return self._failed(dispatcher, tracker)
        account_ref = tracker.get_slot("account_ref")
        if not value or not account_ref:
            return {"date_of_birth": None}
        if identity.verify(account_ref, value, tracker.sender_id, today()):
            return {"date_of_birth": value, "verified": True}
        return self._failed(dispatcher, tracker)

    @staticmethod
    def _failed(dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        failures = int(tracker.get_slot("verification_failures") or 0) + 1
        locked = is_locked(failures)
        if not locked:
            dispatcher.utter_message(response="utter_verification_failed")
        return {"account_ref": None, "date_of_birth": None, "verification_failures": failures,
                "verification_locked": locked}

class ActionAfterVerification(Action):
    """Disclosure once, then the question that prompted verification; or the lock-out message."""

    def name(self) -> str:
        return "action_after_verification"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        if not tracker.get_slot("verified"):
            if tracker.get_slot("verification_locked"):
                dispatcher.utter_message(response="utter_verification_locked",
                                         agency_phone=tracker.get_slot("agency_phone"))
            return []
        events: list = []
        if not tracker.get_slot("disclosure_given"):
            dispatcher.utter_message(response="utter_disclosure", agency_name=tracker.get_slot("agency_name"))

            events.append(SlotSet("disclosure_given", True))
        request = _intent_that_started_verification(tracker)
        if request in AGREEMENT_TYPES:  # they asked to agree something: go straight on to it
            return events + [SlotSet("agreement_type", AGREEMENT_TYPES[request]), FollowupAction("agreement_form")]
        if request in CASE_TOPICS:
            reason = [SlotSet("case_reason", "already_paid")] if request == "already_paid" else []
            return events + reason + [SlotSet("case_topic", CASE_TOPICS[request]), FollowupAction("case_form")]
        if request == "stop_contact":  # done here: a follow-up action would leave the rules no next step
            return events + record_cease(dispatcher, tracker)
        if request == "ask_balance":
            tell_balance(dispatcher, tracker)
        else:
            dispatcher.utter_message(response="utter_how_can_i_help")
        return events

def _intent_that_started_verification(tracker: Tracker) -> str | None:
    """The intent of the last user message before the verification form became active."""
    events = tracker.events
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "active_loop" and event.get("name") == "verification_form":
            for earlier in reversed(events[:index]):
                if earlier.get("event") == "user":
                    return ((earlier.get("parse_data") or {}).get("intent") or {}).get("name")
            return None
    return None
