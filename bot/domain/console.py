"""The collector's side, as pure rules: who a person of the console is, how a handoff may end, what they may
say to a debtor now, and the authority they hold on an account.

Facts are gathered by `bot.services.desk`; these functions decide. The rules are the ones the assistant obeys
(SPEC sections 2 and 7), applied to a person's own words.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from bot.domain.negotiation import (
    HUNDRED,
    concession_schedule,
    round_up,
    settlement_floor,
)
from bot.domain.policy import TIERS, Policy

ROLES = ("agent", "supervisor")  # a person's role is the policy tier they act at
DISPOSITIONS = ("resolved", "agreement", "callback", "refused", "wrong_party", "dispute", "legal")
AGREEMENT_KINDS = ("plan", "settlement", "promise", "pay_in_full")


@dataclass(frozen=True)
class Staff:
    """A logged-in person of the console."""

    login: str
    role: str  # agent | supervisor

    @property
    def tier(self) -> str:
        return self.role

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


def holds_shown(flags: Iterable[str], disputed: bool) -> list[str]:
    """What stops or pauses collection on an account, as the console lists it: an open dispute first."""
    return (["dispute"] if disputed else []) + sorted(flags)


# --- what a person may write to a debtor ----------------------------------------------------------

@dataclass(frozen=True)
class MessageFacts:
    """What decides whether a person's message may go now, as `bot.services.desk` gathers it."""

    channel: str  # the conversation's channel: socketio (web chat) | twilio (SMS) | rest
    verified: bool  # the debtor passed verification in this conversation
    stopping: frozenset[str]  # active flags that stop collection: cease, attorney, bankruptcy, deceased...
    sms_opted_out: bool  # the conversation's number texted STOP
    sms_window_open: bool  # the debtor's local time is inside the contact window (SMS only)
    debt_terms: tuple[str, ...]  # what names this debt: the creditors' names and the amounts on file
    cease_confirmation: str  # the one message allowed after a cease request


@dataclass(frozen=True)
class MessageRefusal:
    rule: str  # not_verified | cease | attorney | sms_opt_out | outside_hours | empty | too_long
    explanation: str


MAX_MESSAGE_CHARS = 1600  # ten SMS segments; a web message of more is a letter, not a chat

_DEBT_WORDS = re.compile(
    r"\b(debts?|owe[sd]?|owing|balance|arrears?|overdue|collect(?:ion|ions|or|ing)?|settle(?:ment)?|"
    r"instal+ments?|payment plan|past due|outstanding)\b", re.I)
_MONEY = re.compile(r"[$€£]\s?\d|\b\d[\d,]*\.\d{2}\b|\b\d[\d,]*\s?(?:dollars?|usd|eur|euros?|gbp|pounds?)\b", re.I)


def names_the_debt(text: str, debt_terms: tuple[str, ...]) -> bool:
    """Whether `text` says anything about a debt: an amount, a creditor, or the vocabulary of owing."""
    if _DEBT_WORDS.search(text) or _MONEY.search(text):
        return True
    folded = _singular(text)
    digits = re.sub(r"[^\d.]", " ", text)
    for term in debt_terms:
        term = term.strip()
        if not term:
            continue
        if term[0].isdigit():  # an amount on file, as 455.00 or 455
            whole = term.split(".")[0]
            if re.search(rf"(?<![\d.]){re.escape(term)}(?![\d])", digits) or (
                    len(whole) >= 2 and re.search(rf"(?<![\d.]){re.escape(whole)}(?![\d.])", digits)):
                return True
        elif _singular(term) in folded or _distinctive(term) in folded.split():
            return True
    return False


# Words that name no creditor on their own: "Ridgeway Bank" is found in "your old ridgeway card", not in "a bank".
_GENERIC = frozenset({"the", "first", "national", "american", "united", "bank", "credit", "union", "card", "cards",
                      "services", "financial", "capital", "auto", "loans", "loan", "home", "city", "state"})


def _distinctive(term: str) -> str | None:
    """A creditor's first word when it names them alone (four letters or more, not a word any bank uses)."""
    first = term.casefold().split()[0]
    return first if len(first) >= 4 and first not in _GENERIC else None


def _singular(text: str) -> str:
    """Words case-folded and without a plural s, so "Kestrel Auto Loans" is found in "her kestrel auto loan"."""
    return " ".join(re.sub(r"(?<=\w{3})s$", "", word) for word in re.findall(r"[\w'&$.,-]+", text.casefold()))


def standing_refusal(facts: MessageFacts) -> MessageRefusal | None:
    """What forbids writing at all now, before a word is typed (the message box says it). After a cease request
    only its confirmation may go: that is refused here and let through by `message_refusal`."""
    if "attorney" in facts.stopping:
        return MessageRefusal("attorney", "The debtor is represented by an attorney: contact the attorney, "
                                          "not the debtor.")
    if "cease" in facts.stopping:
        return MessageRefusal("cease", "The debtor asked us to stop contacting them: only the confirmation of "
                                       "that request may be sent.")
    if facts.channel == "twilio":
        if facts.sms_opted_out:
            return MessageRefusal("sms_opt_out", "This number opted out of texts (STOP): nothing may be texted.")
        if not facts.sms_window_open:
            return MessageRefusal("outside_hours", "It is outside the debtor's contact hours (08:00-21:00 their "
                                                   "time): no text may go now.")
    return None


def message_refusal(facts: MessageFacts, text: str) -> MessageRefusal | None:
    """Why a person's message to the debtor may not go now, or None: the first rule it would break."""
    if not text.strip():
        return MessageRefusal("empty", "The message is empty.")
    if len(text) > MAX_MESSAGE_CHARS:
        return MessageRefusal("too_long", f"The message is longer than {MAX_MESSAGE_CHARS} characters.")
    standing = standing_refusal(facts)
    if standing is not None and not (standing.rule == "cease" and text.strip() == facts.cease_confirmation.strip()):
        return standing
    if not facts.verified and names_the_debt(text, facts.debt_terms):
        return MessageRefusal("not_verified", "The person is not verified: nothing about the debt (its amount, "
                                              "creditor or existence) may be said.")
    return None


# --- the authority a person holds on an account ---------------------------------------------------

@dataclass(frozen=True)
class SettlementStep:
    discount_pct: Decimal
    amount: Decimal


@dataclass(frozen=True)
class Authority:
    """What a tier may offer on a balance now: the settlement ladder down to its floor, plan and promise limits."""

    tier: str
    settlement_ladder: tuple[SettlementStep, ...]  # the concessions in order; the last is the floor
    settlement_floor: Decimal
    settlement_pay_within_days: int
    max_plan_months: int
    min_installment: Decimal  # the smallest instalment of a plan at the longest length
    smallest_allowed_installment: Decimal  # the tier's own minimum
    min_down_payment_pct: Decimal
    promise_max_days: int
    hardship_max_plan_months: int | None


def authority(policy: Policy, tier: str, balance: Decimal, currency: str) -> Authority:
    """The authority of `tier` on `balance` (the same limits `authority_problems` enforces)."""
    limits = policy.tiers[tier]
    ladder = tuple(SettlementStep(step, round_up(balance * (HUNDRED - step) / HUNDRED, currency))
                   for step in concession_schedule(policy, tier))
    longest_monthly = max(limits.min_installment, round_up(balance / limits.max_plan_months, currency))
    return Authority(
        tier=tier, settlement_ladder=ladder, settlement_floor=settlement_floor(balance, policy, tier, currency),
        settlement_pay_within_days=policy.settlement_pay_within_days, max_plan_months=limits.max_plan_months,
        min_installment=min(longest_monthly, balance), smallest_allowed_installment=limits.min_installment,
        min_down_payment_pct=limits.min_down_payment_pct, promise_max_days=policy.promise_max_days,
        hardship_max_plan_months=limits.hardship.max_plan_months if limits.hardship else None,
    )


def next_tier(tier: str) -> str | None:
    """The tier above, which a request beyond `tier` goes to."""
    index = TIERS.index(tier)
    return TIERS[index + 1] if index + 1 < len(TIERS) else None
