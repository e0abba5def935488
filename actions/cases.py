"""Protective flows (SPEC 2.7-2.13): disputes, hardship, stops, wrong parties, contact updates, handoffs.

Thin adapters: what the debtor wrote goes to `bot.services.cases` / `handoffs`; the reply says what happens next.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import answer_text, earlier_user_intent, latest_intent
from bot.domain.cases import case_number_in, contact_details_in, details_given, dispute_reason_in
from bot.domain.flows import AGREEMENT_SLOTS, CASE_TOPICS
from bot.domain.flows import CASE_NOT_ANSWERS as NOT_ANSWERS
from bot.domain.money import format_money
from bot.services import agreements, cases, handoffs, identity, negotiation, sms
from bot.services.unit_of_work import SqlUnitOfWork

_SKIP = frozenset({"no", "nope", "skip", "none", "n/a", "na", "no thanks", "i don't know", "dont know", "don't know"})
CASE_SLOTS = ("case_topic", "case_reason", "case_details")


def clear_case() -> list[dict[str, Any]]:
    return [SlotSet(name, None) for name in CASE_SLOTS]


class ValidateCaseForm(FormValidationAction):
    def name(self) -> str:
        return "validate_case_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        # On activation the topic is not set yet: the opening intent tells it, so "it's not mine" fills the reason.
        if (tracker.get_slot("case_topic") or CASE_TOPICS.get(latest_intent(tracker) or "")) == "dispute":
            return domain_slots
        return [slot for slot in domain_slots if slot != "case_reason"]

    async def extract_case_topic(self, dispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        topic = CASE_TOPICS.get(latest_intent(tracker) or "")
        return {"case_topic": topic} if topic and not tracker.get_slot("case_topic") else {}

    async def extract_case_reason(self, dispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        text = answer_text(tracker, NOT_ANSWERS)
        if text is None or tracker.get_slot("case_reason"):
            return {}
        reason = "already_paid" if latest_intent(tracker) == "already_paid" else dispute_reason_in(text)
        if tracker.get_slot("requested_slot") == "case_reason":
            return {"case_reason": reason or "other"}
        return {"case_reason": reason} if reason else {}

    async def extract_case_details(self, dispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        text = answer_text(tracker, NOT_ANSWERS)
        topic = tracker.get_slot("case_topic") or CASE_TOPICS.get(latest_intent(tracker) or "")
        if text is None or tracker.get_slot("case_details") is not None or not topic:
            return {}
        if tracker.get_slot("requested_slot") != "case_details":
            prefilled = details_given(topic, text) if tracker.get_slot("requested_slot") is None else None
            return {"case_details": prefilled} if prefilled else {}
        if topic == "update_contact" and not contact_details_in(text):
            dispatcher.utter_message(response="utter_no_contact_details")
            return {"case_details": None}
        skipped = latest_intent(tracker) == "deny" or text.strip(" .!").lower() in _SKIP
        return {"case_details": "" if skipped else text[:4000]}


def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str, **details: Any) -> list:
    """A person takes over: the handoff is recorded, the debtor told, and the bot falls silent (ConversationPaused)."""
    account_ref = tracker.get_slot("account_ref") if tracker.get_slot("verified") else None
    with SqlUnitOfWork() as uow:
        handoffs.open_handoff(uow, tracker.sender_id, reason, account_ref, **details)
    dispatcher.utter_message(response="utter_handed_off", agency_phone=tracker.get_slot("agency_phone"))
    return [ConversationPaused()]


def _record_dispute(dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
    with SqlUnitOfWork() as uow:
        record = cases.open_dispute(uow, tracker.get_slot("account_ref"), tracker.get_slot("case_reason") or "other",
                                    tracker.get_slot("case_details") or "", tracker.sender_id)
    dispatcher.utter_message(response="utter_dispute_recorded" if record.new else "utter_dispute_already_open",
                             reference=record.reference, agency_phone=tracker.get_slot("agency_phone"))
    return agreement_cleared()


def _offer_hardship_plan(dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
    account_ref = tracker.get_slot("account_ref")
    with SqlUnitOfWork() as uow:
        cases.note_hardship(uow, account_ref, tracker.get_slot("case_details") or "", tracker.sender_id)
    offer = negotiation.hardship_offer(SqlUnitOfWork(), account_ref, agreements.ASSISTANT)
    if isinstance(offer, negotiation.Refusal):
        dispatcher.utter_message(response="utter_hardship_noted_on_hold")
        return []
    dispatcher.utter_message(response="utter_hardship_options", months=offer.most_months,
                             least=format_money(offer.least_monthly, offer.currency))
    return agreement_cleared() + [SlotSet("hardship", True), SlotSet("agreement_type", "plan"),
                                  FollowupAction("agreement_form")]


def _stop_collection(dispatcher: CollectingDispatcher, tracker: Tracker, flag: str) -> list:
    """Attorney or bankruptcy: recorded on the account, collection stopped, a person takes it from here."""
    text = tracker.get_slot("case_details") or ""
    details = {"attorney_contact": text} if flag == "attorney" else {"case_number": case_number_in(text) or text}
    with SqlUnitOfWork() as uow:
        cases.raise_flag(uow, tracker.get_slot("account_ref"), flag, tracker.sender_id, **details)
    dispatcher.utter_message(response=f"utter_{flag}_recorded")
    return agreement_cleared() + hand_off(dispatcher, tracker, flag)


def _report_death(dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
    """Whoever tells us is not the debtor: collection pauses until a person confirms it, and nothing is disclosed."""
    details = tracker.get_slot("case_details") or ""
    verified = bool(tracker.get_slot("verified"))
    account_ref = tracker.get_slot("account_ref") if verified else None
    with SqlUnitOfWork() as uow:
        account_ref = account_ref or identity.likely_reference(uow, details)
        # Said the same way whether or not the reference is on file: that is not disclosed either.
        cases.report_death(uow, account_ref, tracker.sender_id, details, reporter_verified=verified)
    dispatcher.utter_message(response="utter_deceased_recorded", agency_phone=tracker.get_slot("agency_phone"))
    # The person reporting is not the debtor: forget any verification so nothing more is disclosed.
    return [SlotSet("verified", False), ConversationPaused()]


def _update_contact(dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
    details = contact_details_in(tracker.get_slot("case_details") or "")
    with SqlUnitOfWork() as uow:
        update = cases.add_contact_points(uow, tracker.get_slot("account_ref"), details, tracker.sender_id)
    if update.added:  # said back as stored, so a phone reads with its country code
        dispatcher.utter_message(response="utter_contact_updated", details=", ".join(update.added))
    if update.known:
        dispatcher.utter_message(response="utter_contact_already_known", details=", ".join(update.known))
    if update.unreadable:
        dispatcher.utter_message(response="utter_phone_unreadable", details=", ".join(update.unreadable))
    return []


def agreement_cleared() -> list[dict[str, Any]]:
    return [SlotSet(name, None) for name in AGREEMENT_SLOTS] + [SlotSet("hardship", False)]


class ActionRecordCase(Action):
    def name(self) -> str:
        return "action_record_case"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        topic = tracker.get_slot("case_topic")
        if topic == "deceased":
            return clear_case() + _report_death(dispatcher, tracker)
        if not tracker.get_slot("verified"):  # the rules only open other cases once verified
            dispatcher.utter_message(response="utter_need_verification")
            return clear_case()
        if topic == "dispute":
            return clear_case() + _record_dispute(dispatcher, tracker)
        if topic == "hardship":
            return clear_case() + _offer_hardship_plan(dispatcher, tracker)
        if topic in ("attorney", "bankruptcy"):
            return clear_case() + _stop_collection(dispatcher, tracker, topic)
        if topic == "update_contact":
            return clear_case() + _update_contact(dispatcher, tracker)
        return clear_case()


class ActionRecordCease(Action):
    """'Stop contacting me': recorded at once, confirmed once; collection stops."""

    def name(self) -> str:
        return "action_record_cease"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        return record_cease(dispatcher, tracker)


def record_cease(dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
    with SqlUnitOfWork() as uow:
        first = cases.raise_flag(uow, tracker.get_slot("account_ref"), "cease", tracker.sender_id,
                                 words=(tracker.latest_message.get("text") or "")[:500])
    dispatcher.utter_message(response="utter_cease_confirmed" if first else "utter_cease_already_recorded",
                             account_ref=tracker.get_slot("account_ref"))
    return agreement_cleared()


class ActionReportWrongParty(Action):
    """Not the person we want: nothing about any debt, the contact point marked wrong, a callback number only."""

    def name(self) -> str:
        return "action_report_wrong_party"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        # On SMS the number we reached is marked; a web conversation reached no contact point of ours.
        verified_ref = tracker.get_slot("account_ref") if tracker.get_slot("verified") else None
        with SqlUnitOfWork() as uow:
            phone = sms.phone_of(uow, tracker.sender_id)
            cases.report_wrong_party(uow, tracker.sender_id, [phone] if phone else [], verified_ref)
        dispatcher.utter_message(response="utter_wrong_party", agency_phone=tracker.get_slot("agency_phone"))
        return [SlotSet("verified", False), SlotSet("account_ref", None), SlotSet("date_of_birth", None),
                *clear_case(), *agreement_cleared()]


class ActionHandOff(Action):
    def name(self) -> str:
        return "action_hand_off"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        intent = latest_intent(tracker)
        reason = intent if intent in ("request_human", "complain") else "request_human"
        return clear_case() + hand_off(dispatcher, tracker, reason,
                                       words=(tracker.latest_message.get("text") or "")[:500])


class ActionClarify(Action):
    """Low confidence: ask to rephrase once; the second time running, hand over to a person."""

    def name(self) -> str:
        return "action_clarify"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        if earlier_user_intent(tracker.events, skip=1) == "nlu_fallback":  # the one before this
            return hand_off(dispatcher, tracker, "misunderstanding",
                            words=(tracker.latest_message.get("text") or "")[:500])
        dispatcher.utter_message(response="utter_default")
        return []


def hold_reply(dispatcher: CollectingDispatcher, tracker: Tracker, hold: cases.Hold) -> list:
    """Why the assistant does not ask for payment on this account, and the events that follow. An account with the
    legal team is a person's to answer, as the reply says: a handoff opens and the assistant falls silent."""
    if hold.status == "legal":
        with SqlUnitOfWork() as uow:
            handoffs.open_handoff(uow, tracker.sender_id, "legal", tracker.get_slot("account_ref"))
        dispatcher.utter_message(response="utter_with_legal_team")
        return [ConversationPaused()]
    if hold.status == "disputed":
        dispatcher.utter_message(response="utter_collection_paused_dispute", reference=hold.dispute_reference)
    elif hold.status == "ceased":
        dispatcher.utter_message(response="utter_collection_stopped")
    else:
        dispatcher.utter_message(response="utter_nothing_to_collect", status=hold.status)
    return []

