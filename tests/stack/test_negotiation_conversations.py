"""Negotiating over HTTP with the real servers, then reading what was recorded with the command line."""
import re
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.channels.rest import CONVERSATION_PREFIX
from tests.stack.test_conversations import Chat
from tests.support.database import account_json

pytestmark = pytest.mark.stack


def verified_chat(stack, ref="ACC-1001", dob="12 March 1985") -> Chat:
    chat = Chat(stack)
    chat.say("hi")
    chat.say(ref)
    assert "debt collector" in chat.say(dob)
    return chat




def chicago_today():
    return datetime.now(ZoneInfo("America/Chicago")).date()


def test_a_plan_is_stated_confirmed_and_recorded_whole(demo, db):
    chat = verified_chat(demo)
    reply = chat.say("can I pay 150 a month")
    assert "first payment" in reply
    reply = chat.say("next friday")
    assert "8 monthly payments of $150.00" in reply and "then $34.56" in reply and "$1,234.56" in reply
    assert account_json(db)["plans"] == []  # nothing before the yes
    assert "Done" in chat.say("yes")
    state = account_json(db)
    assert state["status"] == "plan_active"
    [plan] = state["plans"]
    assert plan["total"] == "1234.56" and plan["authorized_by"] == "bot" and plan["authorized_actor"] == "assistant"
    assert plan["conversation_id"] == CONVERSATION_PREFIX + chat.sender  # the REST channel namespaces its senders
    assert [i["amount"] for i in plan["installments"]] == ["150.00"] * 8 + ["34.56"]
    assert chat.say("yes") and len(account_json(db)["plans"]) == 1  # a repeated yes records nothing more


def test_too_little_a_month_gets_the_nearest_plan_the_bot_may_agree(demo, db):
    chat = verified_chat(demo)
    chat.say("i want a payment plan")
    chat.say("I can only afford 10 dollars a month")
    reply = chat.say("the 1st")
    assert "can't agree $10.00 a month" in reply and "$102.88" in reply  # 1234.56 over the bot's 12 months
    assert "12 monthly payments" in reply or "11 monthly payments" in reply
    chat.say("yes")
    [plan] = account_json(db)["plans"]
    assert len(plan["installments"]) <= 12
    assert all(Decimal(i["amount"]) >= Decimal("25.00") for i in plan["installments"][:-1])


def test_pushing_for_half_off_meets_concessions_then_a_person(demo, db):
    chat = verified_chat(demo)
    chat.say("can you knock 50% off")
    reply = chat.say("friday")
    offers = []
    for _ in range(6):
        assert "I can accept $617.28" not in reply
        if "passed your offer" in reply:
            break
        offers.append(reply)
        reply = chat.say("no, 50% off or nothing. I'll pay 617.28")
    assert "passed your offer of $617.28" in reply
    state = account_json(db)
    assert state["settlements"] == [] and state["status"] == "open"
    [handoff] = state["handoffs"]
    assert handoff["reason"] == "settlement_below_authority" and handoff["status"] == "open"
    assert chat.say("hello? are you still there") == ""  # a person has it now: the bot stays silent
    # it conceded in steps and never below the bot's floor of 20% off (987.65)
    proposed = [Decimal(m.group(1).replace(",", "")) for text in offers
                if (m := re.search(r"I can accept \$([\d,]+\.\d\d)", text))]
    assert len(proposed) >= 3 and proposed == sorted(proposed, reverse=True)
    assert min(proposed) >= Decimal("987.65")
    assert "floor" not in " ".join(offers).lower()


def test_a_settlement_within_authority_is_accepted_and_recorded(demo, db):
    chat = verified_chat(demo)
    chat.say("would you accept a lower amount to settle it")
    chat.say("1100")
    reply = chat.say("tomorrow")
    assert "I'm not able to accept $1,100.00. I can accept $1,172.84" in reply  # opens near the balance: 5% off
    reply = chat.say("1100 is what I can do")
    assert "I can accept $1,111.11" in reply  # concedes a step: 10% off
    reply = chat.say("still 1100")
    assert "I can accept $1,100.00" in reply and "Shall I record that?" in reply  # at or above its next step: accepted
    assert "Done" in chat.say("yes please")
    [settlement] = account_json(db)["settlements"]
    pay_by = chicago_today() + timedelta(days=1)
    assert settlement == {**settlement, "amount": "1100.00", "status": "pending", "authorized_by": "bot",
                          "pay_by": pay_by.isoformat()}
    assert account_json(db)["status"] == "settlement_pending"


def test_changing_your_mind_records_only_what_was_confirmed(demo, db):
    chat = verified_chat(demo)
    chat.say("can i set up monthly payments")
    chat.say("actually could you take less if I pay it all at once")  # plan -> settlement mid-form
    reply = chat.say("1200")
    assert "date" in reply.lower()
    reply = chat.say("next monday")
    assert "$1,200.00" in reply
    assert "$1,234.56" in chat.say("hang on, what do I owe again?")
    reply = chat.say("no")
    assert "nothing has been recorded" in reply
    state = account_json(db)
    assert state["plans"] == [] and state["settlements"] == [] and state["status"] == "open"
    reply = chat.say("I'll pay the full balance on friday")
    assert "$1,234.56 on or before" in reply
    assert "Done" in chat.say("yes")
    [promise] = account_json(db)["promises"]
    assert promise["amount"] == "1234.56" and promise["status"] == "pending"


def test_a_promise_beyond_the_creditors_limit_is_brought_within_it(demo, db):
    chat = verified_chat(demo)
    chat.say("I will pay you 200 dollars")
    reply = chat.say(f"{(chicago_today() + timedelta(days=90)).strftime('%B')} 20")
    assert "latest date I can agree" in reply and "$200.00" in reply
    chat.say("ok")
    [promise] = account_json(db)["promises"]
    latest = chicago_today() + timedelta(days=30)
    assert promise["amount"] == "200.00" and promise["pay_on"] == latest.isoformat()
