"""The flows in bot/domain/flows.py and the training data split by flow (data/<kind>/<flow>.yml) say the same."""
from pathlib import Path

import pytest
import yaml

from bot.config import PROJECT_ROOT
from bot.domain import flows

DATA = PROJECT_ROOT / "data"


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text()) or {}


def rule_intents(name: str) -> set[str]:
    """The intents that trigger the rule called `name` (its first step, an intent or an `or` of intents)."""
    rules = [rule for path in sorted((DATA / "rules").glob("*.yml")) for rule in load(path).get("rules", [])
             if rule["rule"] == name]
    assert len(rules) == 1, f"{len(rules)} rules called {name!r}"
    first = rules[0]["steps"][0]
    return {step["intent"] for step in first.get("or", [first])}


@pytest.mark.parametrize("flow", sorted(flows.FLOWS))
def test_each_flows_training_file_has_exactly_its_intents(flow):
    path = DATA / "nlu" / f"{flow}.yml"
    intents = [block["intent"] for block in load(path)["nlu"] if "intent" in block]
    assert len(intents) == len(set(intents)), f"{path}: an intent in two blocks"
    assert set(intents) == set(flows.FLOWS[flow]), f"{path} and bot/domain/flows.py disagree"


def test_every_training_file_belongs_to_a_flow():
    for kind in ("nlu", "rules", "stories"):
        for path in (DATA / kind).glob("*.yml"):
            assert path.stem in flows.FLOWS, f"{path}: no such flow in bot/domain/flows.py"
    # Rasa reads data/ recursively: a file left at the top would be trained on as well.
    assert not list(DATA.glob("*.yml")), "training data lives in data/nlu, data/rules and data/stories"


def test_every_intent_of_the_domain_is_in_exactly_one_flow():
    declared = [intent for intents in flows.FLOWS.values() for intent in intents]
    assert len(declared) == len(set(declared)), "an intent in two flows"
    domain = set(load(PROJECT_ROOT / "domain.yml")["intents"]) - {"nlu_fallback"}  # low confidence, no examples
    assert set(declared) == domain


def test_the_derived_lists_name_intents_of_the_right_flows():
    assert set(flows.AGREEMENT_TYPES) == set(flows.NEGOTIATION)
    assert set(flows.CASE_TOPICS) <= set(flows.PROTECTIVE) and flows.STOPS <= set(flows.PROTECTIVE)
    assert flows.SMALL_TALK <= set(flows.CHITCHAT)
    for not_answers in (flows.VERIFICATION_INTERRUPTIONS, flows.CASE_NOT_ANSWERS, flows.AGREEMENT_NOT_ANSWERS):
        assert not_answers <= flows.INTENTS and "inform" not in not_answers  # a value is always an answer


def test_nothing_about_an_account_is_discussed_before_verification():
    # Every request about an account (inform, negotiation, protective) starts verification when unverified and
    # is refused once verification is locked; only a wrong person and a death report have rules of their own,
    # for anyone. A new intent in those flows without these rules would reach an unverified person's account.
    anyone = {"wrong_person", "deceased"}
    requests = set(flows.INFORM) | set(flows.NEGOTIATION) | set(flows.PROTECTIVE)
    assert rule_intents("a question about an account before verification starts verification") == requests - anyone
    assert rule_intents("once locked, nothing about an account is discussed") == (requests - anyone) | {"inform"}
