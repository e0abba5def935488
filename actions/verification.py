"""Right-party verification form: reference, then date of birth; only real answers count as attempts.

Three failures lock the conversation (SPEC 2.1); the service `identity` also refuses attempts on a reference,
a number or a client that failed too often elsewhere (bot.domain.verification says when).
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.account import tell_balance
from actions.cases import record_cease
from actions.common import answer_text, earlier_user_intent, latest_intent, today
from bot.domain.flows import AGREEMENT_TYPES, CASE_TOPICS, SMALL_TALK
from bot.domain.flows import VERIFICATION_INTERRUPTIONS as INTERRUPTIONS
from bot.domain.verification import AnswerKind, is_locked, read_answer
from bot.services import identity, sms
from bot.services.identity import Outcome
from bot.services.unit_of_work import SqlUnitOfWork


def client_of(tracker: Tracker) -> str | None:
    """Who is answering, as the channel saw them ("ip:..." or "phone:..."); None where no channel said."""
    return (tracker.latest_message.get("metadata") or {}).get("client")


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
        with SqlUnitOfWork() as uow:
            reference = identity.likely_reference(uow, text)
        if reference:
            return {"account_ref": reference}
        if tracker.get_slot("requested_slot") == "account_ref":  # asked again; nothing is counted
            if latest_intent(tracker) not in SMALL_TALK:
                dispatcher.utter_message(response="utter_not_a_reference")
            return {"account_ref": None}
        return {}

    async def extract_date_of_birth(self, dispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        """Only one date (or, by SMS, a postcode) is an attempt; anything else is asked again, not counted."""
        text = answer_text(tracker, INTERRUPTIONS)
        if text is None or tracker.get_slot("date_of_birth"):
            return {}
        by_phone = bool(tracker.get_slot("identified_by_phone"))
        asked = tracker.get_slot("requested_slot") == "date_of_birth"
        if (by_phone and not asked) or (not by_phone and not tracker.get_slot("account_ref")):
            return {}
        answer = read_answer(text, today(), postcode_allowed=by_phone)
        if answer.is_attempt:
            return {"date_of_birth": text}
        if answer.kind is AnswerKind.SEVERAL_DATES:
            dispatcher.utter_message(response="utter_one_date")
            return {"date_of_birth": None}
        if not asked:
            return {}
        if answer.kind is AnswerKind.REFERENCE and not by_phone:  # a (corrected) reference: take it, ask again
            with SqlUnitOfWork() as uow:
                reference = identity.likely_reference(uow, answer.reference or "")
            return {"account_ref": reference, "date_of_birth": None}
        if not by_phone and latest_intent(tracker) not in SMALL_TALK:
            dispatcher.utter_message(response="utter_not_a_date")
        return {"date_of_birth": None}  # the question itself (by SMS: date of birth or postcode) is asked again

    async def validate_date_of_birth(self, value, dispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        if not value:
            return {"date_of_birth": None}
        context = dict(conversation_id=tracker.sender_id, client=client_of(tracker),
                       channel=tracker.get_latest_input_channel())
        if not tracker.get_slot("identified_by_phone") and not tracker.get_slot("account_ref"):
            return {"date_of_birth": None}
        # Attempts on one reference take turns (BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL).
        with SqlUnitOfWork(locking=True) as uow:
            if tracker.get_slot("identified_by_phone"):
                result = identity.verify_by_phone(uow, sms.phone_of(uow, tracker.sender_id), value, **context)
            else:
                result = identity.verify(uow, tracker.get_slot("account_ref"), value, **context)
        if result.outcome is Outcome.VERIFIED:
            return {"account_ref": result.account_ref, "date_of_birth": value, "verified": True}
        if result.outcome is Outcome.REFUSED:  # not checked: nothing is said about the date
            return {"account_ref": None, "date_of_birth": None, "verification_locked": True,
                    "verification_refused": True}
        if result.outcome is Outcome.NOT_AN_ANSWER:
            return {"date_of_birth": None}
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
                # Refused (too many failures for the reference elsewhere) or this conversation's three failures.
                response = "utter_verification_refused" if tracker.get_slot("verification_refused") \
                    else "utter_verification_locked"
                dispatcher.utter_message(response=response, agency_phone=tracker.get_slot("agency_phone"))
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
            return events + tell_balance(dispatcher, tracker)
        dispatcher.utter_message(response="utter_how_can_i_help")
        return events

def _intent_that_started_verification(tracker: Tracker) -> str | None:
    """The intent of the last user message before the verification form became active."""
    events = tracker.events
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.get("event") == "active_loop" and event.get("name") == "verification_form":
            return earlier_user_intent(events[:index])
    return None
