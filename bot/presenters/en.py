"""English: the texts of negotiation and of the balance, from the use cases' answers.

Each function takes structured data and returns text; `message_for_*` give the response a Rasa action utters
and its variables. Nothing here sees a policy: what reaches the debtor is what the use case put in its answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import cache

import yaml

from bot.config import PROJECT_ROOT, agency_phone
from bot.domain.accounts import Statement
from bot.domain.dates import format_date
from bot.domain.money import format_money
from bot.domain.negotiation import PlanTerms, SettlementTerms, Terms
from bot.services.negotiation import (
    Adjustment,
    BalanceCapped,
    DateMovedTo,
    Escalation,
    MonthlyRaisedTo,
    MonthsCappedAt,
    OfferCountered,
    Proposal,
)

__all__ = ["format_date", "format_money"]  # one place to format figures, re-exported for callers


@dataclass(frozen=True)
class Message:
    """A response of the domain and the values of its variables."""

    response: str
    values: dict[str, str]


def describe_plan(plan: PlanTerms, currency: str) -> str:
    """'8 monthly payments of $150.00 from 1 December 2026, then $34.56 on 1 August 2027'."""
    def money(amount: Decimal) -> str:
        return format_money(amount, currency)

    first, last = plan.installments[0], plan.installments[-1]
    if plan.months == 1:
        return f"one payment of {money(first.amount)} on {format_date(first.due_on)}"
    if last.amount == first.amount:
        return (f"{plan.months} monthly payments of {money(first.amount)}, from {format_date(first.due_on)}"
                f" to {format_date(last.due_on)}")
    return (f"{plan.months - 1} monthly payments of {money(first.amount)} from {format_date(first.due_on)},"
            f" then {money(last.amount)} on {format_date(last.due_on)}")


def adjustment(change: Adjustment, currency: str) -> str:
    """Why the terms stated differ from what was asked, as a sentence (with its trailing space)."""
    def money(amount: Decimal) -> str:
        return format_money(amount, currency)

    if isinstance(change, DateMovedTo):
        return f"The latest date I can agree is {format_date(change.latest)}. "
    if isinstance(change, MonthlyRaisedTo):
        return f"I can't agree {money(change.asked)} a month: the least I can accept is {money(change.least)}. "
    if isinstance(change, MonthsCappedAt):
        return f"I can't spread it over {change.asked} months: the most I can offer is {change.most}. "
    if isinstance(change, OfferCountered):
        return f"I'm not able to accept {money(change.offer)}. "
    if isinstance(change, BalanceCapped):
        return f"Your balance is {money(change.balance)}. "
    raise TypeError(f"no text for {change!r}")


def adjustments(changes: tuple[Adjustment, ...], currency: str) -> str:
    return "".join(adjustment(change, currency) for change in changes)


def instructions(agency_phone: str, account_ref: str) -> str:
    """How to pay."""
    return (f"You can pay by card on {agency_phone}, or by bank transfer quoting reference {account_ref}.")


def summary(terms: Terms, currency: str) -> str:
    """What was recorded, in a sentence."""
    if isinstance(terms, PlanTerms):
        return f"Your payment plan: {describe_plan(terms, currency)}."
    if isinstance(terms, SettlementTerms):
        return (f"Your settlement: {format_money(terms.amount, currency)}, to be paid by"
                f" {format_date(terms.pay_by)}.")
    return f"Your payment of {format_money(terms.amount, currency)} is noted for {format_date(terms.pay_on)}."


def message_for_proposal(proposal: Proposal, agency_phone: str) -> Message:
    """The terms stated, with what changed from the request, asking for a yes."""
    def money(amount: Decimal) -> str:
        return format_money(amount, proposal.currency)

    changed = adjustments(proposal.adjustments, proposal.currency)
    terms = proposal.terms
    if isinstance(terms, PlanTerms):
        return Message("utter_propose_plan", {
            "adjustment": changed, "schedule": describe_plan(terms, proposal.currency), "total": money(terms.total)})
    if isinstance(terms, SettlementTerms):
        return Message("utter_propose_settlement", {
            "adjustment": changed, "amount": money(terms.amount), "pay_by": format_date(terms.pay_by),
            "saving": money(proposal.balance - terms.amount), "balance": money(proposal.balance)})
    return Message("utter_propose_promise", {
        "adjustment": changed, "amount": money(terms.amount), "pay_on": format_date(terms.pay_on),
        "instructions": instructions(agency_phone, proposal.account_ref)})


def message_for_escalation(escalation: Escalation, agency_phone: str) -> Message:
    """A person takes it from here: for a settlement, our last offer and theirs; otherwise no figure at all."""
    if escalation.reason == "settlement_below_authority":
        def money(amount: Decimal | None) -> str:
            return format_money(amount or Decimal(0), escalation.currency)

        return Message("utter_settlement_escalated", {"amount": money(escalation.our_last_offer),
                                                      "offer": money(escalation.their_offer)})
    return Message("utter_handed_off", {"agency_phone": agency_phone})


def paid_clause(statement: Statement) -> str:
    return f", less {format_money(statement.paid, statement.currency)} already paid" if statement.paid else ""


def original_creditor_clause(statement: Statement) -> str:
    original = statement.original_creditor
    return "" if original == statement.creditor_name else f" (originally {original})"


def message_for_balance(statement: Statement) -> Message:
    def money(amount: Decimal) -> str:
        return format_money(amount, statement.currency)

    return Message("utter_balance", {
        "account_ref": statement.account_ref,
        "balance": money(statement.balance),
        "principal": money(statement.principal),
        "interest": money(statement.interest),
        "fees": money(statement.fees),
        "paid_clause": paid_clause(statement),
        "creditor": statement.creditor_name,
        "original_creditor_clause": original_creditor_clause(statement),
        "placed_on": format_date(statement.placed_on),
    })


def message_for_validation_period(statement: Statement) -> Message:
    return Message("utter_validation_period", {"validation_ends_on": format_date(statement.validation_ends_on)})


# --- what a person of the console sends ----------------------------------------------------------

@cache
def _response_text(name: str) -> str:
    """A response's first text in domain.yml: the assistant's own wording, kept in one place."""
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return str(domain["responses"][name][0]["text"])


def cease_confirmation(account_ref: str) -> str:
    """The one message allowed after a cease request: the assistant's confirmation of it."""
    return _response_text("utter_cease_confirmed").replace("{account_ref}", account_ref)


def terms_for_yes_or_no(terms: Terms, currency: str) -> str:
    """Terms a person offers, stated exactly, asking for a yes or no."""
    return f"{summary(terms, currency)} Do you agree to this?"


def terms_declined() -> str:
    return "Understood: nothing has been agreed. The person you're talking to will continue with you here."


def terms_lapsed() -> str:
    return ("Thank you. Those terms can no longer be recorded as they were; the person you're talking to will "
            "come back to you here.")


def instructions_for(account_ref: str) -> str:
    """How to pay, with the agency's phone."""
    return instructions(agency_phone(), account_ref)


def back_with_assistant() -> str:
    """Said when a person hands the conversation back."""
    return ("You're back with our automated assistant. Anything agreed with my colleague stands. You can ask about "
            "your balance, a payment plan or anything else here, or ask for a person at any time.")
