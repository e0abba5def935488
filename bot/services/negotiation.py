"""Negotiating a plan, a settlement or a promise: the one use case the bot, the console and call-assist call.

Given an account, an actor (tier and login), a request and the unit of work (which carries today), it answers
as data: a `Proposal` (exact terms, with why they differ from what was asked), an `Escalation` (a person must
take it: the handoff is opened in the same transaction), or a `Refusal` (collection is paused or stopped).
Nothing here is worded: `bot.presenters` turns the answers into texts, per language. The structured reasons
carry only what the debtor may be told (their own figures, the terms offered, dates); the tier's limits stay
in the policy and in the handoff a person reads.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal, get_args

from bot.domain.accounts import Ended, Statement
from bot.domain.money import MAX_AMOUNT
from bot.domain.negotiation import (
    HUNDRED,
    PromiseTerms,
    SettlementTerms,
    Terms,
    authority_problems,
    nearest_plan,
    proposal,
    respond_to_offer,
    round_up,
)
from bot.domain.phrases import amounts_in, future_date_in, months_in
from bot.services.agreements import Actor
from bot.services.cases import Hold
from bot.services.unit_of_work import AbstractUnitOfWork, Negotiable

Kind = Literal["plan", "settlement", "promise", "pay_in_full"]
KINDS: tuple[Kind, ...] = get_args(Kind)
_PERCENT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*(?:%|percent|per cent)", re.I)
_MOST_MONTHS = 600  # "over 1000 months" is not a request anyone means


def kind_of(value: str | None) -> Kind | None:
    """A kind of agreement from outside (a slot, a form field), or None when it is none of them."""
    return next((kind for kind in KINDS if kind == value), None)


# ---- what the debtor asks for --------------------------------------------------------------------

@dataclass(frozen=True)
class Monthly:
    """A plan at this much a month."""

    amount: Decimal


@dataclass(frozen=True)
class Months:
    """A plan over this many months."""

    count: int


@dataclass(frozen=True)
class Amount:
    """A settlement offer, or the amount of a promise."""

    value: Decimal


Asked = Monthly | Months | Amount


def encode_asked(asked: Asked | None) -> str | None:
    """The asked amount as one string (the bot keeps it in a slot between turns): 'monthly:150', 'months:12', '1100'."""
    if isinstance(asked, Monthly):
        return f"monthly:{asked.amount}"
    if isinstance(asked, Months):
        return f"months:{asked.count}"
    return None if asked is None else str(asked.value)


def decode_asked(text: str | None) -> Asked | None:
    """`encode_asked` read back; None for anything else."""
    prefix, _, value = (text or "").rpartition(":")
    try:
        if prefix == "monthly":
            return Monthly(Decimal(value))
        if prefix == "months":
            return Months(int(value))
        return Amount(Decimal(value)) if not prefix and value else None
    except (InvalidOperation, ValueError):
        return None


@dataclass(frozen=True)
class Request:
    """What is asked for: the kind, the amount (none for paying in full), the date (None: today), and where the
    negotiation stands (settlement rounds conceded so far; whether the debtor told us of hardship)."""

    kind: Kind
    asked: Asked | None = None
    when: date | None = None
    rounds: int = 0
    hardship: bool = False


def read_amount(text: str, kind: Kind, account: Negotiable) -> Asked | None:
    """The amount a message gives, as the kind of agreement needs it ('50% off' is an amount for a settlement)."""
    percent = _PERCENT.search(text or "")
    if percent and kind == "settlement":
        discount = min(Decimal(percent.group(1)), HUNDRED)
        return Amount(round_up(account.balance * (HUNDRED - discount) / HUNDRED, account.currency))
    amounts = [a for a in amounts_in(text) if Decimal(0) < a <= MAX_AMOUNT]
    if kind == "plan":
        if amounts:
            return Monthly(amounts[0])
        months = months_in(text)
        return Months(months) if months and 0 < months <= _MOST_MONTHS else None
    return Amount(amounts[0]) if amounts else None


def read_date(text: str, account: Negotiable) -> date | None:
    """The first date from the debtor's today on that the message names."""
    return future_date_in(text, account.today)


# ---- what the use case answers -------------------------------------------------------------------

@dataclass(frozen=True)
class DateMovedTo:
    """The date asked for is later than the policy allows: this is the latest."""

    latest: date


@dataclass(frozen=True)
class MonthlyRaisedTo:
    """The monthly amount asked for is too little: the plan's monthly amount is `least`."""

    asked: Decimal
    least: Decimal


@dataclass(frozen=True)
class MonthsCappedAt:
    """More months were asked for than can be offered: the plan has `most`."""

    asked: int
    most: int


@dataclass(frozen=True)
class OfferCountered:
    """The settlement offer is not accepted; the proposal is a counter-offer."""

    offer: Decimal


@dataclass(frozen=True)
class BalanceCapped:
    """A promise of more than is owed is a promise of the balance."""

    balance: Decimal


Adjustment = DateMovedTo | MonthlyRaisedTo | MonthsCappedAt | OfferCountered | BalanceCapped


@dataclass(frozen=True)
class Proposal:
    """Terms the actor may agree, to state and ask a yes for; `request` is the request as it now stands
    (the date asked for, the settlement rounds after this one) for the next turn to start from."""

    account_ref: str  # as on file
    currency: str
    balance: Decimal
    terms: Terms
    adjustments: tuple[Adjustment, ...]
    request: Request


@dataclass(frozen=True)
class Escalation:
    """A person must take it; the handoff (`handoff_id`) is open. The figures are the debtor's to see."""

    reason: Literal["settlement_below_authority", "above_authority"]
    handoff_id: int
    currency: str
    our_last_offer: Decimal | None = None
    their_offer: Decimal | None = None


@dataclass(frozen=True)
class Refusal:
    """Collection on the account is paused or stopped: nothing is asked for or agreed."""

    hold: Hold


@dataclass(frozen=True)
class ChangeOfMind:
    """An answer to stated terms that asks for another kind of agreement: start that one afresh."""

    kind: Kind


@dataclass(frozen=True)
class NothingNew:
    """An answer to stated terms with no new amount or date: nothing to reconsider."""


Outcome = Proposal | Escalation | Refusal


# ---- the use cases -------------------------------------------------------------------------------

def negotiable(uow: AbstractUnitOfWork, account_ref: str) -> Negotiable:
    """The account as a negotiation reads it (one read): for reading a debtor's answers against it."""
    with uow:
        return uow.accounts.negotiable(account_ref)


def propose(uow: AbstractUnitOfWork, account_ref: str, actor: Actor, request: Request,
            conversation_id: str) -> Outcome:
    """The terms `actor` can agree nearest to `request`, a handoff, or a refusal; one transaction, one read."""
    with uow:
        return _answer(uow, uow.accounts.negotiable(account_ref), actor, request, conversation_id)


def answer(uow: AbstractUnitOfWork, account_ref: str, actor: Actor, pending: Request, said: str, *,
           wanted: Kind | None, conversation_id: str, counter_only: bool = False,
           ) -> Outcome | ChangeOfMind | NothingNew:
    """The debtor's reply to terms already stated (`pending`): new terms for a new amount or date, another kind
    of agreement (`wanted`, what their words ask for), or nothing new. `counter_only`: the reply was a no, and
    only a new settlement offer in it ("no, I'll pay 600") is reconsidered."""
    with uow:
        account = uow.accounts.negotiable(account_ref)
        new_asked = read_amount(said, pending.kind, account)
        counters = pending.kind == "settlement" and new_asked is not None
        if counter_only and not counters:
            return NothingNew()
        if account.hold is not None:
            return Refusal(account.hold)
        if wanted and wanted != pending.kind and not counters:
            return ChangeOfMind(wanted)
        new_date = read_date(said, account)
        if new_asked is None and new_date is None:
            return NothingNew()  # no concession on noise
        request = replace(pending, asked=new_asked or pending.asked, when=new_date or pending.when)
        return _answer(uow, account, actor, request, conversation_id)


@dataclass(frozen=True)
class HardshipOffer:
    """The gentlest plan the actor may offer a debtor in hardship."""

    most_months: int
    least_monthly: Decimal
    currency: str


def hardship_offer(uow: AbstractUnitOfWork, account_ref: str, actor: Actor) -> HardshipOffer | Refusal:
    """What can be offered to a debtor in hardship: the tier's hardship plan limits, or why nothing can."""
    with uow:
        account = uow.accounts.negotiable(account_ref)
    if account.hold is not None:
        return Refusal(account.hold)
    limits = account.policy.tiers[actor.tier].for_plan(hardship=True)
    return HardshipOffer(limits.max_plan_months, limits.min_installment, account.currency)


@dataclass(frozen=True)
class Balance:
    """What a verified debtor asked about their account is told, and whether payment may be discussed."""

    statement: Statement
    hold: Hold | None
    in_validation_period: bool
    news: Ended | None = None  # an agreement broken since they last heard from us: said first


def disclose_balance(uow: AbstractUnitOfWork, account_ref: str, conversation_id: str | None) -> Balance:
    """The statement for a verified debtor, the disclosure in the audit log: the opening of any negotiation."""
    with uow:
        account = uow.accounts.negotiable(account_ref)
        statement = uow.accounts.statement(account_ref)
        news = uow.accounts.take_news(account_ref)
        uow.audit.record("balance_disclosed", account_ref=account.account_ref, conversation_id=conversation_id,
                         balance=str(statement.balance), **({"told_broken": news.kind} if news else {}))
    return Balance(statement, account.hold, statement.in_validation_period(account.today), news)


# ---- deciding ------------------------------------------------------------------------------------

def _within(requested: date, today: date, days: int) -> tuple[date, DateMovedTo | None]:
    """The requested date, or the nearest one allowed, with a note of the change."""
    latest = today + timedelta(days=days)
    if requested > latest:
        return latest, DateMovedTo(latest)
    return max(requested, today), None


def _answer(uow: AbstractUnitOfWork, account: Negotiable, actor: Actor, request: Request,
            conversation_id: str) -> Outcome:
    if account.hold is not None:
        return Refusal(account.hold)
    decided = _decide(account, actor.tier, request)
    if isinstance(decided, _Escalate):
        handoff = uow.handoffs.open(conversation_id, decided.reason, account.account_ref, **decided.details)
        return Escalation(decided.reason, handoff, account.currency, decided.ours, decided.theirs)
    problems = authority_problems(decided.terms, account.balance, account.policy, actor.tier, account.today,
                                  account.currency)
    if problems:  # cannot happen for terms built here; a person looks at it if it ever does
        handoff = uow.handoffs.open(conversation_id, "above_authority", account.account_ref, problems=problems)
        return Escalation("above_authority", handoff, account.currency)
    return decided


@dataclass(frozen=True)
class _Escalate:
    reason: Literal["settlement_below_authority"]
    ours: Decimal
    theirs: Decimal
    details: dict[str, str]


def _decide(account: Negotiable, tier: str, request: Request) -> Proposal | _Escalate:
    balance, currency, policy, today = account.balance, account.currency, account.policy, account.today
    asked, when = request.asked, request.when or today
    adjustments: list[Adjustment | None] = []
    terms: Terms
    if request.kind == "plan":
        first_due, moved = _within(when, today, policy.plan_first_payment_within_days)
        monthly = asked.amount if isinstance(asked, Monthly) else None
        months = asked.count if isinstance(asked, Months) else None
        terms = nearest_plan(balance, policy, tier, first_due, currency, months=months, monthly=monthly,
                             hardship=request.hardship)
        adjustments = [
            moved,
            MonthlyRaisedTo(monthly, terms.monthly) if monthly is not None and terms.monthly > monthly else None,
            MonthsCappedAt(months, terms.months) if months is not None and terms.months < months else None,
        ]
    elif request.kind == "settlement":
        offer = asked.value if isinstance(asked, Amount) else None
        pay_by, moved = _within(when, today, policy.settlement_pay_within_days)
        move = respond_to_offer(balance, offer, policy, tier, request.rounds, currency)
        if move.action == "escalate":
            ours = proposal(balance, policy, tier, request.rounds, currency)
            theirs = offer if offer is not None else Decimal(0)
            return _Escalate("settlement_below_authority", ours, theirs,
                             {"last_offer": str(theirs), "assistant_last_offer": str(ours)})
        countered = OfferCountered(offer) if move.action == "counter" and offer is not None else None
        adjustments = [countered, moved]
        terms = SettlementTerms(move.amount, pay_by)
        request = replace(request, rounds=move.round)
    else:
        amount = balance if request.kind == "pay_in_full" or not isinstance(asked, Amount) else asked.value
        pay_on, moved = _within(when, today, policy.promise_max_days)
        adjustments = [moved]
        if amount > balance:
            amount = balance
            adjustments.append(BalanceCapped(balance))
        terms = PromiseTerms(amount, pay_on)
    return Proposal(account.account_ref, currency, balance, terms, tuple(a for a in adjustments if a is not None),
                    replace(request, when=when))

