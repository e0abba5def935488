"""What payments do to agreements (bot.domain.payments), by example and over random payment sequences."""
from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.payments import Due, Paid, lump_outcome, plan_follow_ups, plan_outcome, promise_follow_ups

START = date(2027, 1, 1)
PLAN = [Due(1, date(2027, 1, 1), 10_000), Due(2, date(2027, 2, 1), 10_000), Due(3, date(2027, 3, 1), 5_000)]


def test_instalments_are_paid_in_order_and_a_partial_payment_stays_on_the_first_unpaid_one():
    outcome = plan_outcome(PLAN, [Paid(10_000, date(2027, 1, 1)), Paid(4_000, date(2027, 1, 20))], date(2027, 1, 25),
                           10)
    assert [(i.status, i.paid_minor) for i in outcome.instalments] == [
        ("paid", 10_000), ("scheduled", 4_000), ("scheduled", 0)]
    assert outcome.status == "active"


def test_a_plan_is_broken_only_after_the_grace_days_and_completed_when_all_is_paid():
    paid = [Paid(10_000, date(2027, 1, 1))]
    assert plan_outcome(PLAN, paid, date(2027, 2, 11), 10).status == "active"  # 10 days late: still in grace
    late = plan_outcome(PLAN, paid, date(2027, 2, 12), 10)
    assert late.status == "broken" and late.missed == 1 and "2027-02-01" in (late.reason or "")
    everything = [*paid, Paid(10_000, date(2027, 2, 3)), Paid(5_000, date(2027, 3, 1))]
    assert plan_outcome(PLAN, everything, date(2027, 3, 1), 10).status == "completed"


def test_an_instalment_paid_after_the_grace_days_still_broke_the_plan():
    paid = [Paid(10_000, date(2027, 1, 1)), Paid(10_000, date(2027, 2, 20))]
    assert plan_outcome(PLAN, paid, date(2027, 2, 25), 10).status == "broken"


def test_payments_after_the_day_decided_do_not_count():
    assert plan_outcome(PLAN, [Paid(25_000, date(2027, 3, 2))], date(2027, 1, 5), 10).instalments[0].status == "late"


def test_a_settlement_is_paid_when_its_amount_arrives_by_its_date_and_broken_the_day_after():
    by = date(2027, 1, 14)
    assert lump_outcome(50_000, by, [Paid(20_000, date(2027, 1, 3))], date(2027, 1, 14), kept="paid").status == \
        "pending"
    assert lump_outcome(50_000, by, [Paid(20_000, date(2027, 1, 3))], date(2027, 1, 15), kept="paid").status == \
        "broken"
    paid = lump_outcome(50_000, by, [Paid(20_000, date(2027, 1, 3)), Paid(30_000, date(2027, 1, 14))],
                        date(2027, 1, 20), kept="paid")
    assert (paid.status, paid.paid_on) == ("paid", date(2027, 1, 14))
    late = lump_outcome(50_000, by, [Paid(50_000, date(2027, 1, 15))], date(2027, 1, 20), kept="kept")
    assert late.status == "broken"  # arrived after its date


def test_follow_ups_thank_remind_before_the_date_and_chase_a_late_instalment_once_each():
    on_the_way = plan_outcome(PLAN, [Paid(10_000, date(2027, 1, 1))], date(2027, 1, 29), 10)
    assert [(f.kind, f.key) for f in plan_follow_ups(7, on_the_way, date(2027, 1, 29), 3)] == [
        ("upcoming", "plan:7:2:upcoming")]
    late = plan_outcome(PLAN, [Paid(10_000, date(2027, 1, 1))], date(2027, 2, 4), 10)
    assert [f.key for f in plan_follow_ups(7, late, date(2027, 2, 4), 3)] == ["plan:7:2:missed"]
    done = plan_outcome(PLAN, [Paid(25_000, date(2027, 1, 1))], date(2027, 1, 2), 10)
    assert [f.key for f in plan_follow_ups(7, done, date(2027, 1, 2), 3)] == ["plan:7:thanks"]
    kept = lump_outcome(9_000, date(2027, 1, 9), [Paid(9_000, date(2027, 1, 8))], date(2027, 1, 9), kept="kept")
    assert [f.key for f in promise_follow_ups(3, kept, date(2027, 1, 9), date(2027, 1, 9), 3)] == ["promise:3:thanks"]


amounts = st.lists(st.integers(min_value=1, max_value=40_000), min_size=1, max_size=12)
payments = st.lists(st.tuples(st.integers(min_value=1, max_value=30_000), st.integers(min_value=0, max_value=400)),
                    max_size=15)


@settings(max_examples=300, deadline=None)
@given(amounts, payments, st.integers(min_value=0, max_value=400), st.integers(min_value=0, max_value=30))
def test_no_instalment_is_ever_paid_more_than_its_amount_and_what_is_allocated_is_what_was_paid(
        instalments, paid, day, grace):
    plan = [Due(n + 1, START + timedelta(days=30 * n), amount) for n, amount in enumerate(instalments)]
    received = [Paid(amount, START + timedelta(days=offset)) for amount, offset in paid]
    as_of = START + timedelta(days=day)
    outcome = plan_outcome(plan, received, as_of, grace)
    counted = sum(p.amount_minor for p in received if p.paid_on <= as_of)
    assert all(0 <= i.paid_minor <= i.amount_minor for i in outcome.instalments)
    assert sum(i.paid_minor for i in outcome.instalments) == min(counted, sum(instalments))
    paid_flags = [i.status == "paid" for i in outcome.instalments]
    assert paid_flags == sorted(paid_flags, reverse=True)  # in order: no instalment paid before an earlier one
    assert (outcome.status == "completed") == (counted >= sum(instalments) and outcome.status != "broken")
