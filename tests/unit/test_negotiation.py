"""The negotiation core: schedules, counter-offers, the settlement strategy and the authorisation check."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.domain.negotiation import (
    NotAuthorised,
    PlanTerms,
    PromiseTerms,
    SettlementTerms,
    add_months,
    authorise,
    authority_problems,
    concession_schedule,
    nearest_plan,
    plan_by_monthly,
    plan_by_months,
    proposal,
    respond_to_offer,
    settlement_floor,
)
from bot.domain.policy import TIERS, parse_policy

TODAY = date(2026, 11, 23)
POLICY = parse_policy({
    "settlement_pay_within_days": 14,
    "promise_max_days": 30,
    "tiers": {
        "bot": {"max_discount_pct": 20, "max_plan_months": 12, "min_installment": "25.00", "min_down_payment_pct": 0},
        "agent": {"max_discount_pct": 35, "max_plan_months": 24, "min_installment": "15.00", "min_down_payment_pct": 0},
        "supervisor": {"max_discount_pct": 50, "max_plan_months": 36, "min_installment": "10.00",
                       "min_down_payment_pct": 0},
    },
})
balances = st.decimals(min_value=Decimal("1.00"), max_value=Decimal("250000.00"), places=2)
tiers = st.sampled_from(TIERS)
first_dates = st.integers(min_value=0, max_value=30).map(lambda days: TODAY + timedelta(days=days))


def test_months_are_added_calendar_wise():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 12, 15), 3) == date(2028, 3, 15)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)


def test_equal_instalments_carry_the_remainder_on_the_last():
    plan = plan_by_months(Decimal("100.00"), 3, TODAY, "USD")
    assert [i.amount for i in plan.installments] == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert [i.due_on for i in plan.installments] == [TODAY, date(2026, 12, 23), date(2027, 1, 23)]


def test_a_monthly_amount_runs_until_paid():
    plan = plan_by_monthly(Decimal("1234.56"), Decimal("150"), TODAY, "USD")
    assert plan.months == 9 and plan.installments[-1].amount == Decimal("34.56") and plan.total == Decimal("1234.56")


@settings(max_examples=300, deadline=None)
@given(balance=balances, tier=tiers, first_due=first_dates,
       months=st.none() | st.integers(min_value=1, max_value=120),
       monthly=st.none() | st.decimals(min_value=Decimal("0.01"), max_value=Decimal("300000"), places=2))
def test_the_nearest_plan_is_always_one_the_tier_allows(balance, tier, first_due, months, monthly):
    plan = nearest_plan(balance, POLICY, tier, first_due, "USD", months=months, monthly=monthly)
    limits = POLICY.tiers[tier]
    assert plan.total == balance  # totals exact
    assert plan.months <= limits.max_plan_months  # never longer than allowed
    assert all(i.amount >= limits.min_installment for i in plan.installments[:-1])  # only a final remainder below
    assert authority_problems(plan, balance, POLICY, tier, TODAY, "USD") == []


@settings(max_examples=200, deadline=None)
@given(balance=balances, months=st.integers(min_value=1, max_value=60), first_due=first_dates)
def test_schedules_by_months_are_exact_with_only_the_last_different(balance, months, first_due):
    assume(balance / months >= Decimal("0.01"))
    amounts = [i.amount for i in plan_by_months(balance, months, first_due, "USD").installments]
    assert sum(amounts) == balance and len(set(amounts[:-1])) <= 1 and amounts[-1] >= amounts[0]


@settings(max_examples=300, deadline=None)
@given(balance=balances, tier=tiers, offers=st.lists(
    st.decimals(min_value=Decimal("0.00"), max_value=Decimal("300000"), places=2), min_size=1, max_size=8))
def test_no_settlement_is_accepted_below_the_tiers_floor(balance, tier, offers):
    rounds = 0
    for offer in offers:
        move = respond_to_offer(balance, offer, POLICY, tier, rounds, "USD")
        floor = settlement_floor(balance, POLICY, tier, "USD")
        assert move.amount >= floor or move.action == "escalate"
        if move.action == "accept":
            assert move.amount >= floor and move.amount <= balance
            break
        if move.action == "escalate":
            assert offer < floor
            break
        assert move.amount < balance or rounds == 0
        rounds = move.round


def test_the_assistant_opens_high_and_concedes_step_by_step_to_the_floor():
    balance = Decimal("1000.00")
    assert concession_schedule(POLICY, "bot") == [Decimal(5), Decimal(10), Decimal(15), Decimal(20)]
    moves, rounds = [], 0
    for _ in range(6):
        move = respond_to_offer(balance, Decimal("500.00"), POLICY, "bot", rounds, "USD")
        moves.append((move.action, move.amount))
        rounds = move.round
        if move.action == "escalate":
            break
    assert moves == [("counter", Decimal("950.00")), ("counter", Decimal("900.00")), ("counter", Decimal("850.00")),
                     ("counter", Decimal("800.00")), ("escalate", Decimal("500.00"))]


def test_an_offer_at_or_above_the_next_proposal_is_accepted():
    balance = Decimal("1000.00")
    assert proposal(balance, POLICY, "bot", 1, "USD") == Decimal("900.00")
    move = respond_to_offer(balance, Decimal("900.00"), POLICY, "bot", 1, "USD")
    assert (move.action, move.amount) == ("accept", Decimal("900.00"))


@settings(max_examples=200, deadline=None)
@given(balance=balances, days=st.integers(min_value=-5, max_value=60), tier=tiers)
def test_no_settlement_or_promise_later_than_allowed(balance, days, tier):
    when = TODAY + timedelta(days=days)
    floor = settlement_floor(balance, POLICY, tier, "USD")
    settle = authority_problems(SettlementTerms(floor, when), balance, POLICY, tier, TODAY, "USD")
    promise = authority_problems(PromiseTerms(balance, when), balance, POLICY, tier, TODAY, "USD")
    assert (settle == []) == (0 <= days <= 14)
    assert (promise == []) == (0 <= days <= 30)


def test_beyond_the_bots_authority_names_the_tier_that_could():
    balance = Decimal("1000.00")
    with pytest.raises(NotAuthorised) as refused:
        authorise(SettlementTerms(Decimal("700.00"), TODAY), balance, POLICY, "bot", TODAY, "USD")
    assert refused.value.escalate_to == "agent" and "30.00% is more than 20%" in refused.value.problems[0]
    with pytest.raises(NotAuthorised) as refused:
        authorise(SettlementTerms(Decimal("100.00"), TODAY), balance, POLICY, "agent", TODAY, "USD")
    assert refused.value.escalate_to is None
    authorise(SettlementTerms(Decimal("700.00"), TODAY), balance, POLICY, "agent", TODAY, "USD")


def test_plans_beyond_the_tier_are_refused():
    balance = Decimal("1200.00")
    too_long = plan_by_months(balance, 24, TODAY, "USD")
    assert "24 months is longer than 12" in authority_problems(too_long, balance, POLICY, "bot", TODAY, "USD")[0]
    assert authority_problems(too_long, balance, POLICY, "agent", TODAY, "USD") == []
    too_small = plan_by_monthly(balance, Decimal("10.00"), TODAY, "USD")
    assert any("below the minimum" in p for p in authority_problems(too_small, balance, POLICY, "agent", TODAY, "USD"))
    short = PlanTerms(plan_by_months(balance, 3, TODAY, "USD").installments[:2])
    assert any("not the balance" in p for p in authority_problems(short, balance, POLICY, "bot", TODAY, "USD"))
    balloon = PlanTerms(plan_by_months(Decimal("900.00"), 3, TODAY, "USD").installments[:2]
                        + plan_by_months(Decimal("900.00"), 1, add_months(TODAY, 2), "USD").installments)
    assert any("rounding remainder" in p
               for p in authority_problems(balloon, Decimal("1500.00"), POLICY, "bot", TODAY, "USD"))
    late = plan_by_months(balance, 3, TODAY + timedelta(days=31), "USD")
    assert any("within 30 days" in p for p in authority_problems(late, balance, POLICY, "bot", TODAY, "USD"))
