"""The console's pure rules: what a person may write to a debtor now, and the authority a tier holds."""
from decimal import Decimal

import pytest
import yaml

from bot.cli import DEMO
from bot.domain.console import MessageFacts, authority, message_refusal, names_the_debt, next_tier, standing_refusal
from bot.domain.policy import parse_policy

TERMS = ("Acme Telecom Ltd", "Acme Mobile", "1234.56", "1100.00", "84.56", "50.00")
CONFIRMATION = "Understood. We've recorded your request and will not contact you again about account ACC-1001."


def facts(**changes) -> MessageFacts:
    values = dict(channel="socketio", verified=True, stopping=frozenset(), sms_opted_out=False,
                  sms_window_open=True, debt_terms=TERMS, cease_confirmation=CONFIRMATION)
    return MessageFacts(**(values | changes))


@pytest.mark.parametrize("text", [
    "You owe 1234.56", "the balance is $1,234", "It's 1234 dollars", "about Acme  mobile", "ACME TELECOM LTD",
    "this is a debt collector", "your outstanding amount", "we can settle", "a payment plan", "84.56 of interest",
    "€20", "it is 1100 in principal", "it's about your old acme phone"])
def test_what_names_a_debt(text):
    assert names_the_debt(text, TERMS)


@pytest.mark.parametrize("text", [
    "Hello, I'm Ana. Could you confirm your reference and date of birth?", "I'll be with you in a minute.",
    "Is this Jordan?", "Your reference starts ACC", "Call us on 1-800-555-0142", "is this about your bank card?"])
def test_what_does_not(text):
    assert not names_the_debt(text, TERMS)


def test_an_unverified_person_hears_nothing_about_the_debt_but_may_be_asked_to_verify():
    assert message_refusal(facts(verified=False), "The balance is 1234.56").rule == "not_verified"
    assert message_refusal(facts(verified=False), "Please confirm your date of birth.") is None
    assert message_refusal(facts(), "The balance is 1234.56") is None


def test_after_a_cease_only_its_confirmation_goes_and_an_attorney_stops_everything():
    ceased = facts(stopping=frozenset({"cease"}))
    assert standing_refusal(ceased).rule == "cease"
    assert message_refusal(ceased, "Any chance of a payment?").rule == "cease"
    assert message_refusal(ceased, CONFIRMATION) is None
    represented = facts(stopping=frozenset({"attorney", "cease"}))
    assert message_refusal(represented, CONFIRMATION).rule == "attorney"


def test_texts_respect_the_opt_out_and_the_window_and_web_chat_does_not_need_them():
    assert message_refusal(facts(channel="twilio", sms_opted_out=True), "Hi").rule == "sms_opt_out"
    assert message_refusal(facts(channel="twilio", sms_window_open=False), "Hi").rule == "outside_hours"
    assert message_refusal(facts(channel="socketio", sms_window_open=False), "Hi") is None


def test_empty_and_overlong_messages_are_refused():
    assert message_refusal(facts(), "  ").rule == "empty"
    assert message_refusal(facts(), "x" * 1601).rule == "too_long"


def test_authority_is_the_ladder_down_to_the_tiers_floor():
    raw = yaml.safe_load((DEMO / "policies.yml").read_text())["creditors"][0]["policy"]
    policy = parse_policy(raw)
    agent = authority(policy, "agent", Decimal("1234.56"), "USD")
    assert [(s.discount_pct, s.amount) for s in agent.settlement_ladder] == [
        (Decimal(5), Decimal("1172.84")), (Decimal(10), Decimal("1111.11")), (Decimal(15), Decimal("1049.38")),
        (Decimal(35), Decimal("802.47"))]
    assert agent.settlement_floor == agent.settlement_ladder[-1].amount
    assert (agent.max_plan_months, agent.min_installment) == (24, Decimal("51.44"))
    assert authority(policy, "agent", Decimal("200.00"), "USD").min_installment == Decimal("15.00")
    assert next_tier("agent") == "supervisor" and next_tier("supervisor") is None
