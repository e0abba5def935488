"""Negotiating a plan, a settlement or a promise: collect, state exact terms, record only on an explicit yes."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.cases import agreement_cleared, hold_reply
from actions.common import answer_text, latest_intent
from bot.domain.dates import format_date
from bot.domain.money import MAX_AMOUNT, format_money
from bot.domain.negotiation import (
    HUNDRED,
    NotAuthorised,
    PlanTerms,
    PromiseTerms,
    SettlementTerms,
    Terms,
    authority_problems,
    nearest_plan,
    proposal,
    respond_to_offer,
    round_up,
    terms_from_dict,
    terms_to_dict,
)
from bot.domain.phrases import amounts_in, future_date_in, months_in
from bot.services import agreements, cases, handoffs
from bot.services.accounts import UnknownAccount

AGREEMENT_TYPES = {
    "request_payment_plan": "plan", "request_settlement": "settlement", "promise_to_pay": "promise",
    "pay_in_full": "pay_in_full",
}
# Intents that are not answers to the form's questions: their own rules handle them.
NOT_ANSWERS = frozenset({
    "ask_balance", "bot_challenge", "deny", "goodbye", "dispute", "already_paid", "hardship", "request_human",
    "stop_contact", "wrong_person", "attorney", "bankruptcy", "deceased", "complain", "update_contact",
})
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*(?:%|percent|per cent)", re.I)
BOT = agreements.ASSISTANT.tier


def cleared() -> list[dict[str, Any]]:
    return agreement_cleared() + [SlotSet("settlement_rounds", 0)]


def read_amount(text: str, kind: str, context: agreements.Negotiable) -> str | None:
    """The amount a message gives, as the agreement_amount slot stores it."""
    percent = _PERCENT.search(text or "")
    if percent and kind == "settlement":
        discount = min(Decimal(percent.group(1)), HUNDRED)
        return str(round_up(context.balance * (HUNDRED - discount) / HUNDRED, context.currency))
    amounts = [a for a in amounts_in(text) if Decimal(0) < a <= MAX_AMOUNT]
    if kind == "plan":
        if amounts:
            return f"monthly:{amounts[0]}"
        months = months_in(text)
        return f"months:{months}" if months and 0 < months <= 600 else None
    return str(amounts[0]) if amounts else None


class ValidateAgreementForm(FormValidationAction):
    def name(self) -> str:
        return "validate_agreement_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> list[str]:
        if cases.hold_on(tracker.get_slot("account_ref")):
            return []  # nothing to ask: action_propose_terms explains why no agreement can be made
        if tracker.get_slot("agreement_type") == "pay_in_full":
            return ["agreement_type", "agreement_date"]
        return domain_slots

    async def extract_agreement_type(self, dispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        current = tracker.get_slot("agreement_type")
        wanted = AGREEMENT_TYPES.get(latest_intent(tracker))
        if wanted and wanted != current:
            # A change of mind: start the new kind afresh; nothing was recorded for the old one.
            return {"agreement_type": wanted, "agreement_amount": None, "agreement_date": None,
                    "pending_terms": None, "settlement_rounds": 0}
        return {}

    async def extract_agreement_amount(self, dispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        # "I can only afford 10 a month" reads as hardship, yet answers the question: the amount counts.
        not_answers = NOT_ANSWERS - {"hardship"} if tracker.get_slot("requested_slot") == "agreement_amount" else NOT_ANSWERS
        text, kind = answer_text(tracker, not_answers), tracker.get_slot("agreement_type")
        if text is None or kind in (None, "pay_in_full"):
            return {}
        amount = read_amount(text, kind, agreements.negotiable(tracker.get_slot("account_ref")))
        if amount:
            return {"agreement_amount": amount}
        if tracker.get_slot("requested_slot") == "agreement_amount" and latest_intent(tracker) not in NOT_ANSWERS:
            dispatcher.utter_message(response="utter_not_an_amount")
            return {"agreement_amount": None}
        return {}

    async def extract_agreement_date(self, dispatcher, tracker: Tracker, domain: DomainDict) -> dict[str, Any]:
        text = answer_text(tracker, NOT_ANSWERS)
        if text is None or not tracker.get_slot("agreement_type"):
            return {}
        today = agreements.negotiable(tracker.get_slot("account_ref")).today
        when = future_date_in(text, today)
        if when:
            return {"agreement_date": when.isoformat()}
        if tracker.get_slot("requested_slot") == "agreement_date":
            dispatcher.utter_message(response="utter_not_a_future_date")
            return {"agreement_date": None}
        return {}


def _within(requested: date, today: date, days: int) -> tuple[date, str]:
    """The requested date, or the nearest one allowed, with a note of the change."""
    latest = today + timedelta(days=days)
    if requested > latest:
        return latest, f"The latest date I can agree is {format_date(latest)}. "
    return max(requested, today), ""


def describe_plan(plan: PlanTerms, currency: str) -> str:
    money = lambda amount: format_money(amount, currency)  # noqa: E731
    first, last = plan.installments[0], plan.installments[-1]
    if plan.months == 1:
        return f"one payment of {money(first.amount)} on {format_date(first.due_on)}"
    if last.amount == first.amount:
        return (f"{plan.months} monthly payments of {money(first.amount)}, from {format_date(first.due_on)}"
                f" to {format_date(last.due_on)}")
    return (f"{plan.months - 1} monthly payments of {money(first.amount)} from {format_date(first.due_on)},"
            f" then {money(last.amount)} on {format_date(last.due_on)}")


def propose(dispatcher: CollectingDispatcher, tracker: Tracker) -> list:
    """State the exact terms the assistant can agree (the debtor's, or the nearest allowed) and ask for a yes."""
    context = agreements.negotiable(tracker.get_slot("account_ref"))
    if context.hold:  # collection is paused or stopped: no payment is asked for
        hold_reply(dispatcher, context.hold)
        return cleared()
    kind = tracker.get_slot("agreement_type")
    amount_text = tracker.get_slot("agreement_amount")
    when = date.fromisoformat(tracker.get_slot("agreement_date")) if tracker.get_slot("agreement_date") else None
    if tracker.get_slot("pending_terms"):  # an answer to terms already stated
        text = tracker.latest_message.get("text") or ""
        new_amount, new_date = read_amount(text, kind, context), future_date_in(text, context.today)
        wanted = AGREEMENT_TYPES.get(latest_intent(tracker))
        if wanted and wanted != kind and not (kind == "settlement" and new_amount):
            # a change of mind: collect the new kind's details afresh
            return cleared() + [SlotSet("agreement_type", wanted), FollowupAction("agreement_form")]
        if not new_amount and not new_date:
            dispatcher.utter_message(response="utter_answer_yes_or_no")  # nothing new: no concession on noise
            return []
        amount_text, when = new_amount or amount_text, new_date or when
    when = when or context.today
    money = lambda amount: format_money(amount, context.currency)  # noqa: E731
    events: list = [SlotSet("agreement_amount", amount_text), SlotSet("agreement_date", when.isoformat())]
    policy = context.policy

    if kind == "plan":
        first_due, adjustment = _within(when, context.today, policy.plan_first_payment_within_days)
        asked_monthly = Decimal(amount_text.split(":")[1]) if amount_text.startswith("monthly:") else None
        asked_months = int(amount_text.split(":")[1]) if amount_text.startswith("months:") else None
        terms = nearest_plan(context.balance, policy, BOT, first_due, context.currency,
                             months=asked_months, monthly=asked_monthly, hardship=bool(tracker.get_slot("hardship")))
        if asked_monthly is not None and terms.monthly > asked_monthly:
            adjustment += f"I can't agree {money(asked_monthly)} a month: the least I can accept is {money(terms.monthly)}. "
        if asked_months is not None and terms.months < asked_months:
            adjustment += f"I can't spread it over {asked_months} months: the most I can offer is {terms.months}. "
        dispatcher.utter_message(response="utter_propose_plan", adjustment=adjustment,
                                 schedule=describe_plan(terms, context.currency), total=money(terms.total))
    elif kind == "settlement":
        offer = Decimal(amount_text)
        pay_by, adjustment = _within(when, context.today, policy.settlement_pay_within_days)
        rounds = int(tracker.get_slot("settlement_rounds") or 0)
        move = respond_to_offer(context.balance, offer, policy, BOT, rounds, context.currency)
        if move.action == "escalate":
            ours = proposal(context.balance, policy, BOT, rounds, context.currency)
            handoffs.open_handoff(tracker.sender_id, "settlement_below_authority", context.account_ref,
                                  last_offer=str(offer), assistant_last_offer=str(ours))
            dispatcher.utter_message(response="utter_settlement_escalated", amount=money(ours), offer=money(offer))
            return cleared() + [ConversationPaused()]
        if move.action == "counter":
            adjustment = f"I'm not able to accept {money(offer)}. " + adjustment
        terms = SettlementTerms(move.amount, pay_by)
        events.append(SlotSet("settlement_rounds", move.round))
        dispatcher.utter_message(response="utter_propose_settlement", adjustment=adjustment,
                                 amount=money(terms.amount), pay_by=format_date(pay_by),
                                 saving=money(context.balance - terms.amount), balance=money(context.balance))
    else:
        amount = context.balance if kind == "pay_in_full" else Decimal(amount_text)
        pay_on, adjustment = _within(when, context.today, policy.promise_max_days)
        if amount > context.balance:
            amount, adjustment = context.balance, adjustment + f"Your balance is {money(context.balance)}. "
        terms = PromiseTerms(amount, pay_on)
        dispatcher.utter_message(response="utter_propose_promise", adjustment=adjustment, amount=money(amount),
                                 pay_on=format_date(pay_on), instructions=_instructions(tracker))
    problems = authority_problems(terms, context.balance, policy, BOT, context.today, context.currency)
    if problems:  # cannot happen for terms built above; a person looks at it if it ever does
        handoffs.open_handoff(tracker.sender_id, "above_authority", context.account_ref, problems=problems)
        return cleared() + [ConversationPaused()]
    return events + [SlotSet("pending_terms", json.dumps(terms_to_dict(terms)))]


class ActionProposeTerms(Action):
    def name(self) -> str:
        return "action_propose_terms"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        return propose(dispatcher, tracker)


def _instructions(tracker: Tracker) -> str:
    return (f"You can pay by card on {tracker.get_slot('agency_phone')}, or by bank transfer quoting reference"
            f" {tracker.get_slot('account_ref')}.")


def _summary(terms: Terms, currency: str) -> str:
    money = lambda amount: format_money(amount, currency)  # noqa: E731
    if isinstance(terms, PlanTerms):
        return f"Your payment plan: {describe_plan(terms, currency)}."
    if isinstance(terms, SettlementTerms):
        return f"Your settlement: {money(terms.amount)}, to be paid by {format_date(terms.pay_by)}."
    return f"Your payment of {money(terms.amount)} is noted for {format_date(terms.pay_on)}."


class ActionConfirmTerms(Action):
    """The debtor said yes to the stated terms: record them (the one authorisation check runs in the service).

    The use case returns all the reply needs, so nothing is read after the agreement is written. A refusal is
    answered with a fixed text for its kind: its message is for people and logs (it can name the bot's limits).
    """

    def name(self) -> str:
        return "action_confirm_terms"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        terms = terms_from_dict(json.loads(tracker.get_slot("pending_terms")))
        agency_phone = tracker.get_slot("agency_phone")
        try:
            recorded = agreements.record(tracker.get_slot("account_ref"), terms, agreements.ASSISTANT,
                                         tracker.sender_id)
        except NotAuthorised:
            dispatcher.utter_message(response="utter_agreement_not_authorised", agency_phone=agency_phone)
            return cleared()
        except agreements.CollectionPaused as paused:
            hold_reply(dispatcher, paused.hold)
            return cleared()
        except UnknownAccount:
            dispatcher.utter_message(response="utter_agreement_not_recorded", agency_phone=agency_phone)
            return cleared()
        dispatcher.utter_message(response="utter_agreement_recorded", account_ref=recorded.account_ref,
                                 summary=_summary(recorded.terms, recorded.currency))
        return cleared()


class ActionDeclineTerms(Action):
    def name(self) -> str:
        return "action_decline_terms"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        text = tracker.latest_message.get("text") or ""
        kind = tracker.get_slot("agreement_type")
        if tracker.get_slot("pending_terms") and kind == "settlement" and read_amount(
                text, kind, agreements.negotiable(tracker.get_slot("account_ref"))):
            return propose(dispatcher, tracker)  # "no, I'll pay 600": a counter-offer, not a refusal
        dispatcher.utter_message(response="utter_nothing_recorded")
        return cleared()
