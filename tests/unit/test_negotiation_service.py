"""The negotiation use case on a fake unit of work: proposals, counter-offers, caps, escalation, holds."""
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bot.domain.accounts import Statement
from bot.domain.negotiation import PlanTerms, PromiseTerms, SettlementTerms, authority_problems
from bot.domain.policy import parse_policy
from bot.presenters import en
from bot.services import negotiation
from bot.services.accounts import UnknownAccount
from bot.services.agreements import ASSISTANT, Actor
from bot.services.cases import Hold
from bot.services.negotiation import (
    Amount,
    BalanceCapped,
    ChangeOfMind,
    DateMovedTo,
    Escalation,
    Monthly,
    MonthlyRaisedTo,
    Months,
    MonthsCappedAt,
    NothingNew,
    OfferCountered,
    Proposal,
    Refusal,
    Request,
)
from bot.services.unit_of_work import FakeUnitOfWork, Negotiable

TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
BALANCE = Decimal("1234.56")
POLICY = parse_policy({  # the demo creditor's (bot/demo/policies.yml)
    "settlement_pay_within_days": 14, "promise_max_days": 30,
    "tiers": {
        "bot": {"max_discount_pct": 20, "max_plan_months": 12, "min_installment": "25.00", "min_down_payment_pct": 0,
                "hardship": {"max_plan_months": 24, "min_installment": "15.00"}},
        "agent": {"max_discount_pct": 35, "max_plan_months": 24, "min_installment": "15.00", "min_down_payment_pct": 0},
        "supervisor": {"max_discount_pct": 50, "max_plan_months": 36, "min_installment": "10.00",
                       "min_down_payment_pct": 0},
    },
})
ACCOUNT = Negotiable("ACC-1001", BALANCE, "USD", POLICY, TODAY)
DISPUTED = Negotiable("ACC-2002", BALANCE, "USD", POLICY, TODAY, Hold("disputed", "DSP-ABCD-EFGH-JKMN"))
AGENT = Actor("agent", "alice")


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork(NOW, [ACCOUNT, DISPUTED])


def propose(uow, request: Request, ref="ACC-1001", actor=ASSISTANT):
    return negotiation.propose(uow, ref, actor, request, "conv-1")


# ---- plans ---------------------------------------------------------------------------------------

def test_a_plan_the_bot_may_agree_is_proposed_as_asked(uow):
    outcome = propose(uow, Request("plan", Monthly(Decimal("150")), TODAY + timedelta(days=7)))
    assert isinstance(outcome, Proposal) and outcome.adjustments == ()
    assert isinstance(outcome.terms, PlanTerms)
    assert [i.amount for i in outcome.terms.installments] == [Decimal("150")] * 8 + [Decimal("34.56")]
    assert outcome.terms.installments[0].due_on == TODAY + timedelta(days=7)
    assert en.describe_plan(outcome.terms, "USD") == (
        "8 monthly payments of $150.00 from 30 November 2026, then $34.56 on 30 July 2027")
    assert uow.accounts.reads == 1 and uow.commits == 1 and uow.handoffs.opened == []


def test_too_little_a_month_is_raised_to_the_least_the_bot_may_accept(uow):
    outcome = propose(uow, Request("plan", Monthly(Decimal("10")), TODAY))
    assert isinstance(outcome, Proposal)
    assert outcome.adjustments == (MonthlyRaisedTo(Decimal("10"), Decimal("102.88")),)  # 1234.56 over 12 months
    assert en.adjustments(outcome.adjustments, "USD") == (
        "I can't agree $10.00 a month: the least I can accept is $102.88. ")


def test_too_many_months_are_capped_and_a_late_first_payment_brought_forward(uow):
    outcome = propose(uow, Request("plan", Months(30), TODAY + timedelta(days=45)))
    assert isinstance(outcome, Proposal) and isinstance(outcome.terms, PlanTerms)
    latest = TODAY + timedelta(days=30)  # the policy's default plan_first_payment_within_days
    assert outcome.adjustments == (DateMovedTo(latest), MonthsCappedAt(30, 12))
    assert outcome.terms.months == 12 and outcome.terms.installments[0].due_on == latest
    assert outcome.request.when == TODAY + timedelta(days=45)  # what was asked is remembered, not the cap
    assert en.adjustments(outcome.adjustments, "USD") == (
        "The latest date I can agree is 23 December 2026. "
        "I can't spread it over 30 months: the most I can offer is 12. ")


def test_hardship_plans_follow_the_tiers_hardship_limits(uow):
    outcome = propose(uow, Request("plan", Monthly(Decimal("10")), TODAY, hardship=True))
    assert isinstance(outcome, Proposal) and isinstance(outcome.terms, PlanTerms)
    assert outcome.terms.hardship and outcome.terms.months == 24  # 1234.56 / 24 = 51.44 > 15.00
    assert outcome.adjustments == (MonthlyRaisedTo(Decimal("10"), Decimal("51.44")),)


def test_the_actors_tier_decides_what_is_offered(uow):
    bot = propose(uow, Request("plan", Months(24), TODAY))
    agent = propose(uow, Request("plan", Months(24), TODAY), actor=AGENT)
    assert isinstance(bot, Proposal) and isinstance(agent, Proposal)
    assert bot.terms.months == 12 and agent.terms.months == 24 and agent.adjustments == ()


# ---- settlements ---------------------------------------------------------------------------------

def test_a_low_offer_is_countered_step_by_step_then_accepted(uow):
    offer = Amount(Decimal("1100"))
    first = propose(uow, Request("settlement", offer, TODAY + timedelta(days=1)))
    assert isinstance(first, Proposal) and first.terms == SettlementTerms(Decimal("1172.84"), TODAY + timedelta(days=1))
    assert first.adjustments == (OfferCountered(Decimal("1100")),) and first.request.rounds == 1
    second = propose(uow, first.request)
    assert isinstance(second, Proposal) and second.terms.amount == Decimal("1111.11") and second.request.rounds == 2
    third = propose(uow, second.request)
    assert isinstance(third, Proposal) and third.terms.amount == Decimal("1100") and third.adjustments == ()
    message = en.message_for_proposal(first, "1-800-555-0142")
    assert message.response == "utter_propose_settlement"
    assert message.values["adjustment"] == "I'm not able to accept $1,100.00. "
    assert message.values["saving"] == "$61.72" and message.values["balance"] == "$1,234.56"


def test_insisting_below_the_floor_escalates_with_a_handoff_in_the_same_transaction(uow):
    request, amounts = Request("settlement", Amount(Decimal("617.28")), TODAY), []
    for _ in range(6):
        outcome = propose(uow, request)
        if isinstance(outcome, Escalation):
            break
        assert isinstance(outcome, Proposal)
        amounts.append(outcome.terms.amount)
        request = outcome.request
    assert amounts == [Decimal("1172.84"), Decimal("1111.11"), Decimal("1049.38"), Decimal("987.65")]
    assert outcome == Escalation("settlement_below_authority", 1, "USD", Decimal("987.65"), Decimal("617.28"))
    [handoff] = uow.handoffs.opened
    assert (handoff.reason, handoff.account_ref, handoff.conversation_id) == (
        "settlement_below_authority", "ACC-1001", "conv-1")
    assert handoff.details == {"last_offer": "617.28", "assistant_last_offer": "987.65"}
    message = en.message_for_escalation(outcome, "1-800-555-0142")
    assert message == en.Message("utter_settlement_escalated", {"amount": "$987.65", "offer": "$617.28"})


def test_a_settlement_date_beyond_the_policy_is_brought_within_it(uow):
    outcome = propose(uow, Request("settlement", Amount(Decimal("1200")), TODAY + timedelta(days=40)))
    assert isinstance(outcome, Proposal)
    assert outcome.terms == SettlementTerms(Decimal("1200"), TODAY + timedelta(days=14))
    assert outcome.adjustments == (DateMovedTo(TODAY + timedelta(days=14)),)


# ---- promises ------------------------------------------------------------------------------------

def test_a_promise_of_more_than_the_balance_is_a_promise_of_the_balance(uow):
    outcome = propose(uow, Request("promise", Amount(Decimal("5000")), TODAY + timedelta(days=90)))
    assert isinstance(outcome, Proposal)
    assert outcome.terms == PromiseTerms(BALANCE, TODAY + timedelta(days=30))
    assert outcome.adjustments == (DateMovedTo(TODAY + timedelta(days=30)), BalanceCapped(BALANCE))
    message = en.message_for_proposal(outcome, "1-800-555-0142")
    assert message.values["adjustment"] == (
        "The latest date I can agree is 23 December 2026. Your balance is $1,234.56. ")
    assert message.values["instructions"] == (
        "You can pay by card on 1-800-555-0142, or by bank transfer quoting reference ACC-1001.")


def test_paying_in_full_is_a_promise_of_the_balance_from_today_when_no_date_is_given(uow):
    outcome = propose(uow, Request("pay_in_full"))
    assert isinstance(outcome, Proposal) and outcome.terms == PromiseTerms(BALANCE, TODAY)
    assert outcome.request.when == TODAY


def test_terms_no_tier_could_state_go_to_a_person_without_a_figure(uow):
    outcome = propose(uow, Request("promise", Amount(Decimal("0")), TODAY))  # a promise of nothing
    assert isinstance(outcome, Escalation) and outcome.reason == "above_authority"
    [handoff] = uow.handoffs.opened
    assert handoff.details["problems"] == ["a promise is for more than nothing and at most the balance"]
    assert en.message_for_escalation(outcome, "1-800-555-0142") == en.Message(
        "utter_handed_off", {"agency_phone": "1-800-555-0142"})


# ---- holds ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("request_", [Request("plan", Months(6)), Request("settlement", Amount(Decimal("1"))),
                                      Request("promise", Amount(Decimal("10"))), Request("pay_in_full")],
                         ids=["plan", "settlement", "promise", "pay_in_full"])
def test_nothing_is_proposed_while_collection_is_on_hold(uow, request_):
    outcome = propose(uow, request_, ref="acc-2002")
    assert outcome == Refusal(Hold("disputed", "DSP-ABCD-EFGH-JKMN"))
    assert uow.handoffs.opened == []
    answered = negotiation.answer(uow, "ACC-2002", ASSISTANT, request_, "ok 200 on friday", wanted=None,
                                  conversation_id="conv-1")
    assert answered == outcome


def test_an_unknown_account_is_not_negotiated(uow):
    with pytest.raises(UnknownAccount):
        propose(uow, Request("plan"), ref="NOPE")
    assert uow.commits == 0 and uow.rollbacks == 1


def test_use_cases_a_caller_runs_together_commit_once_and_fail_together(uow):
    with uow:
        assert isinstance(propose(uow, Request("plan", Months(6), TODAY)), Proposal)
        assert isinstance(negotiation.hardship_offer(uow, "ACC-1001", ASSISTANT), negotiation.HardshipOffer)
        assert uow.commits == 0
    assert uow.commits == 1
    with pytest.raises(UnknownAccount), uow:
        propose(uow, Request("plan"))
        propose(uow, Request("plan"), ref="NOPE")
    assert (uow.commits, uow.rollbacks) == (1, 1)


# ---- answers to stated terms ---------------------------------------------------------------------

def answer(uow, pending: Request, said: str, wanted=None, counter_only=False):
    return negotiation.answer(uow, "ACC-1001", ASSISTANT, pending, said, wanted=wanted, conversation_id="conv-1",
                              counter_only=counter_only)


def test_a_new_amount_or_date_restates_the_terms_and_noise_concedes_nothing(uow):
    pending = Request("settlement", Amount(Decimal("1100")), TODAY + timedelta(days=1), rounds=1)
    assert answer(uow, pending, "hmm what") == NothingNew()
    moved = answer(uow, pending, "can it be the day after tomorrow")
    assert isinstance(moved, Proposal) and moved.terms.pay_by == TODAY + timedelta(days=2)
    assert moved.terms.amount == Decimal("1111.11")  # the offer is kept, the next step conceded
    half = answer(uow, pending, "50% off")
    assert isinstance(half, Proposal) and half.adjustments == (OfferCountered(Decimal("617.28")),)
    assert uow.accounts.reads == 3  # one read per answer


def test_asking_for_another_kind_starts_it_afresh_unless_it_is_a_settlement_counter_offer(uow):
    plan = Request("plan", Monthly(Decimal("150")), TODAY)
    assert answer(uow, plan, "actually can I settle for less", wanted="settlement") == ChangeOfMind("settlement")
    settlement = Request("settlement", Amount(Decimal("1100")), TODAY, rounds=1)
    countered = answer(uow, settlement, "I'll pay 1150 in full", wanted="pay_in_full")
    assert isinstance(countered, Proposal) and countered.terms.amount == Decimal("1150")


def test_a_no_reconsiders_only_a_new_settlement_offer(uow):
    settlement = Request("settlement", Amount(Decimal("1100")), TODAY, rounds=1)
    assert answer(uow, settlement, "no, friday", counter_only=True) == NothingNew()
    assert isinstance(answer(uow, settlement, "no, I'll pay 1120", counter_only=True), Proposal)
    plan = Request("plan", Monthly(Decimal("150")), TODAY)
    assert answer(uow, plan, "no, 100 a month", counter_only=True) == NothingNew()


# ---- reading what the debtor wrote, and the slot codec -------------------------------------------

def test_amounts_are_read_as_each_kind_needs_and_survive_the_slot_round_trip():
    cases = [("I can do 150 a month", "plan", Monthly(Decimal("150")), "monthly:150"),
             ("over 10 months please", "plan", Months(10), "months:10"),
             ("50% off", "settlement", Amount(Decimal("617.28")), "617.28"),
             ("$1,100", "settlement", Amount(Decimal("1100")), "1100")]
    for text, kind, asked, slot in cases:
        assert negotiation.read_amount(text, kind, ACCOUNT) == asked
        assert negotiation.encode_asked(asked) == slot and negotiation.decode_asked(slot) == asked
    assert negotiation.read_amount("a billion: 9999999999", "promise", ACCOUNT) is None
    assert negotiation.read_amount("over 900 months", "plan", ACCOUNT) is None
    for junk in (None, "", "monthly:", "months:x", "weird:5", "abc"):
        assert negotiation.decode_asked(junk) is None
    assert negotiation.read_date("next friday", ACCOUNT) == date(2026, 11, 27)
    assert negotiation.kind_of("plan") == "plan" and negotiation.kind_of("loan") is None


# ---- hardship and the balance --------------------------------------------------------------------

def test_what_hardship_can_be_offered_is_the_tiers_hardship_limits(uow):
    assert negotiation.hardship_offer(uow, "ACC-1001", ASSISTANT) == negotiation.HardshipOffer(
        24, Decimal("15.00"), "USD")
    assert negotiation.hardship_offer(uow, "ACC-1001", AGENT) == negotiation.HardshipOffer(24, Decimal("15.00"), "USD")
    assert isinstance(negotiation.hardship_offer(uow, "ACC-2002", ASSISTANT), Refusal)


def test_the_balance_is_disclosed_once_audited_at_the_units_clock():
    statement = Statement("ACC-1001", "Acme Telecom Ltd", "Acme Mobile", "USD", Decimal("1100.00"),
                          Decimal("84.56"), Decimal("50.00"), Decimal("0"), date(2026, 9, 1), TODAY)
    uow = FakeUnitOfWork(NOW, [ACCOUNT], [statement])
    answer = negotiation.disclose_balance(uow, "acc-1001", "conv-1")
    assert answer.statement == statement and answer.hold is None and answer.in_validation_period
    [event] = uow.audit.events
    assert (event.action, event.account_ref, event.at, event.details) == (
        "balance_disclosed", "ACC-1001", NOW, {"balance": "1234.56"})
    message = en.message_for_balance(statement)
    assert message.values["original_creditor_clause"] == " (originally Acme Mobile)"
    assert message.values["paid_clause"] == ""
    later = FakeUnitOfWork(NOW, [Negotiable("ACC-1001", BALANCE, "USD", POLICY, TODAY + timedelta(days=1))],
                           [statement])
    assert not negotiation.disclose_balance(later, "ACC-1001", None).in_validation_period


def test_every_proposal_is_within_the_actors_authority(uow):
    for actor in (ASSISTANT, AGENT):
        for request in (Request("plan", Monthly(Decimal("1"))), Request("plan", Months(99)),
                        Request("settlement", Amount(Decimal("1200")), TODAY + timedelta(days=99)),
                        Request("promise", Amount(Decimal("99999")), TODAY + timedelta(days=99))):
            outcome = propose(uow, request, actor=actor)
            assert isinstance(outcome, Proposal)
            assert authority_problems(outcome.terms, BALANCE, POLICY, actor.tier, TODAY, "USD") == []
