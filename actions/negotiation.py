"""Negotiating a plan, a settlement or a promise: collect, state exact terms, record only on an explicit yes.

Thin adapters: slots and the latest message become a `bot.services.negotiation` request, its answer becomes
texts (`bot.presenters.en`) and slot events. Each action reads the account once.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.cases import agreement_cleared, hold_reply
from actions.common import Events, answer_text, latest_intent, new_unit_of_work
from bot.domain.flows import AGREEMENT_NOT_ANSWERS, AGREEMENT_TYPES
from bot.domain.negotiation import NotAuthorised, SettlementTerms, terms_from_dict, terms_to_dict
from bot.presenters import en
from bot.services import agreements, negotiation
from bot.services.accounts import UnknownAccount
from bot.services.negotiation import (
    ChangeOfMind,
    Escalation,
    NothingNew,
    Outcome,
    Proposal,
    Refusal,
    Request,
    decode_asked,
    encode_asked,
    kind_of,
)
from bot.services.unit_of_work import Negotiable, SqlUnitOfWork


def cleared() -> Events:
    return agreement_cleared() + [SlotSet("settlement_rounds", 0)]


def read_amount(text: str, kind: str, context: Negotiable) -> str | None:
    """The amount a message gives, as the agreement_amount slot stores it."""
    wanted = kind_of(kind)
    return encode_asked(negotiation.read_amount(text, wanted, context)) if wanted else None


def _request(tracker: Tracker) -> Request | None:
    """The agreement the slots describe, or None when no kind is chosen."""
    kind = kind_of(tracker.get_slot("agreement_type"))
    if kind is None:
        return None
    when = tracker.get_slot("agreement_date")
    return Request(kind, decode_asked(tracker.get_slot("agreement_amount")), date.fromisoformat(when) if when else None,
                   int(tracker.get_slot("settlement_rounds") or 0), bool(tracker.get_slot("hardship")))


# The account as this action run read it: required_slots runs three times and each extract_ once per run,
# and all of them read the same snapshot (a context variable: concurrent runs each have their own).
_ACCOUNT: ContextVar[Callable[[], Negotiable]] = ContextVar("negotiation_account")


def _read_once(account_ref: str) -> Callable[[], Negotiable]:
    read: list[Negotiable] = []

    def account() -> Negotiable:
        if not read:
            read.append(negotiation.negotiable(new_unit_of_work(), account_ref))
        return read[0]

    return account


def _account(tracker: Tracker) -> Negotiable:
    return _ACCOUNT.get(_read_once(tracker.get_slot("account_ref")))()


class ValidateAgreementForm(FormValidationAction):
    def name(self) -> str:
        return "validate_agreement_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        token = _ACCOUNT.set(_read_once(tracker.get_slot("account_ref")))
        try:
            events: Events = await super().run(dispatcher, tracker, domain)
            return events
        finally:
            _ACCOUNT.reset(token)

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> list[str]:
        if _account(tracker).hold:
            return []  # nothing to ask: action_propose_terms explains why no agreement can be made
        if tracker.get_slot("agreement_type") == "pay_in_full":
            return ["agreement_type", "agreement_date"]
        return domain_slots

    async def extract_agreement_type(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: DomainDict) -> dict[str, Any]:
        current = tracker.get_slot("agreement_type")
        wanted = AGREEMENT_TYPES.get(latest_intent(tracker) or "")
        if wanted and wanted != current:
            # A change of mind: start the new kind afresh; nothing was recorded for the old one.
            return {"agreement_type": wanted, "agreement_amount": None, "agreement_date": None,
                    "pending_terms": None, "settlement_rounds": 0}
        return {}

    async def extract_agreement_amount(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                       domain: DomainDict) -> dict[str, Any]:
        # "I can only afford 10 a month" reads as hardship, yet answers the question: the amount counts.
        asked = tracker.get_slot("requested_slot") == "agreement_amount"
        not_answers = AGREEMENT_NOT_ANSWERS - {"hardship"} if asked else AGREEMENT_NOT_ANSWERS
        text, kind = answer_text(tracker, not_answers), kind_of(tracker.get_slot("agreement_type"))
        if text is None or kind in (None, "pay_in_full"):
            return {}
        amount = read_amount(text, kind, _account(tracker))
        if amount:
            return {"agreement_amount": amount}
        if asked and latest_intent(tracker) not in AGREEMENT_NOT_ANSWERS:
            dispatcher.utter_message(response="utter_not_an_amount")
            return {"agreement_amount": None}
        return {}

    async def extract_agreement_date(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: DomainDict) -> dict[str, Any]:
        text = answer_text(tracker, AGREEMENT_NOT_ANSWERS)
        if text is None or not tracker.get_slot("agreement_type"):
            return {}
        when = negotiation.read_date(text, _account(tracker))
        if when:
            return {"agreement_date": when.isoformat()}
        if tracker.get_slot("requested_slot") == "agreement_date":
            dispatcher.utter_message(response="utter_not_a_future_date")
            return {"agreement_date": None}
        return {}


def _say(dispatcher: CollectingDispatcher, message: en.Message) -> None:
    dispatcher.utter_message(response=message.response, **message.values)


def reply(dispatcher: CollectingDispatcher, tracker: Tracker,
          outcome: Outcome | ChangeOfMind | NothingNew) -> Events:
    """The use case's answer, said, and the slots it leaves for the next turn."""
    if isinstance(outcome, Refusal):  # collection is paused or stopped: no payment is asked for
        return cleared() + hold_reply(dispatcher, tracker, outcome.hold)
    if isinstance(outcome, ChangeOfMind):  # collect the new kind's details afresh
        return cleared() + [SlotSet("agreement_type", outcome.kind), FollowupAction("agreement_form")]
    if isinstance(outcome, NothingNew):  # nothing new: no concession on noise
        dispatcher.utter_message(response="utter_answer_yes_or_no")
        return []
    if isinstance(outcome, Escalation):  # a person has it now: the bot falls silent
        _say(dispatcher, en.message_for_escalation(outcome, tracker.get_slot("agency_phone")))
        return cleared() + [ConversationPaused()]
    proposal: Proposal = outcome
    _say(dispatcher, en.message_for_proposal(proposal, tracker.get_slot("agency_phone")))
    request = proposal.request
    events: Events = [
        SlotSet("agreement_amount", encode_asked(request.asked)),
        SlotSet("agreement_date", request.when.isoformat() if request.when else None)]
    if isinstance(proposal.terms, SettlementTerms):
        events.append(SlotSet("settlement_rounds", request.rounds))
    return events + [SlotSet("pending_terms", json.dumps(terms_to_dict(proposal.terms)))]


def _answer(tracker: Tracker, request: Request, *, counter_only: bool = False) -> Outcome | ChangeOfMind | NothingNew:
    """The latest message as an answer to the terms already stated: a new amount or date, or another kind."""
    return negotiation.answer(
        new_unit_of_work(), tracker.get_slot("account_ref"), agreements.ASSISTANT, request,
        tracker.latest_message.get("text") or "", wanted=kind_of(AGREEMENT_TYPES.get(latest_intent(tracker) or "")),
        conversation_id=tracker.sender_id, counter_only=counter_only)


def propose(dispatcher: CollectingDispatcher, tracker: Tracker) -> Events:
    """State the exact terms the assistant can agree (the debtor's, or the nearest allowed) and ask for a yes."""
    request = _request(tracker)
    if request is None:  # on hold the form asks nothing, not even the kind; otherwise a wrong prediction
        hold = negotiation.negotiable(new_unit_of_work(), tracker.get_slot("account_ref")).hold
        if hold:
            return cleared() + hold_reply(dispatcher, tracker, hold)
        dispatcher.utter_message(response="utter_options")
        return cleared()
    if tracker.get_slot("pending_terms"):
        return reply(dispatcher, tracker, _answer(tracker, request))
    return reply(dispatcher, tracker, negotiation.propose(
        new_unit_of_work(), tracker.get_slot("account_ref"), agreements.ASSISTANT, request, tracker.sender_id))


class ActionProposeTerms(Action):
    def name(self) -> str:
        return "action_propose_terms"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        return propose(dispatcher, tracker)


class ActionConfirmTerms(Action):
    """The debtor said yes to the stated terms: record them (the one authorisation check runs in the service).

    The use case returns all the reply needs, so nothing is read after the agreement is written. A refusal is
    answered with a fixed text for its kind: its message is for people and logs (it can name the bot's limits).
    """

    def name(self) -> str:
        return "action_confirm_terms"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        terms = terms_from_dict(json.loads(tracker.get_slot("pending_terms")))
        agency_phone = tracker.get_slot("agency_phone")
        try:
            recorded = agreements.record(SqlUnitOfWork(locking=True), tracker.get_slot("account_ref"), terms,
                                         agreements.ASSISTANT, tracker.sender_id)
        except NotAuthorised:
            dispatcher.utter_message(response="utter_agreement_not_authorised", agency_phone=agency_phone)
            return cleared()
        except agreements.CollectionPaused as paused:
            return cleared() + hold_reply(dispatcher, tracker, paused.hold)
        except UnknownAccount:
            dispatcher.utter_message(response="utter_agreement_not_recorded", agency_phone=agency_phone)
            return cleared()
        dispatcher.utter_message(response="utter_agreement_recorded", account_ref=recorded.account_ref,
                                 summary=en.summary(recorded.terms, recorded.currency))
        return cleared()


class ActionDeclineTerms(Action):
    def name(self) -> str:
        return "action_decline_terms"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        request = _request(tracker)
        if tracker.get_slot("pending_terms") and request is not None and request.kind == "settlement":
            outcome = _answer(tracker, request, counter_only=True)
            if not isinstance(outcome, NothingNew):  # "no, I'll pay 600": a counter-offer, not a refusal
                return reply(dispatcher, tracker, outcome)
        dispatcher.utter_message(response="utter_nothing_recorded")
        return cleared()
