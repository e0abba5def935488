"""Language understanding on utterances the model never saw (tests/data/nlu_holdout.yml), through /model/parse."""

import pytest
import requests
import yaml

from bot.config import PROJECT_ROOT
from bot.evaluation import macro_f1

pytestmark = pytest.mark.stack

HOLDOUT = PROJECT_ROOT / "tests" / "data" / "nlu_holdout.yml"
SPEC_INTENTS = {
    "greet", "goodbye", "affirm", "deny", "thank", "inform", "ask_balance", "request_payment_plan",
    "request_settlement", "pay_in_full", "promise_to_pay", "dispute", "already_paid", "hardship", "request_human",
    "stop_contact", "wrong_person", "attorney", "bankruptcy", "deceased", "update_contact", "complain",
    "bot_challenge", "out_of_scope",
}


def holdout() -> list[tuple[str, str]]:
    document = yaml.safe_load(HOLDOUT.read_text())
    return [(line.strip()[2:], block["intent"]) for block in document["nlu"]
            for line in block["examples"].splitlines() if line.strip()]


def test_holdout_covers_every_intent_of_the_spec():
    assert {intent for _, intent in holdout()} == SPEC_INTENTS


def test_unseen_utterances_are_understood(stack):
    pairs, misses = [], []
    for text, expected in holdout():
        response = requests.post(f"{stack.rasa_url}/model/parse", headers=stack.api_headers(),
                                 json={"text": text}, timeout=30)
        assert response.status_code == 200
        got = response.json()["intent"]["name"]
        pairs.append((expected, got))
        if got != expected:
            misses.append(f"{expected:>22} -> {got:<22} {text}")
    score = macro_f1(pairs)
    print(f"holdout macro F1 {score:.3f}; misses:\n" + "\n".join(misses))
    assert score >= 0.93, f"macro F1 {score:.3f}; misses:\n" + "\n".join(misses)


def test_the_parse_endpoint_needs_the_token(stack):
    response = requests.post(f"{stack.rasa_url}/model/parse", json={"text": "hi"}, timeout=30)
    assert response.status_code == 401
