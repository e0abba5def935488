"""SMS end to end: signed Twilio webhooks into the real Rasa server, replies out through the real twilio
library to the Twilio stand-in on loopback (bot/channels/sms.py)."""

import pytest
import requests
from sqlalchemy import select

from bot.domain.sms import SINGLE_SMS_GSM7, SINGLE_SMS_UCS2, is_gsm7, sms_length
from bot.sms.standin import inbound_sms, signed_headers
from bot.storage.db import unit_of_work
from bot.storage.orm import AuditEvent, PhoneConversation
from tests.support.database import HEADER, account_json, run_cli, write

pytestmark = pytest.mark.stack

JORDAN, SAM, STRANGER = "+15551230001", "+15551230002", "+15559990000"
OPT_OUT_WORDS = ("STOP", "stopall", "Unsubscribe", "CANCEL", "end", "QuIt", "REVOKE", "optout")


@pytest.fixture(autouse=True)
def nothing_texted_yet(demo_stack):
    demo_stack.twilio.clear()


class Phone:
    """A phone texting the assistant: each text is a signed Twilio webhook; replies are what the stand-in got."""

    def __init__(self, stack, number: str):
        self.stack, self.number = stack, number
        self.webhook = f"{stack.rasa_url}/webhooks/twilio/webhook"

    def post(self, body: str, headers: dict | None = None, params: dict | None = None) -> requests.Response:
        params = params or inbound_sms(self.stack.twilio.settings, self.number, body)
        headers = signed_headers(self.stack.twilio.settings, self.webhook, params) if headers is None else headers
        return requests.post(self.webhook, data=params, headers=headers, timeout=60)

    def text(self, body: str) -> list[str]:
        before = len(self.stack.twilio.messages(self.number))
        response = self.post(body)
        assert response.status_code == 200, response.text
        return [m["body"] for m in self.stack.twilio.messages(self.number)[before:]]


def joined(replies: list[str]) -> str:
    return "\n".join(replies)




def conversations_of(number: str) -> list[str]:
    with unit_of_work() as session:
        return list(session.scalars(select(PhoneConversation.conversation_id).where(PhoneConversation.phone == number)))


@pytest.mark.parametrize("how", ["unsigned", "wrong token", "tampered body", "another url"])
def test_a_forged_webhook_is_refused_and_nothing_is_processed(demo_stack, how):
    phone = Phone(demo_stack, JORDAN)
    params = inbound_sms(demo_stack.twilio.settings, JORDAN, "what do I owe?")
    headers = signed_headers(demo_stack.twilio.settings, phone.webhook, params)
    if how == "unsigned":
        headers = {}
    elif how == "wrong token":
        from twilio.request_validator import RequestValidator
        headers = {"X-Twilio-Signature": RequestValidator("not-the-token").compute_signature(phone.webhook, params)}
    elif how == "tampered body":
        params = {**params, "Body": "STOP"}
    else:
        headers = signed_headers(demo_stack.twilio.settings, "https://example.com/webhooks/twilio/webhook", params)
    response = phone.post("", headers=headers, params=params)
    assert response.status_code == 403
    assert demo_stack.twilio.messages(JORDAN) == []  # nothing was texted
    assert conversations_of(JORDAN) == []  # no conversation was started


def test_the_number_on_file_identifies_and_a_date_of_birth_verifies(demo_stack):
    phone = Phone(demo_stack, JORDAN)
    reply = joined(phone.text("what do I owe?"))
    assert "date of birth" in reply and "postcode" in reply
    assert "account reference" not in reply  # the number stands in for it
    assert "$" not in reply and "owe" not in reply.lower()  # nothing before verification
    assert "debt collector" in joined(phone.text("12 March 1985"))
    replies = phone.text("what do I owe?")
    assert "$1,234.56" in joined(replies)
    for part in replies:  # each text fits one SMS
        assert sms_length(part) <= (SINGLE_SMS_GSM7 if is_gsm7(part) else SINGLE_SMS_UCS2), part
    assert replies[0].endswith("(1/2)") and replies[1].endswith("(2/2)")  # a long reply, split and numbered


def test_a_postcode_verifies_too(demo_stack):
    phone = Phone(demo_stack, SAM)
    phone.text("hi")
    assert "debt collector" in joined(phone.text("10027"))
    assert "$455.00" in joined(phone.text("how much is my balance"))


def test_three_wrong_answers_lock_verification(demo_stack):
    phone = Phone(demo_stack, JORDAN)
    phone.text("what do I owe?")
    assert "couldn't match" in joined(phone.text("1 January 1990"))
    phone.text("99999")
    reply = joined(phone.text("2 February 1991"))
    assert "couldn't confirm your identity" in reply and "$" not in reply


def test_an_unknown_number_is_asked_for_the_account_reference(demo_stack):
    phone = Phone(demo_stack, STRANGER)
    assert "account reference" in joined(phone.text("hello"))
    assert "date of birth" in joined(phone.text("ACC-1001"))
    assert "debt collector" in joined(phone.text("12 March 1985"))


@pytest.fixture
def shared_number(demo_stack, db, tmp_path):
    """A second debtor's account on Jordan's number (a household phone)."""
    csv = write(tmp_path / "more.csv", (
        HEADER + f"ACC-2001,ACME,Acme Mobile,Casey Avery,1988-06-01,60614,{JORDAN},,America/Chicago,USD,300.00,0,0,"
        "2026-10-01\n"))
    run_cli("import-accounts", str(csv), database=db)


@pytest.mark.parametrize("word", OPT_OUT_WORDS)
def test_an_opt_out_keyword_opts_the_number_out_everywhere_with_one_confirmation(demo_stack, db, shared_number,
                                                                                 word):
    phone = Phone(demo_stack, JORDAN)
    replies = phone.text(word)
    assert len(replies) == 1 and "unsubscribed" in replies[0] and "START" in replies[0]
    assert account_json(db, "ACC-1001")["flags"]["sms_opt_out"] is True
    assert account_json(db, "ACC-2001")["flags"]["sms_opt_out"] is True  # every account with that number
    assert account_json(db, "ACC-1002")["flags"]["sms_opt_out"] is False
    assert phone.text("what do I owe?") == []  # nothing more is sent


def test_stop_then_help_then_start(demo_stack, db):
    phone = Phone(demo_stack, JORDAN)
    assert len(phone.text("Stop")) == 1
    assert phone.text("hello?") == []
    help_reply = joined(phone.text("HELP"))
    assert "Northgate Services" in help_reply and "STOP" in help_reply and "$" not in help_reply
    assert "subscribed" in joined(phone.text("start"))
    assert account_json(db)["flags"]["sms_opt_out"] is False
    assert "date of birth" in joined(phone.text("what do I owe?"))  # the conversation goes on
    with unit_of_work() as session:
        actions = list(session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("sms_opt_%")).order_by(AuditEvent.id)))
    assert actions == ["sms_opt_out", "sms_opt_in"]


def test_stop_inside_a_sentence_is_a_cease_request_not_a_keyword(demo_stack, db):
    phone = Phone(demo_stack, JORDAN)
    phone.text("hi")
    phone.text("12 March 1985")
    reply = joined(phone.text("please stop contacting me about this"))
    assert "unsubscribed" not in reply
    assert account_json(db)["flags"]["cease"] is True


def test_buttons_become_numbered_choices_and_a_number_picks_one(demo_stack, db):
    phone = Phone(demo_stack, JORDAN)
    phone.text("hi")
    phone.text("12 March 1985")
    reply = joined(phone.text("I want to dispute this"))
    assert "Reply 1 It's not mine, 2 The amount is wrong" in reply
    reply = joined(phone.text("2"))
    phone.text("It should be 300, I was overcharged")
    disputes = account_json(db)["disputes"]
    assert [d["reason"] for d in disputes] == ["wrong_amount"]


def test_a_wrong_number_is_marked_and_never_texted_again_by_reminders(demo_stack, db):
    phone = Phone(demo_stack, JORDAN)
    phone.text("hi")
    reply = joined(phone.text("wrong number, I don't know this person"))
    assert "$" not in reply
    points = [p for p in account_json(db)["contact_points"] if p["value"] == JORDAN]
    assert points and points[0]["status"] == "wrong"


def test_a_redelivered_webhook_is_handled_once(demo_stack):
    phone = Phone(demo_stack, JORDAN)
    params = inbound_sms(demo_stack.twilio.settings, JORDAN, "hi")
    headers = signed_headers(demo_stack.twilio.settings, phone.webhook, params)
    assert phone.post("", headers=headers, params=params).status_code == 200
    first = len(demo_stack.twilio.messages(JORDAN))
    assert phone.post("", headers=headers, params=params).status_code == 200
    assert len(demo_stack.twilio.messages(JORDAN)) == first


@pytest.mark.parametrize("body, expected", [
    ("", "didn't get any text"),
    ("x" * 100_000, "too long"),
    ("😀😀", None),
    ("<script>alert(1)</script>", None),
    ("'; DROP TABLE accounts; --", None),
])
def test_bad_texts_get_a_sane_reply(demo_stack, db, body, expected):
    phone = Phone(demo_stack, JORDAN)
    reply = joined(phone.text(body))
    assert reply and "$" not in reply
    if expected:
        assert expected in reply
    assert "date of birth" in joined(phone.text("hello"))  # still answering
    assert account_json(db)["account_ref"] == "ACC-1001"
