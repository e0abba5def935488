"""What is owed on an account, and the states an account moves through."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class AccountStatus(StrEnum):
    """An account's status; str() is the stored value."""

    OPEN = "open"
    PLAN_ACTIVE = "plan_active"
    SETTLEMENT_PENDING = "settlement_pending"
    PROMISE_PENDING = "promise_pending"
    DISPUTED = "disputed"
    CEASED = "ceased"
    PAID = "paid"
    SETTLED = "settled"
    CLOSED = "closed"
    LEGAL = "legal"  # handed to a lawyer: no collection contact by the assistant or reminders


# Statuses in which the debtor may be asked for payment and agree to pay; any other pauses or ends collection.
COLLECTING = frozenset({AccountStatus.OPEN.value, AccountStatus.PLAN_ACTIVE.value,
                        AccountStatus.SETTLEMENT_PENDING.value, AccountStatus.PROMISE_PENDING.value})
# Statuses nothing reopens: no case or agreement changes them.
FINISHED = frozenset({AccountStatus.PAID.value, AccountStatus.SETTLED.value, AccountStatus.CLOSED.value})
# Statuses in which no collection contact is made: paused (disputed, ceased) or over (FINISHED).
NOT_COLLECTING = frozenset(status.value for status in AccountStatus) - COLLECTING

# Flags that stop collection for good (SPEC 2.9, 2.10); only a person clears them.
STOPPING_FLAGS = ("cease", "attorney", "bankruptcy", "deceased")
# Flags that pause collection until a person decides: a death reported by someone we cannot take at their word
# (anyone could say it to stop collection on someone else's account). Confirmed, it becomes `deceased`.
PAUSING_FLAGS = ("deceased_reported",)
# The account JSON's flags (SPEC 5), and `deceased_reported`.
FLAGS = ("sms_opt_out", *STOPPING_FLAGS, *PAUSING_FLAGS)


@dataclass(frozen=True)
class Statement:
    """Everything a verified debtor is told about an account (SPEC 2.3)."""

    account_ref: str
    creditor_name: str
    original_creditor: str
    currency: str
    principal: Decimal
    interest: Decimal
    fees: Decimal
    paid: Decimal
    placed_on: date
    validation_ends_on: date
    written_off: Decimal = Decimal(0)  # the discount of a settlement paid in full

    @property
    def balance(self) -> Decimal:
        return self.principal + self.interest + self.fees - self.paid - self.written_off

    def in_validation_period(self, today: date) -> bool:
        return today <= self.validation_ends_on


@dataclass(frozen=True)
class Ended:
    """An agreement that ended badly since the debtor last heard from us: what the assistant tells them first."""

    kind: str  # plan | settlement | promise
    ended_on: date
    reason: str
