"""What a case's opening message already says, and which earlier turn's intent the actions look back to."""
from __future__ import annotations

import pytest

from actions.common import earlier_user_intent
from bot.domain.cases import details_given


@pytest.mark.parametrize("topic, text, given", [
    ("hardship", "I lost my job last month and cannot pay", True),
    ("hardship", "money is tight", False),  # too short to be the circumstances
    ("attorney", "my lawyer is Jane Roe, jane@roe-law.example", True),
    ("attorney", "I have a lawyer", False),  # no way to reach them: asked
    ("bankruptcy", "I filed for bankruptcy, case number 24-12345", True),
    ("bankruptcy", "I filed for bankruptcy", False),
    ("update_contact", "my new number is +1 555 123 9999", True),
    ("dispute", "this is not my debt and I never had an account", False),  # a dispute's reason is read apart
])
def test_an_opening_message_gives_the_details_only_when_they_are_there(topic, text, given):
    assert (details_given(topic, text) == text) is given


def user(intent: str) -> dict:
    return {"event": "user", "parse_data": {"intent": {"name": intent}}}


def test_the_intent_of_an_earlier_turn_counts_back_over_user_messages_only():
    events = [user("greet"), {"event": "bot"}, user("nlu_fallback"), {"event": "action"}, user("ask_balance")]
    assert earlier_user_intent(events) == "ask_balance"
    assert earlier_user_intent(events, skip=1) == "nlu_fallback"
    assert earlier_user_intent(events, skip=2) == "greet"
    assert earlier_user_intent(events, skip=3) is None
    assert earlier_user_intent([{"event": "user"}]) is None  # a turn without parse data
