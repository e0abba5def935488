"""A creditor's authorisation policy: what each tier of actor may agree to."""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from typing import Any

TIERS = ("bot", "agent", "supervisor")  # lowest authority first


class PolicyError(ValueError):
    """A policy that cannot be enforced as written."""


@dataclass(frozen=True)
class TierLimits:
    max_discount_pct: Decimal
    max_plan_months: int
    min_installment: Decimal
    min_down_payment_pct: Decimal
    # Plan limits for a debtor in hardship (the tier's optional `hardship:` overrides); None: no override.
    hardship: TierLimits | None = None

    def for_plan(self, hardship: bool) -> TierLimits:
        return self.hardship if hardship and self.hardship else self


@dataclass(frozen=True)
class Policy:
    settlement_pay_within_days: int
    promise_max_days: int
    tiers: dict[str, TierLimits]
    # Optional keys, with defaults: discounts offered round by round (capped at each tier's maximum),
    # and how soon a plan's first payment must fall.
    settlement_concessions_pct: tuple[Decimal, ...] = (Decimal(5), Decimal(10), Decimal(15))
    plan_first_payment_within_days: int = 30
    # Operations (SPEC section 9): how late an instalment may be before the plan is broken, how many days ahead
    # of a due date the debtor is reminded, and the collectors' commission on what their agreements collect.
    grace_days: int = 10
    reminder_lead_days: int = 3
    commission_pct: Decimal = Decimal(0)
    legal: LegalRule | None = None
    credit_reporting: CreditReporting | None = None  # None: this creditor's accounts are not reported


@dataclass(frozen=True)
class CreditReporting:
    """Whether and how a creditor's accounts go to the credit bureaus (policy key `credit_reporting`)."""

    program_id: str  # the furnisher's identification number at the bureaus
    # A dispute the debtor raised within the validation period, not yet validated: report nothing at all for the
    # account until it is (Regulation F 1006.30(a) "passive" reporting is forbidden before contact: be strict).
    skip_unvalidated_disputes: bool = True


@dataclass(frozen=True)
class LegalRule:
    """When an account qualifies for legal review: an agreement broken and no contact for `quiet_days`, with at
    least `min_balance` owed (policy key `legal_review`)."""

    quiet_days: int
    min_balance: Decimal


def _decimal(raw: Any, where: str, low: Decimal, high: Decimal) -> Decimal:
    if isinstance(raw, float):
        raw = repr(raw)  # YAML gives 20.5 as float; its shortest repr is what the author wrote
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise PolicyError(f"{where} must be a number, got {raw!r}") from None
    if not value.is_finite() or not low <= value <= high:
        raise PolicyError(f"{where} must be between {low} and {high}, got {raw!r}")
    return value


def _whole(raw: Any, where: str, low: int, high: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise PolicyError(f"{where} must be a whole number from {low} to {high}, got {raw!r}")
    return raw


def _hardship(normal: TierLimits, raw: Any, where: str) -> TierLimits | None:
    """Hardship may only be gentler than the tier's own plan limits: longer, smaller, less down."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise PolicyError(f"{where} must be a mapping")
    unknown = set(raw) - {"max_plan_months", "min_installment", "min_down_payment_pct"}
    if unknown:
        raise PolicyError(
            f"{where} may set max_plan_months, min_installment, min_down_payment_pct; not {sorted(unknown)}")
    limits = replace(
        normal,
        max_plan_months=_whole(raw.get("max_plan_months", normal.max_plan_months), f"{where}.max_plan_months", 1, 600),
        min_installment=_decimal(raw.get("min_installment", normal.min_installment), f"{where}.min_installment",
                                 Decimal(0), Decimal(10**7)),
        min_down_payment_pct=_decimal(raw.get("min_down_payment_pct", normal.min_down_payment_pct),
                                      f"{where}.min_down_payment_pct", Decimal(0), Decimal(100)),
    )
    if (limits.max_plan_months < normal.max_plan_months or limits.min_installment > normal.min_installment
            or limits.min_down_payment_pct > normal.min_down_payment_pct):
        raise PolicyError(f"{where} must be at least as gentle as the tier's own limits")
    return limits


def parse_policy(raw: Any) -> Policy:
    """Validate a policy mapping as the policy file gives it (SPEC section 3)."""
    if not isinstance(raw, dict):
        raise PolicyError("policy must be a mapping")
    tiers_raw = raw.get("tiers")
    if not isinstance(tiers_raw, dict):
        raise PolicyError("policy.tiers must be a mapping with bot, agent and supervisor")
    missing = [tier for tier in TIERS if tier not in tiers_raw]
    if missing:
        raise PolicyError(f"policy.tiers lacks {', '.join(missing)}")
    tiers = {}
    for tier in TIERS:
        limits = tiers_raw[tier]
        where = f"policy.tiers.{tier}"
        if not isinstance(limits, dict):
            raise PolicyError(f"{where} must be a mapping")
        for key in ("max_discount_pct", "max_plan_months", "min_installment", "min_down_payment_pct"):
            if key not in limits:
                raise PolicyError(f"{where}.{key} is missing")
        tiers[tier] = TierLimits(
            max_discount_pct=_decimal(
                limits["max_discount_pct"], f"{where}.max_discount_pct", Decimal(0), Decimal(100)
            ),
            max_plan_months=_whole(limits["max_plan_months"], f"{where}.max_plan_months", 1, 600),
            min_installment=_decimal(limits["min_installment"], f"{where}.min_installment", Decimal(0), Decimal(10**7)),
            min_down_payment_pct=_decimal(
                limits["min_down_payment_pct"], f"{where}.min_down_payment_pct", Decimal(0), Decimal(100)
            ),
        )
        tiers[tier] = replace(tiers[tier], hardship=_hardship(tiers[tier], limits.get("hardship"), f"{where}.hardship"))
    for lower, higher in pairwise(TIERS):
        low, high = tiers[lower], tiers[higher]
        if (
            high.max_discount_pct < low.max_discount_pct
            or high.max_plan_months < low.max_plan_months
            or high.min_installment > low.min_installment
        ):
            raise PolicyError(f"tier {higher} must allow at least what tier {lower} allows")
    concessions = raw.get("settlement_concessions_pct", [5, 10, 15])
    if not isinstance(concessions, list) or not concessions:
        raise PolicyError("policy.settlement_concessions_pct must be a list of percentages")
    steps = tuple(_decimal(step, "policy.settlement_concessions_pct", Decimal(0), Decimal(100)) for step in concessions)
    if list(steps) != sorted(set(steps)):
        raise PolicyError("policy.settlement_concessions_pct must increase round by round")
    return Policy(
        settlement_concessions_pct=steps,
        plan_first_payment_within_days=_whole(
            raw.get("plan_first_payment_within_days", 30), "policy.plan_first_payment_within_days", 1, 365),
        settlement_pay_within_days=_whole(
            raw.get("settlement_pay_within_days"), "policy.settlement_pay_within_days", 1, 365),
        promise_max_days=_whole(raw.get("promise_max_days"), "policy.promise_max_days", 1, 365),
        tiers=tiers,
        grace_days=_whole(raw.get("grace_days", 10), "policy.grace_days", 0, 120),
        reminder_lead_days=_whole(raw.get("reminder_lead_days", 3), "policy.reminder_lead_days", 0, 30),
        commission_pct=_decimal(raw.get("commission_pct", 0), "policy.commission_pct", Decimal(0), Decimal(100)),
        legal=_legal(raw.get("legal_review")),
        credit_reporting=_credit_reporting(raw.get("credit_reporting")),
    )


def _credit_reporting(raw: Any) -> CreditReporting | None:
    if raw is None or raw is False:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("program_id"), str) or not raw["program_id"].strip():
        raise PolicyError("policy.credit_reporting must be a mapping with the furnisher's program_id")
    skip = raw.get("skip_unvalidated_disputes", True)
    if not isinstance(skip, bool):
        raise PolicyError("policy.credit_reporting.skip_unvalidated_disputes must be true or false")
    return CreditReporting(raw["program_id"].strip(), skip)


def _legal(raw: Any) -> LegalRule | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise PolicyError("policy.legal_review must be a mapping with quiet_days and min_balance")
    return LegalRule(quiet_days=_whole(raw.get("quiet_days", 60), "policy.legal_review.quiet_days", 1, 3650),
                     min_balance=_decimal(raw.get("min_balance", 0), "policy.legal_review.min_balance", Decimal(0),
                                          Decimal(10**9)))
