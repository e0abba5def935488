"""English: the texts of negotiation and of the balance, from the use cases' answers.

Each function takes structured data and returns text; `message_for_*` give the response a Rasa action utters
and its variables. Nothing here sees a policy: what reaches the debtor is what the use case put in its answer.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.domain.accounts import Ended, Statement
from bot.domain.dates import format_date
from bot.domain.money import format_money
from bot.domain.negotiation import PlanTerms, SettlementTerms
from bot.presenters.terms import describe_plan, instructions, summary
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

# One place to format figures and to state terms, re-exported for callers.
__all__ = ["describe_plan", "format_date", "format_money", "instructions", "summary"]


@dataclass(frozen=True)
class Message:
    """A response of the domain and the values of its variables."""

    response: str
    values: dict[str, str]


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


def message_for_news(news: Ended) -> Message:
    """An agreement broken since the debtor last heard from us: said before the balance."""
    kind = {"plan": "payment plan", "settlement": "settlement", "promise": "promised payment"}[news.kind]
    return Message("utter_agreement_ended", {"agreement": kind, "ended_on": format_date(news.ended_on),
                                             "reason": news.reason or "the payment did not arrive"})


def message_for_validation_period(statement: Statement) -> Message:
    return Message("utter_validation_period", {"validation_ends_on": format_date(statement.validation_ends_on)})
