"""The negotiation and balance actions as thin adapters: one transaction (one read of the account) per action,
and the texts the debtor saw before the use cases moved into bot/services."""
from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.common
from actions.account import ActionAnswerAccountRequest
from actions.negotiation import ActionDeclineTerms, ActionProposeTerms, ValidateAgreementForm
from bot.config import PROJECT_ROOT
from bot.domain.accounts import Statement
from bot.domain.policy import parse_policy
from bot.services.cases import Hold
from bot.services.unit_of_work import FakeUnitOfWork, Negotiable

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
TODAY = date(2026, 11, 23)
POLICY = parse_policy(yaml.safe_load((PROJECT_ROOT / "bot" / "demo" / "policies.yml").read_text())
                      ["creditors"][0]["policy"])
BALANCE = Decimal("1234.56")
STATEMENT = Statement("ACC-1001", "Acme Telecom Ltd", "Acme Mobile", "USD", Decimal("1100.00"), Decimal("84.56"),
                      Decimal("50.00"), Decimal("0.00"), date(2026, 9, 1), date(2026, 12, 1))
PAID = Statement("ACC-1002", "Acme Telecom Ltd", "Acme Telecom Ltd", "USD", Decimal("420.00"), Decimal("0.00"),
                 Decimal("35.00"), Decimal("100.00"), date(2026, 10, 15), date(2026, 11, 14))


@pytest.fixture
def uow(monkeypatch) -> FakeUnitOfWork:
    fake = FakeUnitOfWork(datetime(2026, 11, 23, 18, tzinfo=UTC), [
        Negotiable("ACC-1001", BALANCE, "USD", POLICY, TODAY),
        Negotiable("ACC-1002", PAID.balance, "USD", POLICY, TODAY, Hold("disputed", "DSP-ABCD-EFGH-JKMN")),
    ], [STATEMENT, PAID])
    monkeypatch.setattr(actions.common, "unit_of_work_factory", lambda: fake)
    return fake


def tracker(text: str = "", intent: str = "inform", **slots: Any) -> Tracker:
    return Tracker("conv-1", {"agency_phone": "1-800-555-0142", "account_ref": "ACC-1001", "verified": True,
                              "settlement_rounds": 0, "hardship": False, **slots},
                   {"text": text, "intent": {"name": intent}, "entities": []}, [], False, None,
                   {"name": "agreement_form"}, "action_listen")


def run(action: Any, t: Tracker) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, DOMAIN))
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, dispatcher.messages


def test_the_form_reads_the_account_once_however_often_rasa_sdk_asks(uow):
    slots, said = run(ValidateAgreementForm(), tracker("I can only afford 10 a month, from next friday",
                                                       agreement_type="plan", requested_slot="agreement_amount"))
    assert slots["agreement_amount"] == "monthly:10" and slots["agreement_date"] == "2026-11-27"
    assert said == [] and uow.commits == 1 and uow.accounts.reads == 1  # before: five reads


def test_on_hold_the_form_asks_nothing(uow):
    slots, said = run(ValidateAgreementForm(), tracker("a payment plan please", "request_payment_plan",
                                                       account_ref="ACC-1002"))
    assert slots.get("requested_slot") is None and said == [] and uow.accounts.reads == 1


def test_stating_terms_reads_once_and_says_what_it_said_before(uow):
    slots, [message] = run(ActionProposeTerms(), tracker(agreement_type="plan", agreement_amount="monthly:10",
                                                         agreement_date="2026-12-01"))
    assert uow.commits == 1 and uow.accounts.reads == 1
    assert message["response"] == "utter_propose_plan"
    assert message["adjustment"] == "I can't agree $10.00 a month: the least I can accept is $102.88. "
    assert message["schedule"] == "12 monthly payments of $102.88, from 1 December 2026 to 1 November 2027"
    assert message["total"] == "$1,234.56"
    assert slots["agreement_amount"] == "monthly:10" and slots["agreement_date"] == "2026-12-01"
    assert '"kind": "plan"' in slots["pending_terms"]


def test_a_counter_offer_in_a_no_is_one_read_and_a_plain_no_none(uow):
    pending = {"agreement_type": "settlement", "agreement_amount": "1100", "agreement_date": "2026-11-24",
               "settlement_rounds": 1, "pending_terms": '{"kind": "settlement"}'}
    slots, [message] = run(ActionDeclineTerms(), tracker("no, I'll pay 1150", "deny", **pending))
    assert message["response"] == "utter_propose_settlement" and message["amount"] == "$1,150.00"
    assert slots["settlement_rounds"] == 1 and uow.accounts.reads == 1
    plan = {**pending, "agreement_type": "plan", "agreement_amount": "monthly:150"}
    slots, [message] = run(ActionDeclineTerms(), tracker("no, 100 a month", "deny", **plan))
    assert message["response"] == "utter_nothing_recorded" and slots["pending_terms"] is None
    assert uow.accounts.reads == 1


def test_the_balance_is_said_as_before_in_one_transaction(uow):
    _, said = run(ActionAnswerAccountRequest(), tracker("what do i owe", "ask_balance"))
    assert [m["response"] for m in said] == ["utter_balance", "utter_validation_period", "utter_options"]
    assert {k: said[0][k] for k in ("balance", "principal", "interest", "fees", "paid_clause",
                                    "original_creditor_clause", "placed_on", "creditor")} == {
        "balance": "$1,234.56", "principal": "$1,100.00", "interest": "$84.56", "fees": "$50.00", "paid_clause": "",
        "original_creditor_clause": " (originally Acme Mobile)", "placed_on": "1 September 2026",
        "creditor": "Acme Telecom Ltd"}
    assert said[1]["validation_ends_on"] == "1 December 2026"
    assert uow.commits == 1 and [e.action for e in uow.audit.events] == ["balance_disclosed"]


def test_on_hold_the_balance_comes_without_payment_options(uow):
    _, said = run(ActionAnswerAccountRequest(), tracker("what do i owe", "ask_balance", account_ref="ACC-1002"))
    assert [m["response"] for m in said] == ["utter_balance", "utter_collection_paused_dispute"]
    assert said[0]["paid_clause"] == ", less $100.00 already paid" and said[0]["original_creditor_clause"] == ""
    assert said[0]["balance"] == "$355.00" and said[1]["reference"] == "DSP-ABCD-EFGH-JKMN"
    assert uow.commits == 1


def test_after_the_validation_period_its_end_is_not_said(uow, monkeypatch):
    late = FakeUnitOfWork(uow.now(), [Negotiable("ACC-1001", BALANCE, "USD", POLICY, date(2026, 12, 1)
                                                 + timedelta(days=1))], [STATEMENT])
    monkeypatch.setattr(actions.common, "unit_of_work_factory", lambda: late)
    _, said = run(ActionAnswerAccountRequest(), tracker("what do i owe", "ask_balance"))
    assert [m["response"] for m in said] == ["utter_balance", "utter_options"]
