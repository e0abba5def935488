"""English texts about terms and their recording, built from domain data alone (no use case's answer): what the
assistant and the people of the console both say. `en.py` builds on them for the assistant's negotiation."""
from __future__ import annotations

from decimal import Decimal
from functools import cache

import yaml

from bot.config import PROJECT_ROOT, agency_phone
from bot.domain.dates import format_date
from bot.domain.money import format_money
from bot.domain.negotiation import PlanTerms, SettlementTerms, Terms


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
    """The debtor said no to terms a person sent."""
    return "Understood: nothing has been agreed. The person you're talking to will continue with you here."


def terms_lapsed() -> str:
    """The debtor said yes to terms that can no longer be recorded (the account changed meanwhile)."""
    return ("Thank you. Those terms can no longer be recorded as they were; the person you're talking to will "
            "come back to you here.")


def instructions_for(account_ref: str) -> str:
    """How to pay, with the agency's phone."""
    return instructions(agency_phone(), account_ref)


def back_with_assistant() -> str:
    """Said when a person hands the conversation back."""
    return ("You're back with our automated assistant. Anything agreed with my colleague stands. You can ask about "
            "your balance, a payment plan or anything else here, or ask for a person at any time.")
