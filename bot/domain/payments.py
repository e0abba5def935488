"""What payments do to agreements, as pure rules (SPEC section 9): instalments paid in order, plans completed or
broken, settlements paid or broken, promises kept or broken; and the messages each change calls for.

Everything is in integer minor units of the account's currency and in the debtor's calendar days. The facts (an
agreement's terms, the payments made since it was agreed, the day) are gathered by `bot.services.daily`.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

PLAN_STATUSES = ("active", "completed", "broken", "superseded")
SETTLEMENT_STATUSES = ("pending", "paid", "broken", "cancelled")
PROMISE_STATUSES = ("pending", "kept", "broken", "cancelled")
IN_FORCE = frozenset({"active", "pending"})  # an agreement the daily run still decides on


@dataclass(frozen=True)
class Paid:
    """A payment as the rules see it."""

    amount_minor: int
    paid_on: date


@dataclass(frozen=True)
class Due:
    """An instalment of a plan."""

    sequence: int
    due_on: date
    amount_minor: int


@dataclass(frozen=True)
class InstalmentState:
    sequence: int
    due_on: date
    amount_minor: int
    paid_minor: int
    paid_on: date | None  # the day the payments covered it
    status: str  # scheduled | due | late | paid | missed


@dataclass(frozen=True)
class PlanOutcome:
    status: str  # active | completed | broken
    instalments: tuple[InstalmentState, ...]
    reason: str | None  # why it was broken, in words the debtor may be told

    @property
    def missed(self) -> int:
        return sum(1 for i in self.instalments if i.status == "missed")


def _covered_on(payments: Sequence[Paid], needed: int) -> date | None:
    """The day the running total of `payments` (oldest first) first reaches `needed`, or None."""
    running = 0
    for payment in payments:
        running += payment.amount_minor
        if running >= needed:
            return payment.paid_on
    return None


def _in_order(payments: Iterable[Paid], as_of: date) -> list[Paid]:
    return sorted((p for p in payments if p.paid_on <= as_of), key=lambda p: p.paid_on)


def plan_outcome(instalments: Sequence[Due], payments: Iterable[Paid], as_of: date, grace_days: int) -> PlanOutcome:
    """Payments made since the plan was agreed pay its instalments in order; an instalment still unpaid
    `grace_days` after it was due breaks the plan; all paid completes it."""
    paid = _in_order(payments, as_of)
    total = sum(p.amount_minor for p in paid)
    states: list[InstalmentState] = []
    owed_before = 0
    for due in sorted(instalments, key=lambda d: d.sequence):
        covered = max(0, min(due.amount_minor, total - owed_before))
        on = _covered_on(paid, owed_before + due.amount_minor)
        owed_before += due.amount_minor
        if on is not None:
            status = "paid"
        elif as_of > due.due_on + timedelta(days=grace_days):
            status = "missed"
        elif as_of > due.due_on:
            status = "late"
        elif as_of == due.due_on:
            status = "due"
        else:
            status = "scheduled"
        states.append(InstalmentState(due.sequence, due.due_on, due.amount_minor, covered, on, status))
    missed = [s for s in states if s.status == "missed"]
    late_payment = [s for s in states if s.paid_on is not None and s.paid_on > s.due_on + timedelta(days=grace_days)]
    if missed or late_payment:
        count = len(missed) + len(late_payment)
        first = (missed or late_payment)[0]
        reason = (f"{count} missed payment{'s' if count > 1 else ''}: the payment due {first.due_on.isoformat()} "
                  f"was not made within {grace_days} days")
        return PlanOutcome("broken", tuple(states), reason)
    if states and all(s.status == "paid" for s in states):
        return PlanOutcome("completed", tuple(states), None)
    return PlanOutcome("active", tuple(states), None)


@dataclass(frozen=True)
class LumpOutcome:
    """A settlement or a promise decided."""

    status: str  # pending | paid (settlement) / kept (promise) | broken
    paid_minor: int  # what arrived by its date
    paid_on: date | None
    reason: str | None


def lump_outcome(amount_minor: int, by: date, payments: Iterable[Paid], as_of: date, *, kept: str) -> LumpOutcome:
    """A settlement (`kept="paid"`) or a promise (`kept="kept"`): its amount arrived by its date, or it is broken
    the day after; pending before."""
    paid = [p for p in _in_order(payments, as_of) if p.paid_on <= by]
    total = sum(p.amount_minor for p in paid)
    on = _covered_on(paid, amount_minor)
    if on is not None:
        return LumpOutcome(kept, total, on, None)
    if as_of > by:
        return LumpOutcome("broken", total, None, f"the payment due {by.isoformat()} did not arrive in full")
    return LumpOutcome("pending", total, None, None)


# --- the messages the changes call for --------------------------------------------------------------------------

@dataclass(frozen=True)
class FollowUp:
    """A message a change calls for; `key` makes it go once however often the daily run runs."""

    key: str
    kind: str  # thanks | missed | upcoming
    due_on: date | None = None


def plan_follow_ups(plan_id: int, outcome: PlanOutcome, as_of: date, lead_days: int) -> list[FollowUp]:
    """Thanks for a completed plan; a reminder for an instalment late (not yet missed); one before each due date."""
    if outcome.status == "completed":
        return [FollowUp(f"plan:{plan_id}:thanks", "thanks")]
    if outcome.status != "active":
        return []
    found = []
    for state in outcome.instalments:
        if state.status == "late":
            found.append(FollowUp(f"plan:{plan_id}:{state.sequence}:missed", "missed", state.due_on))
        elif state.status in ("scheduled", "due") and state.due_on - timedelta(days=lead_days) <= as_of:
            found.append(FollowUp(f"plan:{plan_id}:{state.sequence}:upcoming", "upcoming", state.due_on))
    return found


def promise_follow_ups(promise_id: int, outcome: LumpOutcome, pay_on: date, as_of: date,
                       lead_days: int) -> list[FollowUp]:
    """Thanks for a kept promise; one reminder before its date."""
    if outcome.status == "kept":
        return [FollowUp(f"promise:{promise_id}:thanks", "thanks")]
    if outcome.status == "pending" and pay_on - timedelta(days=lead_days) <= as_of:
        return [FollowUp(f"promise:{promise_id}:upcoming", "upcoming", pay_on)]
    return []
