"""Negotiation: plans, settlements and promises, and the one check of an actor's authority over them.

Pure functions over Decimal money; amounts are whole minor units of the account's currency.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from itertools import pairwise
from typing import Any

from bot.domain.money import exponent
from bot.domain.policy import TIERS, Policy, TierLimits

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Installment:
    due_on: date
    amount: Decimal


@dataclass(frozen=True)
class PlanTerms:
    installments: tuple[Installment, ...]
    hardship: bool = False  # judged by the tier's hardship limits (SPEC 2.8)

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.installments), Decimal(0))

    @property
    def months(self) -> int:
        return len(self.installments)

    @property
    def monthly(self) -> Decimal:
        return self.installments[0].amount


@dataclass(frozen=True)
class SettlementTerms:
    amount: Decimal
    pay_by: date


@dataclass(frozen=True)
class PromiseTerms:
    amount: Decimal
    pay_on: date


Terms = PlanTerms | SettlementTerms | PromiseTerms


def terms_to_dict(terms: Terms) -> dict[str, Any]:
    """Plain data (strings) for storing terms between turns and in the audit log."""
    if isinstance(terms, PlanTerms):
        return {"kind": "plan", "installments": [[i.due_on.isoformat(), str(i.amount)] for i in terms.installments],
                "hardship": terms.hardship}
    if isinstance(terms, SettlementTerms):
        return {"kind": "settlement", "amount": str(terms.amount), "pay_by": terms.pay_by.isoformat()}
    return {"kind": "promise", "amount": str(terms.amount), "pay_on": terms.pay_on.isoformat()}


def terms_from_dict(data: dict[str, Any]) -> Terms:
    """The terms `terms_to_dict` stored."""
    if data["kind"] == "plan":
        return PlanTerms(tuple(Installment(date.fromisoformat(d), Decimal(a)) for d, a in data["installments"]),
                         hardship=bool(data.get("hardship")))
    if data["kind"] == "settlement":
        return SettlementTerms(Decimal(data["amount"]), date.fromisoformat(data["pay_by"]))
    return PromiseTerms(Decimal(data["amount"]), date.fromisoformat(data["pay_on"]))


class NotAuthorised(Exception):
    """The actor's tier does not allow these terms; `problems` says why, `escalate_to` who could."""

    def __init__(self, tier: str, problems: list[str], escalate_to: str | None):
        self.tier, self.problems, self.escalate_to = tier, problems, escalate_to
        super().__init__(f"{tier} may not agree this: " + "; ".join(problems))


def _unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-exponent(currency))


def round_down(amount: Decimal, currency: str) -> Decimal:
    """Down to a whole minor unit of the currency."""
    return amount.quantize(_unit(currency), rounding=ROUND_FLOOR)


def round_up(amount: Decimal, currency: str) -> Decimal:
    """Up to a whole minor unit of the currency."""
    return amount.quantize(_unit(currency), rounding=ROUND_CEILING)


def add_months(start: date, months: int) -> date:
    """Same day of the month, or the month's last day when it is shorter (31 Jan + 1 = 28/29 Feb)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def discount_pct(balance: Decimal, amount: Decimal) -> Decimal:
    """How much below the balance `amount` is, in percent to two places (0 for a zero balance)."""
    return ((balance - amount) / balance * HUNDRED).quantize(Decimal("0.01")) if balance else Decimal(0)


def settlement_floor(balance: Decimal, policy: Policy, tier: str, currency: str) -> Decimal:
    """The least a tier may accept in settlement: never revealed to the debtor."""
    return round_up(balance * (HUNDRED - policy.tiers[tier].max_discount_pct) / HUNDRED, currency)


# --- building plans -------------------------------------------------------------------------------

def _schedule(amounts: list[Decimal], first_due: date) -> PlanTerms:
    return PlanTerms(tuple(Installment(add_months(first_due, n), a) for n, a in enumerate(amounts)))


def plan_by_months(balance: Decimal, months: int, first_due: date, currency: str) -> PlanTerms:
    """Equal instalments; the rounding remainder goes on the last so the total is exact."""
    each = round_down(balance / months, currency)
    return _schedule([each] * (months - 1) + [balance - each * (months - 1)], first_due)


def plan_by_monthly(balance: Decimal, monthly: Decimal, first_due: date, currency: str) -> PlanTerms:
    """`monthly` until the balance is paid; the last instalment is what remains."""
    monthly = min(monthly, balance)
    full = int((balance / monthly).to_integral_value(rounding=ROUND_FLOOR))
    remainder = balance - monthly * full
    return _schedule([monthly] * full + ([remainder] if remainder else []), first_due)


def nearest_plan(balance: Decimal, policy: Policy, tier: str, first_due: date, currency: str, *,
                 months: int | None = None, monthly: Decimal | None = None, hardship: bool = False) -> PlanTerms:
    """The plan closest to what the debtor asked for that the tier allows (their own if allowed)."""
    plan = _nearest_plan(balance, policy.tiers[tier].for_plan(hardship), first_due, currency, months, monthly)
    return replace(plan, hardship=hardship)


def _nearest_plan(balance: Decimal, limits: TierLimits, first_due: date, currency: str, months: int | None,
                  monthly: Decimal | None) -> PlanTerms:
    least_monthly = max(
        limits.min_installment,
        round_up(balance / limits.max_plan_months, currency),
        round_up(balance * limits.min_down_payment_pct / HUNDRED, currency),
    )
    if monthly is None and months is not None:
        months = max(1, min(months, limits.max_plan_months))
        plan = plan_by_months(balance, months, first_due, currency)
        if plan.monthly >= least_monthly or months == 1:
            return plan
        monthly = least_monthly
    return plan_by_monthly(balance, max(monthly or least_monthly, least_monthly), first_due, currency)


# --- settlements ----------------------------------------------------------------------------------

def concession_schedule(policy: Policy, tier: str) -> list[Decimal]:
    """Discounts offered round by round, capped at the tier's maximum, ending at that maximum."""
    ceiling = policy.tiers[tier].max_discount_pct
    steps = [min(step, ceiling) for step in policy.settlement_concessions_pct]
    if not steps or steps[-1] < ceiling:
        steps.append(ceiling)
    return sorted(set(steps))


@dataclass(frozen=True)
class SettlementMove:
    """The assistant's answer to a debtor's settlement offer."""

    action: str  # accept | counter | escalate
    amount: Decimal  # accept: the debtor's offer; counter: our proposal; escalate: the debtor's last offer
    round: int  # rounds conceded so far, including this one


def proposal(balance: Decimal, policy: Policy, tier: str, round_: int, currency: str) -> Decimal:
    """What we propose in settlement at concession round `round_` (the last step once past the schedule)."""
    steps = concession_schedule(policy, tier)
    return round_up(balance * (HUNDRED - steps[min(round_, len(steps) - 1)]) / HUNDRED, currency)


def respond_to_offer(balance: Decimal, offer: Decimal | None, policy: Policy, tier: str, rounds: int,
                     currency: str) -> SettlementMove:
    """Accept an offer at or above what we would next propose; otherwise concede one step; at the floor, escalate."""
    last_round = len(concession_schedule(policy, tier)) - 1
    next_amount = proposal(balance, policy, tier, rounds, currency)
    if offer is not None and offer >= next_amount:
        return SettlementMove("accept", min(offer, balance), rounds)
    if rounds > last_round:
        return SettlementMove("escalate", offer if offer is not None else Decimal(0), rounds)
    return SettlementMove("counter", next_amount, rounds + 1)


# --- the authorisation check ----------------------------------------------------------------------

def authority_problems(terms: Terms, balance: Decimal, policy: Policy, tier: str, today: date,
                       currency: str) -> list[str]:
    """Everything about `terms` that `tier` may not agree to; empty when it may. The one rule every path calls."""
    limits = policy.tiers[tier]
    problems: list[str] = []
    if isinstance(terms, PlanTerms):
        limits = limits.for_plan(terms.hardship)
        amounts = [i.amount for i in terms.installments]
        dates = [i.due_on for i in terms.installments]
        if not amounts:
            return ["a plan needs at least one instalment"]
        if terms.total != balance:
            problems.append(f"instalments total {terms.total}, not the balance {balance}")
        if terms.months > limits.max_plan_months:
            problems.append(f"{terms.months} months is longer than {limits.max_plan_months}")
        if any(a < limits.min_installment for a in amounts[:-1]) or any(a <= 0 for a in amounts):
            problems.append(f"an instalment is below the minimum of {limits.min_installment}")
        if amounts[-1] - amounts[0] >= terms.months * _unit(currency):
            problems.append("the last instalment is larger than the others by more than a rounding remainder")
        if amounts[0] < balance * limits.min_down_payment_pct / HUNDRED:
            problems.append(f"the first payment is below {limits.min_down_payment_pct}% of the balance")
        if not today <= dates[0] <= today + timedelta(days=policy.plan_first_payment_within_days):
            problems.append(f"the first payment must fall within {policy.plan_first_payment_within_days} days")
        if any(later <= earlier for earlier, later in pairwise(dates)):
            problems.append("instalment dates must increase")
        if any(a != round_down(a, currency) for a in amounts):
            problems.append(f"amounts must be whole units of {currency}")
    elif isinstance(terms, SettlementTerms):
        floor = settlement_floor(balance, policy, tier, currency)
        if terms.amount < floor:
            problems.append(f"discount {discount_pct(balance, terms.amount)}% is more than {limits.max_discount_pct}%")
        if terms.amount > balance or terms.amount <= 0:
            problems.append("a settlement is for less than the balance")
        if not today <= terms.pay_by <= today + timedelta(days=policy.settlement_pay_within_days):
            problems.append(f"a settlement must be paid within {policy.settlement_pay_within_days} days")
        if terms.amount != round_down(terms.amount, currency):
            problems.append(f"amounts must be whole units of {currency}")
    else:
        if not Decimal(0) < terms.amount <= balance:
            problems.append("a promise is for more than nothing and at most the balance")
        if not today <= terms.pay_on <= today + timedelta(days=policy.promise_max_days):
            problems.append(f"a payment date must be within {policy.promise_max_days} days")
        if terms.amount != round_down(terms.amount, currency):
            problems.append(f"amounts must be whole units of {currency}")
    return problems


def authorise(terms: Terms, balance: Decimal, policy: Policy, tier: str, today: date, currency: str) -> None:
    """Raise NotAuthorised unless `tier` may agree `terms`; names the lowest tier that could."""
    problems = authority_problems(terms, balance, policy, tier, today, currency)
    if problems:
        higher = TIERS[TIERS.index(tier) + 1:]
        able = next((t for t in higher if not authority_problems(terms, balance, policy, t, today, currency)), None)
        raise NotAuthorised(tier, problems, able)
