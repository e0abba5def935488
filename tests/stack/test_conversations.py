"""End to end over HTTP: the real Rasa server and action server, a real database, the real command line."""
import json
import uuid

import pytest
import requests

from bot.launcher import Stack
from tests.support.database import run_cli

pytestmark = pytest.mark.stack

# Words that would tell a stranger a debt exists.
DEBT_WORDS = ("$", "balance", "owe", "debt", "acme", "1,234", "creditor", "collect")


class Chat:
    def __init__(self, stack: Stack):
        self.url = f"{stack.rasa_url}/webhooks/rest/webhook"
        self.sender = f"test-{uuid.uuid4().hex[:12]}"

    def say(self, message) -> str:
        response = requests.post(self.url, json={"sender": self.sender, "message": message}, timeout=60)
        assert response.status_code == 200, response.text
        return "\n".join(m.get("text", "") for m in response.json())


def assert_discloses_nothing(reply: str) -> None:
    lowered = reply.lower()
    assert not any(word in lowered for word in DEBT_WORDS), reply


def audit_of(ref, db) -> str:
    return run_cli("audit", ref, database=db).stdout


def test_verify_then_ask_what_is_owed(demo, db):
    chat = Chat(demo)
    reply = chat.say("hi")
    assert "automated assistant" in reply and "account reference" in reply
    assert_discloses_nothing(reply)
    reply = chat.say("ACC-1001")
    assert "date of birth" in reply
    assert_discloses_nothing(reply)
    reply = chat.say("12 March 1985")
    assert "debt collector" in reply and "attempt to collect a debt" in reply
    reply = chat.say("how much do I owe?")
    assert "$1,234.56" in reply and "$1,100.00 principal" in reply and "$84.56 interest" in reply
    assert "$50.00 fees" in reply and "Acme Telecom Ltd" in reply and "Acme Mobile" in reply
    assert "payment plan" in reply  # the options
    assert "debt collector" not in reply  # the disclosure is given once

    account = json.loads(run_cli("account", "ACC-1001", "--json", database=db).stdout)
    assert account["status"] == "open" and account["balance"] == "1234.56"
    log = audit_of("ACC-1001", db)
    assert "identity_verified" in log and "balance_disclosed" in log and chat.sender in log


def test_asking_first_leads_through_verification_to_the_answer(demo):
    chat = Chat(demo)
    reply = chat.say("what do i owe you guys")
    assert "confirm who I'm talking to" in reply and "account reference" in reply
    assert_discloses_nothing(reply)
    reply = chat.say("it's bb-77310 and my dob is 04/07/1990")
    assert "debt collector" in reply and "£2,562.40" in reply and "Bright Bank plc" in reply


def test_three_failures_lock_and_nothing_is_disclosed(demo, db):
    chat = Chat(demo)
    chat.say("hello")
    for _attempt in range(3):
        assert "date of birth" in chat.say("ACC-1001")
        reply = chat.say("1 January 1990")
        assert_discloses_nothing(reply)
    assert "couldn't confirm your identity" in reply and "1-800-555-0142" in reply
    for message in ("what is my balance", "ACC-1001 12 March 1985"):
        reply = chat.say(message)
        assert_discloses_nothing(reply)
        assert "couldn't confirm your identity" in reply
    assert audit_of("ACC-1001", db).count("verification_failed") == 3
    assert "identity_verified" not in audit_of("ACC-1001", db)


def test_unknown_reference_is_refused_like_a_wrong_date(demo):
    chat = Chat(demo)
    chat.say("hi")
    chat.say("ZZ-0000")
    reply = chat.say("12 March 1985")
    assert "couldn't match those details" in reply
    assert_discloses_nothing(reply)


def test_garbage_gets_a_sane_reply_and_the_conversation_goes_on(demo):
    chat = Chat(demo)
    for message in ("", "💸💸💸", "x" * 100_000, "'; DROP TABLE accounts; --", "<script>alert(1)</script>",
                    "\x00\x01\x02"):
        chat.say(message)
    chat = Chat(demo)
    assert "account reference" in chat.say("hi")
    assert "date of birth" in chat.say("ACC-1002")
    assert "debt collector" in chat.say("30 November 1979")


