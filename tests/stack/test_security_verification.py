"""The security verification tests that need the real servers.

The rest: tests/integration/test_security_verification.py.
"""
from __future__ import annotations

import asyncio
from datetime import date

import pytest

from bot.domain.verification import REFERENCE_FAILURE_LIMIT
from tests.integration.test_security_verification import (  # noqa: F401 - helpers, and fixtures used by name
    HOUSEHOLD,
    JORDAN,
    REFUSED,
    Chat,
    Phone,
    assert_discloses_nothing,
    stuffed_with_dates,
)
from tests.support.database import account_json, run_cli, write


@pytest.mark.stack
def test_brute_force_across_new_rest_conversations_stops_at_the_fifth_failure(demo_stack, db):
    for attempt in range(REFERENCE_FAILURE_LIMIT):  # a new sender each time: a new conversation, three fresh tries
        chat = Chat(demo_stack)
        assert "date of birth" in chat.say("ACC-1001")
        reply = chat.say(f"{attempt + 1} January 1970")
        assert "couldn't match" in reply
        assert_discloses_nothing(reply)
    chat = Chat(demo_stack)
    chat.say("ACC-1001")
    reply = chat.say("12 March 1985")  # the right date of birth, now refused
    assert REFUSED in reply and "debt collector" not in reply and "couldn't match" not in reply
    assert_discloses_nothing(reply)
    verification = account_json(db, "ACC-1001")["verification"]
    assert verification["failures_24h"] == REFERENCE_FAILURE_LIMIT and verification["locked_until"]
    log = run_cli("audit", "ACC-1001", database=db).stdout
    assert log.count("verification_failed") == 5 and "verification_locked" in log and "verification_refused" in log

    # The same reference by SMS, from the debtor's own number: refused too.
    demo_stack.twilio.clear()
    phone = Phone(demo_stack, JORDAN)
    assert "date of birth" in phone.text("hi")
    reply = phone.text("12 March 1985")
    assert REFUSED in reply and "debt collector" not in reply and "$" not in reply


@pytest.mark.stack
def test_a_rest_message_stuffed_with_dates_is_not_accepted(demo_stack, db):
    chat = Chat(demo_stack)
    assert "date of birth" in chat.say("ACC-1001")
    reply = chat.say(stuffed_with_dates(date(1985, 3, 12)))
    assert "one date" in reply and "debt collector" not in reply
    assert_discloses_nothing(reply)
    assert account_json(db, "ACC-1001")["verification"]["failures_24h"] == 0  # not an attempt either
    assert "debt collector" in chat.say("12 March 1985")  # one date is


@pytest.mark.stack
def test_small_talk_over_rest_locks_nobody_out_and_hi_then_reference_then_date_verifies(demo_stack, db):
    chat = Chat(demo_stack)
    assert "account reference" in chat.say("hi")
    for small_talk in ("hi", "thanks", "ok", "hello?"):
        reply = chat.say(small_talk)
        assert "account reference" in reply and "couldn't match" not in reply
    assert "date of birth" in chat.say("ACC-1001")
    for small_talk in ("hi", "thanks", "ok", "ACC-1001"):
        reply = chat.say(small_talk)
        assert "date of birth" in reply and "couldn't match" not in reply and "couldn't confirm" not in reply
    assert "debt collector" in chat.say("12 March 1985")
    assert account_json(db, "ACC-1001")["verification"]["failures_24h"] == 0


@pytest.mark.stack
def test_the_web_chat_opening_then_hi_then_reference_then_date_verifies(demo_stack, db):
    from tests.support.socketio_wire import WireSocket, texts

    async def scenario():
        socket = await WireSocket.open(demo_stack.rasa_url)
        conversation = await socket.join()
        assert "account reference" in texts(await socket.say("/greet", conversation))  # how the widget opens
        assert "account reference" in texts(await socket.say("hi", conversation))  # not taken for a reference
        assert "account reference" in texts(await socket.say("thanks", conversation))
        assert "date of birth" in texts(await socket.say("ACC-1001", conversation))
        assert "debt collector" in texts(await socket.say("12 March 1985", conversation))
        await socket.close()

    asyncio.run(asyncio.wait_for(scenario(), 180))
    assert account_json(db, "ACC-1001")["verification"]["failures_24h"] == 0


@pytest.mark.stack
def test_small_talk_by_sms_locks_nobody_out(demo_stack, db):
    demo_stack.twilio.clear()
    phone = Phone(demo_stack, JORDAN)
    assert "date of birth" in phone.text("hi")
    for small_talk in ("hi", "ok", "thanks", "hi", "ok", "thanks"):  # twice three: each used to be a failure
        reply = phone.text(small_talk)
        assert "date of birth" in reply and "couldn't" not in reply
    assert "debt collector" in phone.text("12 March 1985")
    assert account_json(db, "ACC-1001")["verification"]["failures_24h"] == 0


@pytest.mark.stack
def test_by_sms_a_household_postcode_verifies_nobody_and_each_date_of_birth_its_own_debtor(demo_stack, db, tmp_path):
    run_cli("import-accounts", str(write(tmp_path / "household.csv", HOUSEHOLD)), database=db)
    demo_stack.twilio.clear()
    phone = Phone(demo_stack, JORDAN)
    phone.text("hi")
    reply = phone.text("60614")  # the shared postcode
    assert "couldn't match" in reply and "debt collector" not in reply and "$" not in reply
    assert "debt collector" in phone.text("1 June 1988")  # Casey's date of birth: Casey's account
    reply = phone.text("what do I owe?")
    assert "$300.00" in reply and "1,234" not in reply
