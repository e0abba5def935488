"""Protective flows end to end over HTTP with the real servers; outcomes read with `python -m bot account --json`."""
import pytest

from bot.channels.rest import CONVERSATION_PREFIX
from tests.stack.test_conversations import Chat, assert_discloses_nothing, audit_of
from tests.stack.test_negotiation_conversations import verified_chat
from tests.support.database import account_json, run_cli

pytestmark = pytest.mark.stack


def test_a_dispute_is_recorded_with_a_reference_and_pauses_collection(demo, db):
    chat = verified_chat(demo)
    reply = chat.say("I want to dispute this debt")
    assert "What is wrong with the debt?" in reply
    reply = chat.say("The amount is wrong")
    assert "in your own words" in reply
    reply = chat.say("I was charged twice for the final month, it should be about 300 less")
    assert "DSP-" in reply and "paused collection" in reply and "in writing" in reply
    state = account_json(db)
    [dispute] = state["disputes"]
    assert state["status"] == "disputed" and dispute["reason"] == "wrong_amount" and dispute["status"] == "open"
    assert dispute["reference"] in reply and "charged twice" in dispute["details"]

    reply = chat.say("ok can I set up a payment plan then")
    assert "paused" in reply and dispute["reference"] in reply and "each month" not in reply
    reply = chat.say("what's my balance")
    assert "$1,234.56" in reply and "paused" in reply and "payment plan" not in reply  # no options offered
    assert account_json(db)["plans"] == []

    run_cli("resolve-dispute", dispute["reference"], "rejected", "--actor", "supervisor1", "--note",
            "validation statement sent", database=db)
    state = account_json(db)
    assert state["status"] == "open" and state["disputes"][0]["status"] == "rejected"
    log = audit_of("ACC-1001", db)
    assert "dispute_opened" in log and "dispute_rejected" in log and "supervisor1" in log


def test_a_reason_in_the_opening_message_is_not_asked_again(demo, db):
    chat = verified_chat(demo)
    reply = chat.say("this debt is not mine")
    assert "What is wrong with the debt?" not in reply and "in your own words" in reply
    assert "DSP-" in chat.say("I never had a contract with Acme")
    assert account_json(db)["disputes"][0]["reason"] == "not_mine"


def test_already_paid_before_verification_leads_into_the_dispute_flow(demo, db):
    chat = Chat(demo)
    reply = chat.say("I already paid this off")
    assert_discloses_nothing(reply)
    chat.say("ACC-1002")
    reply = chat.say("30 November 1979")
    assert "debt collector" in reply and "When and how did you pay" in reply
    reply = chat.say("paid 455 by card on 3 May, confirmation 88812")
    assert "DSP-" in reply
    [dispute] = account_json(db, "ACC-1002")["disputes"]
    assert dispute["reason"] == "already_paid" and "88812" in dispute["details"]


def test_hardship_gets_a_plan_under_the_hardship_limits(demo, db):
    chat = verified_chat(demo)
    reply = chat.say("I lost my job last month and I can't afford the payments at all")
    assert "as little as $15.00 a month, over up to 24 months" in reply and "talk to a person" in reply
    assert "How much could you pay each month" in reply
    chat.say("20 a month")
    reply = chat.say("the 1st")
    assert "$51.44" in reply  # 1,234.56 over the bot's 24 hardship months; 12 months without hardship
    assert "Done" in chat.say("yes")
    [plan] = account_json(db)["plans"]
    assert plan["hardship"] is True and plan["authorized_by"] == "bot" and len(plan["installments"]) == 24
    assert "hardship_noted" in audit_of("ACC-1001", db)


def test_stop_contacting_me_is_recorded_and_confirmed_once(demo, db):
    chat = Chat(demo)
    reply = chat.say("stop contacting me")
    assert "confirm who I'm talking to" in reply
    assert_discloses_nothing(reply)
    chat.say("ACC-1001")
    reply = chat.say("12 March 1985")
    assert "will not contact you again" in reply
    state = account_json(db)
    assert state["flags"]["cease"] is True and state["status"] == "ceased"
    assert "already recorded" in chat.say("I said stop contacting me")
    reply = chat.say("can I pay 100 a month")
    assert "stopped" in reply and "each month" not in reply


def test_an_attorney_stops_collection_and_a_person_takes_over(demo, db):
    chat = verified_chat(demo)
    reply = chat.say("I have a lawyer now, speak to my attorney")
    assert "attorney's name" in reply
    reply = chat.say("Dana Whitfield, +1 312 555 0100")
    assert "legal representation" in reply and "a person will reply" in reply
    state = account_json(db)
    assert state["flags"]["attorney"] is True and state["status"] == "ceased"
    assert [(h["reason"], h["status"]) for h in state["handoffs"]] == [("attorney", "open")]
    assert chat.say("hello?") == ""  # paused: a person has the conversation


def test_bankruptcy_with_its_case_number(demo, db):
    chat = verified_chat(demo, "BB-77310", "4 July 1990")
    reply = chat.say("I filed for chapter 7 bankruptcy, case number 26-10442")
    assert "bankruptcy" in reply and "stopped collection" in reply
    state = account_json(db, "BB-77310")
    assert state["flags"]["bankruptcy"] is True and state["status"] == "ceased"
    assert state["handoffs"][0]["reason"] == "bankruptcy"
    assert "26-10442" in audit_of("BB-77310", db)


def test_a_death_reported_by_a_relative_is_recorded_without_disclosing_anything(demo, db):
    chat = Chat(demo)
    reply = chat.say("I'm writing because my dad Sam passed away last month")
    assert "sorry for your loss" in reply and "estate" in reply
    assert_discloses_nothing(reply)
    reply = chat.say("His reference was ACC-1002. I'm the executor, Alex Lee, alex.lee@example.com")
    assert "estate" in reply
    assert_discloses_nothing(reply)
    state = account_json(db, "ACC-1002")  # paused until a person confirms the death
    assert state["flags"]["deceased_reported"] is True and state["flags"]["deceased"] is False
    assert state["status"] == "ceased"
    assert state["handoffs"][0]["reason"] == "deceased"
    assert "alex.lee@example.com" in audit_of("ACC-1002", db)
    assert chat.say("what did he owe?") == ""  # paused; and nothing was ever disclosed


def test_the_wrong_person_hears_only_a_callback_number(demo, db):
    chat = Chat(demo)
    chat.say("hi")
    reply = chat.say("you've got the wrong person, I'm not who you're looking for")
    assert_discloses_nothing(reply)
    assert "1-800-555-0142" in reply and "wrong person" in reply
    assert "wrong_party_reported" not in audit_of("ACC-1001", db)  # tied to no account


def test_new_contact_details_are_kept_unverified(demo, db):
    chat = verified_chat(demo)
    reply = chat.say("my new email is jordan.avery@example.net")
    assert "jordan.avery@example.net" in reply
    [point] = [p for p in account_json(db)["contact_points"] if p["source"] == "debtor"]
    assert point == {"kind": "email", "value": "jordan.avery@example.net", "source": "debtor", "verified": False,
                     "status": "active", "sms_opt_out": False}


def test_asking_for_a_person_hands_over_and_the_bot_falls_silent(demo, db):
    chat = verified_chat(demo)
    reply = chat.say("I want to talk to a real person")
    assert "a person will reply" in reply
    assert [(h["reason"], h["status"], h["conversation_id"]) for h in account_json(db)["handoffs"]] == [
        ("request_human", "open", CONVERSATION_PREFIX + chat.sender)]
    assert chat.say("what's my balance") == ""


def test_abuse_hands_over_and_a_bot_challenge_is_answered_honestly(demo, db):
    chat = Chat(demo)
    assert "automated assistant" in chat.say("am I talking to a bot?")
    chat = verified_chat(demo)
    reply = chat.say("this is harassment, you people are disgusting and I'm reporting you to the CFPB")
    assert "a person will reply" in reply
    assert account_json(db)["handoffs"][0]["reason"] == "complain"
