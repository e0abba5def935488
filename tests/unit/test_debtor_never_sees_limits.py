"""No path shows the debtor a limit: not the bot's discount, not another tier's, not a refusal's reasons.

The negotiation actions run as the action server runs them, on a fake unit of work, over many requests and
replies; every message they send is rendered with its domain.yml response and searched for the policy's
numbers (chosen to be distinctive) and for what `NotAuthorised` says. What the debtor is told by design stays
allowed: their own figures, the terms offered (the last counter-offer is the bot's floor amount), and the bot's
own plan limits, which the plan counter-offer and the hardship offer state ("the most I can offer is 11").
"""
from __future__ import annotations

import ast
import asyncio
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from string import Formatter
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.common
from actions.negotiation import ActionConfirmTerms, ActionDeclineTerms, ActionProposeTerms, ValidateAgreementForm
from bot.config import PROJECT_ROOT
from bot.domain.negotiation import (
    NotAuthorised,
    PlanTerms,
    PromiseTerms,
    SettlementTerms,
    authorise,
    authority_problems,
    plan_by_months,
    settlement_floor,
    terms_from_dict,
)
from bot.domain.policy import TIERS, parse_policy
from bot.services import agreements, negotiation
from bot.services.cases import Hold
from bot.services.unit_of_work import FakeUnitOfWork, Negotiable

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
TODAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 18, 30, tzinfo=UTC)
PHONE = "1-800-555-0142"
RAW_POLICY = {
    "settlement_pay_within_days": 13, "promise_max_days": 29, "plan_first_payment_within_days": 27,
    "settlement_concessions_pct": ["4.3", "8.6", "12.9"],
    "tiers": {
        "bot": {"max_discount_pct": "17.3", "max_plan_months": 11, "min_installment": "27.00",
                "min_down_payment_pct": "3.7", "hardship": {"max_plan_months": 19, "min_installment": "13.00"}},
        "agent": {"max_discount_pct": "29.1", "max_plan_months": 43, "min_installment": "19.37",
                  "min_down_payment_pct": "2.9"},
        "supervisor": {"max_discount_pct": "41.7", "max_plan_months": 57, "min_installment": "11.83",
                       "min_down_payment_pct": "1.3"},
    },
}
POLICY = parse_policy(RAW_POLICY)
ACCOUNTS = [Negotiable("ACC-1001", Decimal("1234.56"), "USD", POLICY, TODAY),
            Negotiable("BB-77310", Decimal("2562.40"), "GBP", POLICY, TODAY),
            Negotiable("ACC-1002", Decimal("455.00"), "USD", POLICY, TODAY, Hold("disputed", "DSP-ABCD-EFGH-JKMN"))]
BY_REF = {account.account_ref: account for account in ACCOUNTS}


def secret_numbers(account: Negotiable) -> set[Decimal]:
    """Figures of the policy that are no debtor's business: every percentage, the tiers above the bot."""
    secrets = set(POLICY.settlement_concessions_pct)
    for tier in TIERS:
        limits = POLICY.tiers[tier]
        secrets |= {limits.max_discount_pct, limits.min_down_payment_pct}
        if tier != "bot":
            secrets |= {Decimal(limits.max_plan_months), limits.min_installment,
                        settlement_floor(account.balance, POLICY, tier, account.currency)}
    return secrets


def refusals(account: Negotiable) -> list[NotAuthorised]:
    """What NotAuthorised says for terms beyond the bot (and beyond every tier)."""
    balance, currency, errors = account.balance, account.currency, []
    for terms in (SettlementTerms((balance / 2).quantize(Decimal("0.01")), TODAY),
                  SettlementTerms((balance * Decimal("0.75")).quantize(Decimal("0.01")), TODAY),
                  plan_by_months(balance, 40, TODAY + timedelta(days=40), currency),
                  PromiseTerms(balance, TODAY + timedelta(days=60))):
        with pytest.raises(NotAuthorised) as refused:
            authorise(terms, balance, POLICY, "bot", TODAY, currency)
        errors.append(refused.value)
    return errors


REFUSAL_WORDS = {text for account in ACCOUNTS for error in refusals(account)
                 for text in [str(error), *error.problems]}


class Slots(dict):
    def __missing__(self, key: str) -> str:
        raise AssertionError(f"a response variable no one filled: {key}")


def rendered(message: dict[str, Any], slots: dict[str, Any]) -> str:
    """The text the debtor reads: the response's template filled as Rasa fills it (variables, then slots)."""
    if message.get("text"):
        return message["text"]
    [variation, *_] = DOMAIN["responses"][message["response"]]
    values = Slots({k: "" if v is None else v for k, v in {**slots, **message}.items()})
    names = {name for _, name, _, _ in Formatter().parse(variation["text"]) if name}
    return variation["text"].format_map({name: values[name] for name in names})


def tokens(text: str) -> set[Decimal]:
    return {Decimal(t.replace(",", "")) for t in re.findall(r"\d[\d,]*(?:\.\d+)?", text)}


def assert_shows_no_limit(texts: list[str], account: Negotiable, said: list[str]) -> None:
    own = set().union(*(tokens(words) for words in said)) if said else set()
    for words in said:  # "50% off" is the debtor's own figure once it is an amount
        for kind in negotiation.KINDS:
            asked = negotiation.read_amount(words, kind, account)
            if isinstance(asked, negotiation.Amount):
                own.add(asked.value)
            elif isinstance(asked, negotiation.Monthly):
                own.add(asked.amount)
            elif isinstance(asked, negotiation.Months):
                own.add(Decimal(asked.count))
    for text in texts:
        assert "%" not in text and "percent" not in text.lower(), text
        assert not any(words in text for words in REFUSAL_WORDS), text
        leaked = (tokens(text) & secret_numbers(account)) - own
        assert not leaked, (leaked, text)


class Conversation:
    """The negotiation actions on one account, their slots carried from turn to turn as Rasa carries them."""

    def __init__(self, account_ref: str, **slots: Any):
        self.slots: dict[str, Any] = {"agency_phone": PHONE, "account_ref": account_ref, "verified": True,
                                      "settlement_rounds": 0, "hardship": False, **slots}
        self.texts: list[str] = []
        self.paused = False

    def tracker(self, text: str, intent: str, **slots: Any) -> Tracker:
        return Tracker("conv-1", {**self.slots, **slots}, {"text": text, "intent": {"name": intent}, "entities": []},
                       [], False, None, {}, "action_listen")

    def run(self, action: Any, text: str = "", intent: str = "inform") -> None:
        dispatcher = CollectingDispatcher()
        events = asyncio.run(action.run(dispatcher, self.tracker(text, intent), DOMAIN))
        self._said(dispatcher)
        for event in events:
            if event["event"] == "slot":
                self.slots[event["name"]] = event["value"]
            self.paused |= event["event"] == "pause"

    def fill_amount(self, text: str) -> None:
        dispatcher = CollectingDispatcher()
        form = ValidateAgreementForm()
        tracker = self.tracker(text, "inform", requested_slot="agreement_amount")
        self.slots.update(asyncio.run(form.extract_agreement_amount(dispatcher, tracker, DOMAIN)))
        self._said(dispatcher)

    def _said(self, dispatcher: CollectingDispatcher) -> None:
        self.texts += [rendered(message, self.slots) for message in dispatcher.messages]


@pytest.fixture(autouse=True, scope="module")
def fake_unit_of_work():
    """The actions' use cases run on plain objects: no database."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(actions.common, "unit_of_work_factory", lambda: FakeUnitOfWork(NOW, ACCOUNTS))
        yield


amounts = st.decimals(min_value=Decimal("0.50"), max_value=Decimal("4000"), places=2)
asks = st.one_of(
    amounts.map(lambda a: f"I can do {a} a month"), st.integers(1, 99).map(lambda n: f"over {n} months"),
    st.decimals(min_value=Decimal("0.5"), max_value=Decimal("99"), places=1).map(lambda p: f"{p}% off"),
    st.integers(1, 99).map(lambda p: f"{p} percent off"), amounts.map(lambda a: f"${a}"),
    amounts.map(lambda a: f"I'll pay {a}"),
)
replies = st.tuples(
    st.one_of(asks, st.sampled_from(["hmm", "what?", "the 15th", "tomorrow", "next friday", "2027-03-01"])),
    st.sampled_from(["inform", "deny", "request_settlement", "request_payment_plan", "promise_to_pay"]),
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(ref=st.sampled_from(sorted(BY_REF)), kind=st.sampled_from(negotiation.KINDS), ask=asks,
       days=st.integers(-3, 120), rounds=st.integers(0, 6), hardship=st.booleans(),
       answers=st.lists(replies, max_size=5))
def test_no_negotiation_shows_a_limit(ref, kind, ask, days, rounds, hardship, answers):
    account = BY_REF[ref]
    chat = Conversation(ref, agreement_type=kind, settlement_rounds=rounds, hardship=hardship,
                        agreement_date=(TODAY + timedelta(days=days)).isoformat())
    if kind != "pay_in_full":
        chat.fill_amount(ask)
    chat.run(ActionProposeTerms())
    said = [ask]
    for text, intent in answers:
        if chat.paused or not chat.slots.get("pending_terms"):
            break
        said.append(text)
        chat.run(ActionDeclineTerms() if intent == "deny" else ActionProposeTerms(), text, intent)
    assert chat.texts, "the debtor was told nothing"
    assert_shows_no_limit(chat.texts, account, said)


@pytest.mark.parametrize("ref", sorted(BY_REF))
def test_insisting_below_every_floor_ends_with_a_person_not_a_limit(ref):
    account = BY_REF[ref]
    offer = f"I'll pay {(account.balance / 10).quantize(Decimal('0.01'))}"
    chat = Conversation(ref, agreement_type="settlement", agreement_date=TODAY.isoformat())
    chat.fill_amount(offer)
    chat.run(ActionProposeTerms())
    for _ in range(8):
        if chat.paused or not chat.slots.get("pending_terms"):
            break
        chat.run(ActionDeclineTerms(), f"no, {offer}", "deny")
    assert chat.paused or account.hold  # a person has it, or nothing is negotiated at all
    assert_shows_no_limit(chat.texts, account, [offer])


@pytest.mark.parametrize("ref", sorted(BY_REF))
def test_before_a_kind_is_chosen_the_hold_or_the_options_are_said(ref):
    """On hold the form asks nothing, not even the kind: the proposal says why nothing can be agreed."""
    chat = Conversation(ref)
    chat.run(ActionProposeTerms(), "ok can I set up a payment plan then", "request_payment_plan")
    expected = "paused while your dispute DSP-ABCD-EFGH-JKMN" if BY_REF[ref].hold else "What would you like to do?"
    [text] = chat.texts
    assert expected in text and not chat.slots["pending_terms"]


@pytest.mark.parametrize("error", [e for account in ACCOUNTS[:2] for e in refusals(account)])
def test_a_refused_confirmation_names_no_limit(monkeypatch, error):
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise error

    monkeypatch.setattr(agreements, "record", refuse)
    terms = plan_by_months(Decimal("1234.56"), 40, TODAY + timedelta(days=40), "USD")
    chat = Conversation("ACC-1001", pending_terms=json.dumps({"kind": "plan", "installments": [
        [i.due_on.isoformat(), str(i.amount)] for i in terms.installments], "hardship": False}))
    assert isinstance(terms_from_dict(json.loads(chat.slots["pending_terms"])), PlanTerms)
    chat.run(ActionConfirmTerms(), "yes", "affirm")
    [text] = chat.texts
    assert str(error) not in text and not any(problem in text for problem in error.problems)
    assert not re.search(r"\d", text.replace(PHONE, "")), text  # no figure at all but our phone number
    assert_shows_no_limit(chat.texts, ACCOUNTS[0], [])


def test_the_policy_numbers_would_be_caught():
    """The check itself: a text naming a limit, or a refusal's reason, fails it."""
    account = ACCOUNTS[0]
    agent_floor, bot_floor = (settlement_floor(account.balance, POLICY, tier, "USD") for tier in ("agent", "bot"))
    for leak in ["I can go down to 17.3 off", f"an agent could do ${agent_floor:,}", str(refusals(account)[0]),
                 "the most an agent may offer is 43 months", "that is 4.3 less"]:
        with pytest.raises(AssertionError):
            assert_shows_no_limit([leak], account, [])
    assert_shows_no_limit([f"the most I can offer is 11. I can accept ${bot_floor:,}"], account, [])
    # the bot's floor, which its last counter-offer states, is within its authority
    assert authority_problems(SettlementTerms(bot_floor, TODAY), account.balance, POLICY, "bot", TODAY, "USD") == []
    assert_shows_no_limit(["over 43 months"], account, ["over 43 months"])  # the debtor's own figure, said back


def test_no_action_shows_an_exception_whole():
    """In actions/, a caught exception is only read for what a reply may use (a hold), never shown or passed on."""
    for path in sorted((PROJECT_ROOT / "actions").glob("*.py")):
        tree = ast.parse(path.read_text())
        for handler in (node for node in ast.walk(tree) if isinstance(node, ast.ExceptHandler) and node.name):
            parents = {child: parent for parent in ast.walk(handler) for child in ast.iter_child_nodes(parent)}
            for node in ast.walk(handler):
                if isinstance(node, ast.Name) and node.id == handler.name:
                    parent = parents.get(node)
                    assert isinstance(parent, ast.Attribute) and parent.attr not in ("args", "problems"), (
                        f"{path.name}:{node.lineno}: the exception {handler.name!r} is used whole or for its reasons")
