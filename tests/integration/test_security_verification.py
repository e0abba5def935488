"""Verification cannot be guessed (issue 10, findings 3, 5 and 13): attacks as an attacker would run them.

Service and action tests pass explicit times; the end-to-end tests go through the real servers (REST, the web
chat's socket.io channel, signed SMS webhooks), where every attempt of a test falls within a minute or so of
the real clock, far inside the 24-hour window.
"""
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.verification import ActionAfterVerification, ValidateVerificationForm
from bot.cli import DEMO
from bot.config import PROJECT_ROOT
from bot.domain.verification import CLIENT_FAILURE_LIMIT, REFERENCE_FAILURE_LIMIT
from bot.services import accounts, identity, imports
from bot.services.identity import Outcome
from bot.storage.db import unit_of_work
from bot.storage.orm import AuditEvent, VerificationAttempt
from tests.support.database import HEADER, in_locking_transaction, in_transaction, write

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
JORDAN, SAM = "+15551230001", "+15551230002"
HOUSEHOLD = (  # Casey shares Jordan's phone and postcode
    HEADER + f"ACC-2001,ACME,Acme Mobile,Casey Avery,1988-06-01,60614,{JORDAN},,America/Chicago,USD,300.00,0,0,"
    "2026-10-01\n")
DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())


@pytest.fixture
def demo(db):
    in_transaction(imports.import_policies, DEMO / "policies.yml")
    in_transaction(imports.import_accounts, DEMO / "accounts.csv", date(2026, 11, 23))
    return db


@pytest.fixture
def household(demo, tmp_path):
    in_transaction(imports.import_accounts, write(tmp_path / "household.csv", HOUSEHOLD), date(2026, 11, 23))
    return demo


def attempts_kept() -> int:
    with unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(VerificationAttempt))


def audit_actions(action_prefix: str = "verification_") -> list[str]:
    with unit_of_work() as session:
        return list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like(f"{action_prefix}%"))
                                    .order_by(AuditEvent.id)))


def view(ref: str, now: datetime = NOW) -> dict:
    with unit_of_work() as session:
        return accounts.view(session, accounts.get(session, ref), now)


def brute_force(ref: str, n: int, now: datetime = NOW, client: str | None = None) -> list[Outcome]:
    """n wrong dates of birth, one a minute, each from a new conversation."""
    return [in_locking_transaction(identity.verify, ref, f"{day} January 1970", now=now - timedelta(minutes=n - day),
                            conversation_id=uuid.uuid4().hex, client=client).outcome for day in range(1, n + 1)]


# --- the service: counts per reference, across conversations and channels ------------------------------

def test_five_failures_for_a_reference_refuse_even_the_right_date_until_24_hours_have_passed(demo):
    assert brute_force("ACC-1001", REFERENCE_FAILURE_LIMIT) == [Outcome.FAILED] * REFERENCE_FAILURE_LIMIT
    right = in_locking_transaction(identity.verify, "ACC-1001", "12 March 1985", now=NOW,
                                   conversation_id="new-conversation")
    assert right.outcome is Outcome.REFUSED  # whatever the date: it is not even checked
    first_failure = NOW - timedelta(minutes=REFERENCE_FAILURE_LIMIT - 1)
    assert right.locked_until == first_failure + timedelta(hours=24)

    assert audit_actions() == ["verification_failed"] * 5 + ["verification_locked", "verification_refused"]
    assert view("ACC-1001")["verification"] == {"failures_24h": 5,
                                                "locked_until": right.locked_until.isoformat()}
    assert attempts_kept() == 5  # a refusal is audited, not counted: hammering a lock does not prolong it

    later = right.locked_until
    assert in_locking_transaction(identity.verify, "ACC-1001", "12 March 1985", now=later).outcome is Outcome.VERIFIED
    # The oldest failure has left the window: four remain, under the limit.
    assert view("ACC-1001", later)["verification"] == {"failures_24h": 4, "locked_until": None}


def test_references_are_counted_as_given_whatever_their_case_and_spacing(demo):
    for given in ("acc-1001", " ACC-1001", "Acc-1001 ", "ACC-1001", "acc-1001"):
        in_locking_transaction(identity.verify, given, "1 January 1970", now=NOW)
    assert in_locking_transaction(identity.verify, "ACC-1001", "12 March 1985", now=NOW).outcome is Outcome.REFUSED


def test_a_locked_unknown_reference_answers_like_a_locked_known_one(demo):
    for ref in ("ACC-1001", "ZZ-0000"):
        outcomes = brute_force(ref, REFERENCE_FAILURE_LIMIT)
        assert outcomes == [Outcome.FAILED] * REFERENCE_FAILURE_LIMIT
    known = in_locking_transaction(identity.verify, "ACC-1001", "12 March 1985", now=NOW)
    unknown = in_locking_transaction(identity.verify, "ZZ-0000", "12 March 1985", now=NOW)
    assert known == unknown and known.outcome is Outcome.REFUSED


def test_a_client_failing_on_many_references_is_refused_on_any_other(demo):
    client = "ip:203.0.113.9"
    for i in range(CLIENT_FAILURE_LIMIT):
        assert in_locking_transaction(identity.verify, f"ZZ-{i:04d}", "1 January 1970", now=NOW - timedelta(minutes=i),
                               client=client).outcome is Outcome.FAILED
    refused = in_locking_transaction(identity.verify, "ACC-1001", "12 March 1985", now=NOW, client=client)
    assert refused.outcome is Outcome.REFUSED
    # Another client, and the debtor themselves, are not held up by it.
    other = in_locking_transaction(identity.verify, "ACC-1001", "12 March 1985", now=NOW, client="ip:198.51.100.7")
    assert other.outcome is Outcome.VERIFIED


def test_a_lock_holds_by_sms_for_the_same_reference(demo):
    brute_force("ACC-1001", REFERENCE_FAILURE_LIMIT)
    assert in_locking_transaction(identity.verify_by_phone, JORDAN, "12 March 1985", now=NOW).outcome is Outcome.REFUSED
    sam = in_locking_transaction(identity.verify_by_phone, SAM, "30 November 1979", now=NOW)
    assert sam.outcome is Outcome.VERIFIED  # others go on


def test_failures_by_sms_count_against_the_references_on_the_number(demo):
    for day in range(1, REFERENCE_FAILURE_LIMIT + 1):
        failed = in_locking_transaction(identity.verify_by_phone, JORDAN, f"{day} January 1970", now=NOW)
        assert failed.outcome is Outcome.FAILED
    assert in_locking_transaction(identity.verify, "ACC-1001", "12 March 1985", now=NOW).outcome is Outcome.REFUSED
    assert view("ACC-1001")["verification"]["failures_24h"] == REFERENCE_FAILURE_LIMIT


# --- one answer, one date -------------------------------------------------------------------------------

def stuffed_with_dates(around: date) -> str:
    """~1,000 characters of dates, the date of birth among them."""
    days = [around + timedelta(days=offset) for offset in range(-55, 55)]
    return " ".join(f"{d.day}/{d.month}/{d.year}" for d in days)[:1000]


def test_a_message_stuffed_with_dates_is_not_an_attempt_and_verifies_nobody(demo):
    stuffed = stuffed_with_dates(date(1985, 3, 12))
    assert "12/3/1985" in stuffed and len(stuffed) >= 900
    assert in_locking_transaction(identity.verify, "ACC-1001", stuffed, now=NOW).outcome is Outcome.NOT_AN_ANSWER
    assert in_locking_transaction(identity.verify_by_phone, JORDAN, stuffed, now=NOW).outcome is Outcome.NOT_AN_ANSWER
    assert attempts_kept() == 0


def test_an_all_numeric_date_still_verifies_in_either_order(demo):
    assert in_locking_transaction(identity.verify, "ACC-1001", "03/12/1985", now=NOW).outcome is Outcome.VERIFIED
    assert in_locking_transaction(identity.verify, "ACC-1001", "12/03/1985", now=NOW).outcome is Outcome.VERIFIED


# --- identity by phone: a household -----------------------------------------------------------------------

def test_a_shared_postcode_verifies_no_one_in_a_household(household):
    for postcode in ("60614", "my zip is 60614"):
        assert in_locking_transaction(identity.verify_by_phone, JORDAN, postcode, now=NOW).outcome is Outcome.FAILED
    casey = in_locking_transaction(identity.verify_by_phone, JORDAN, "1 June 1988", now=NOW)
    jordan = in_locking_transaction(identity.verify_by_phone, JORDAN, "12 March 1985", now=NOW)
    assert (casey.outcome, casey.account_ref) == (Outcome.VERIFIED, "ACC-2001")
    assert (jordan.outcome, jordan.account_ref) == (Outcome.VERIFIED, "ACC-1001")
    # One debtor alone on a number is still verified by their postcode.
    sam = in_locking_transaction(identity.verify_by_phone, SAM, "10027", now=NOW)
    assert (sam.outcome, sam.account_ref) == (Outcome.VERIFIED, "ACC-1002")


# --- the form: only real answers count ------------------------------------------------------------------------

SLOTS = {"agency_name": "Northgate Services", "agency_phone": "1-800-555-0142", "verification_failures": 0,
         "verified": False, "verification_locked": False, "disclosure_given": False}


def tracker(text, intent="inform", sender="conv-1", client="ip:192.0.2.10", **slots) -> Tracker:
    return Tracker(
        sender_id=sender, slots={**SLOTS, **slots},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": [],
                        "metadata": {"client": client}},
        events=[], paused=False, followup_action=None, active_loop={"name": "verification_form"},
        latest_action_name="action_listen",
    )


async def run(action, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, DOMAIN)
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    return slots, [m.get("response") for m in dispatcher.messages]


@pytest.mark.parametrize("text, intent", [("hi", "greet"), ("thanks", "thank"), ("ok", "affirm"),
                                          ("what is this about?", "inform"), ("hello there", "inform")])
async def test_small_talk_at_the_reference_question_is_not_taken_for_a_reference(demo, text, intent):
    slots, _ = await run(ValidateVerificationForm(), tracker(text, intent, requested_slot="account_ref"))
    assert slots.get("account_ref") is None and "verification_failures" not in slots


@pytest.mark.parametrize("text, intent", [("hi", "greet"), ("thanks", "thank"), ("ok", "affirm"),
                                          ("ACC-1001", "inform"), ("when was I born?", "inform")])
async def test_small_talk_or_a_reference_at_the_date_question_counts_nothing(demo, text, intent):
    slots, said = await run(ValidateVerificationForm(), tracker(text, intent, requested_slot="date_of_birth",
                                                                account_ref="ACC-1001"))
    assert slots.get("date_of_birth") is None and "verification_failures" not in slots and "verified" not in slots
    assert "utter_verification_failed" not in said
    assert attempts_kept() == 0


@pytest.mark.parametrize("text, intent", [("hi", "greet"), ("ok", "affirm"), ("thanks", "thank"),
                                          ("what do you mean", "inform"), ("ACC-1001", "inform")])
async def test_small_talk_by_sms_at_the_date_or_postcode_question_counts_nothing(demo, text, intent, monkeypatch):
    monkeypatch.setattr("bot.services.sms.phone_of", lambda _uow, conversation: JORDAN)
    slots, said = await run(ValidateVerificationForm(), tracker(
        text, intent, client=f"phone:{JORDAN}", requested_slot="date_of_birth", identified_by_phone=True))
    assert slots == {"date_of_birth": None, "requested_slot": "date_of_birth"}  # the question, asked again
    assert said == [] and attempts_kept() == 0


async def test_two_dates_in_one_answer_are_asked_again_as_one(demo):
    slots, said = await run(ValidateVerificationForm(), tracker("12/03/1985 or maybe 1 April 1980",
                                                                requested_slot="date_of_birth", account_ref="ACC-1001"))
    assert said == ["utter_one_date"] and slots.get("date_of_birth") is None and "verified" not in slots
    assert attempts_kept() == 0


async def test_the_form_refuses_a_locked_reference_and_says_so_without_judging_the_date(demo):
    brute_force("ACC-1001", REFERENCE_FAILURE_LIMIT, now=datetime.now(UTC))  # the action uses the clock
    slots, said = await run(ValidateVerificationForm(), tracker("12 March 1985", requested_slot="date_of_birth",
                                                                account_ref="ACC-1001", sender="fresh"))
    assert slots["verification_locked"] is True and slots["verification_refused"] is True
    assert "verified" not in slots and said == []
    _, said = await run(ActionAfterVerification(), tracker("", verification_locked=True, verification_refused=True))
    assert said == ["utter_verification_refused"]


# --- end to end over HTTP: REST, the web chat, SMS -------------------------------------------------------------

DEBT_WORDS = ("$", "balance", "owe", "debt", "acme", "1,234", "creditor", "collect")
REFUSED = "too many attempts"


def assert_discloses_nothing(reply: str) -> None:
    assert not any(word in reply.lower() for word in DEBT_WORDS), reply


class Chat:
    def __init__(self, stack):
        self.url = f"{stack.rasa_url}/webhooks/rest/webhook"
        self.sender = f"attacker-{uuid.uuid4().hex[:12]}"

    def say(self, message: str) -> str:
        response = requests.post(self.url, json={"sender": self.sender, "message": message}, timeout=60)
        assert response.status_code == 200, response.text
        return "\n".join(m.get("text", "") for m in response.json())


class Phone:
    def __init__(self, stack, number: str):
        from bot.sms.standin import inbound_sms, signed_headers

        self.stack, self.number, self._inbound, self._signed = stack, number, inbound_sms, signed_headers
        self.webhook = f"{stack.rasa_url}/webhooks/twilio/webhook"

    def text(self, body: str) -> str:
        settings = self.stack.twilio.settings
        before = len(self.stack.twilio.messages(self.number))
        params = self._inbound(settings, self.number, body)
        response = requests.post(self.webhook, data=params, headers=self._signed(settings, self.webhook, params),
                                 timeout=60)
        assert response.status_code == 200, response.text
        return "\n".join(m["body"] for m in self.stack.twilio.messages(self.number)[before:])














