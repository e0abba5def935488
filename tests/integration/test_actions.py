"""The custom actions, run as the action server runs them, against a real database."""
from datetime import date

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.account import ActionAnswerAccountRequest
from actions.verification import ActionAfterVerification, ValidateVerificationForm
from bot.cli import DEMO
from bot.config import PROJECT_ROOT
from bot.services import accounts, audit, imports
from bot.storage.db import unit_of_work
from tests.support.database import in_transaction

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
SLOTS = {"agency_name": "Northgate Services", "agency_phone": "1-800-555-0142", "verification_failures": 0,
         "verified": False, "verification_locked": False, "disclosure_given": False}


@pytest.fixture
def demo(db):
    in_transaction(imports.import_policies, DEMO / "policies.yml")
    in_transaction(imports.import_accounts, DEMO / "accounts.csv", date(2026, 11, 23))
    return db


def tracker(text="", intent="inform", events=(), **slots) -> Tracker:
    return Tracker(
        sender_id="conv-1", slots={**SLOTS, **slots},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": []},
        events=list(events), paused=False, followup_action=None, active_loop={"name": "verification_form"},
        latest_action_name="action_listen",
    )


async def run(action, t: Tracker):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, DOMAIN)
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    return slots, [m.get("response") for m in dispatcher.messages], dispatcher.messages


def audit_actions(ref):
    with unit_of_work() as session:
        return [e.action for e in audit.events_for(session, accounts.get(session, ref))]


async def test_reference_is_read_from_free_text_and_canonicalised(demo):
    slots, said, _ = await run(ValidateVerificationForm(),
                               tracker("hi my ref is acc-1001", requested_slot="account_ref"))
    assert slots["account_ref"] == "ACC-1001"
    assert said == []


async def test_a_message_without_a_reference_is_asked_again(demo):
    slots, said, _ = await run(ValidateVerificationForm(), tracker("what is this about", requested_slot="account_ref"))
    assert slots == {"account_ref": None}
    assert said == ["utter_not_a_reference"]


async def test_reference_and_date_of_birth_in_one_message_verify(demo):
    slots, said, _ = await run(ValidateVerificationForm(),
                               tracker("ACC-1001, born 03/12/1985", requested_slot="account_ref"))
    assert slots["verified"] is True and slots["account_ref"] == "ACC-1001"
    assert audit_actions("ACC-1001") == ["account_placed", "identity_verified"]


async def test_wrong_date_of_birth_fails_and_resets(demo):
    slots, said, _ = await run(ValidateVerificationForm(),
                               tracker("1 April 1980", requested_slot="date_of_birth", account_ref="ACC-1001"))
    assert slots["verification_failures"] == 1 and slots["verification_locked"] is False
    assert slots["account_ref"] is None and slots["date_of_birth"] is None
    assert "verified" not in slots
    assert said == ["utter_verification_failed"]
    assert audit_actions("ACC-1001")[-1] == "verification_failed"


async def test_unknown_reference_fails_exactly_like_a_wrong_date(demo):
    _, said_unknown, _ = await run(ValidateVerificationForm(),
                                   tracker("12 March 1985", requested_slot="date_of_birth", account_ref="ZZ-999"))
    _, said_wrong, _ = await run(ValidateVerificationForm(),
                                 tracker("1 April 1980", requested_slot="date_of_birth", account_ref="ACC-1001"))
    assert said_unknown == said_wrong == ["utter_verification_failed"]


async def test_third_failure_locks_and_ends_the_form(demo):
    slots, said, _ = await run(ValidateVerificationForm(), tracker(
        "1 April 1980", requested_slot="date_of_birth", account_ref="ACC-1001", verification_failures=2))
    assert slots["verification_locked"] is True
    assert slots["requested_slot"] is None
    assert said == []  # action_after_verification says it is locked


async def test_text_that_is_no_date_is_asked_again_without_counting_a_failure(demo):
    slots, said, _ = await run(ValidateVerificationForm(),
                               tracker("dunno", requested_slot="date_of_birth", account_ref="ACC-1001"))
    assert slots["date_of_birth"] is None and "verification_failures" not in slots
    assert said == ["utter_not_a_date"]


async def test_interruptions_are_left_to_the_rules(demo):
    slots, said, _ = await run(ValidateVerificationForm(),
                               tracker("are you a robot", intent="bot_challenge", requested_slot="account_ref"))
    assert "account_ref" not in slots and said == []


def started_by(intent):
    return [
        {"event": "user", "text": "hi", "parse_data": {"intent": {"name": intent}}},
        {"event": "active_loop", "name": "verification_form"},
        {"event": "user", "text": "ACC-1001", "parse_data": {"intent": {"name": "inform"}}},
        {"event": "active_loop", "name": None},
    ]


async def test_after_verification_discloses_once_then_answers_the_balance_question(demo):
    slots, said, messages = await run(ActionAfterVerification(), tracker(
        events=started_by("ask_balance"), verified=True, account_ref="ACC-1001"))
    assert slots == {"disclosure_given": True}
    assert said[:2] == ["utter_disclosure", "utter_balance"]
    balance = messages[1]
    assert (balance["balance"], balance["principal"], balance["interest"], balance["fees"]) == (
        "$1,234.56", "$1,100.00", "$84.56", "$50.00")
    assert balance["creditor"] == "Acme Telecom Ltd" and "Acme Mobile" in balance["original_creditor_clause"]
    assert said[-1] == "utter_options"
    assert audit_actions("ACC-1001")[-1] == "balance_disclosed"

    slots, said, _ = await run(ActionAfterVerification(), tracker(
        events=started_by("greet"), verified=True, account_ref="ACC-1001", disclosure_given=True))
    assert said == ["utter_how_can_i_help"] and slots == {}


async def test_after_a_lockout_only_the_lock_message_is_given(demo):
    slots, said, _ = await run(ActionAfterVerification(), tracker(
        events=started_by("ask_balance"), verification_locked=True))
    assert said == ["utter_verification_locked"] and slots == {}


async def test_an_account_question_is_never_answered_unverified(demo):
    _, said, _ = await run(ActionAnswerAccountRequest(), tracker("what do i owe", intent="ask_balance",
                                                                 account_ref="ACC-1001"))
    assert said == ["utter_need_verification"]
    assert audit_actions("ACC-1001") == ["account_placed"]


def test_amounts_are_read_as_each_kind_of_agreement_needs():
    from decimal import Decimal

    from actions.negotiation import read_amount
    from bot.domain.policy import parse_policy
    from bot.services.unit_of_work import Negotiable

    policy = parse_policy(yaml.safe_load((DEMO / "policies.yml").read_text())["creditors"][0]["policy"])
    context = Negotiable("ACC-1001", Decimal("1234.56"), "USD", policy, date(2026, 11, 23))
    assert read_amount("I can do 150 a month", "plan", context) == "monthly:150"
    assert read_amount("over 10 months please", "plan", context) == "months:10"
    assert read_amount("50% off", "settlement", context) == "617.28"
    assert read_amount("$1,100", "settlement", context) == "1100"
    assert read_amount("a billion: 9999999999", "promise", context) is None  # absurd amounts are not amounts
    assert read_amount("no idea", "promise", context) is None


# --- protective flows -----------------------------------------------------------------------------

async def test_a_dispute_reason_is_read_from_the_opening_message_or_asked_with_choices(demo):
    from actions.cases import ValidateCaseForm

    form = ValidateCaseForm()
    t = tracker("that debt isn't mine", intent="dispute", verified=True, account_ref="ACC-1001")
    assert await form.extract_case_topic(CollectingDispatcher(), t, DOMAIN) == {"case_topic": "dispute"}
    assert await form.extract_case_reason(CollectingDispatcher(), t, DOMAIN) == {"case_reason": "not_mine"}
    assert await form.extract_case_details(CollectingDispatcher(), t, DOMAIN) == {}  # details are asked for
    unclear = tracker("well it's complicated", intent="dispute", requested_slot="case_reason", case_topic="dispute")
    assert await form.extract_case_reason(CollectingDispatcher(), unclear, DOMAIN) == {"case_reason": "other"}
    paid = tracker("i paid this already", intent="already_paid", case_topic="dispute")
    assert await form.extract_case_reason(CollectingDispatcher(), paid, DOMAIN) == {"case_reason": "already_paid"}


async def test_case_details_prefilled_when_given_and_asked_again_when_missing(demo):
    from actions.cases import ValidateCaseForm

    form = ValidateCaseForm()
    long = tracker("I lost my job in May and can only just cover rent", intent="hardship")
    assert (await form.extract_case_details(CollectingDispatcher(), long, DOMAIN))["case_details"].startswith("I lost")
    short = tracker("hardship", intent="hardship")
    assert await form.extract_case_details(CollectingDispatcher(), short, DOMAIN) == {}
    dispatcher = CollectingDispatcher()
    nothing = tracker("it changed", intent="update_contact", requested_slot="case_details", case_topic="update_contact")
    assert await form.extract_case_details(dispatcher, nothing, DOMAIN) == {"case_details": None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_no_contact_details"]
    skip = tracker("skip", intent="deny", requested_slot="case_details", case_topic="attorney")
    assert await form.extract_case_details(CollectingDispatcher(), skip, DOMAIN) == {"case_details": ""}


async def test_a_recorded_dispute_pauses_payment_talk(demo):
    from actions.cases import ActionRecordCase

    slots, said, messages = await run(ActionRecordCase(), tracker(
        verified=True, account_ref="ACC-1001", case_topic="dispute", case_reason="wrong_amount",
        case_details="should be 300"))
    assert said == ["utter_dispute_recorded"] and messages[0]["reference"].startswith("DSP-")
    assert slots["case_topic"] is None and slots["pending_terms"] is None
    _, said, _ = await run(ActionAnswerAccountRequest(), tracker("what do i owe", intent="ask_balance", verified=True,
                                                                 account_ref="ACC-1001"))
    assert said == ["utter_balance", "utter_collection_paused_dispute"]  # no payment options


async def test_a_death_reported_by_an_unverified_person_discloses_nothing(demo):
    from actions.cases import ActionRecordCase

    dispatcher = CollectingDispatcher()
    events = await ActionRecordCase().run(dispatcher, tracker(
        case_topic="deceased", case_details="the reference was ACC-1002; executor Ann Lee ann@example.com"), DOMAIN)
    assert [m["response"] for m in dispatcher.messages] == ["utter_deceased_recorded"]
    assert {"event": "pause", "timestamp": None} in events
    with unit_of_work() as session:
        view = accounts.view(session, accounts.get(session, "ACC-1002"))
    # collection paused until a person confirms it (tests/test_security_cases.py): not `deceased` on its word
    assert view["flags"]["deceased_reported"] and not view["flags"]["deceased"] and view["status"] == "ceased"
    assert [h["reason"] for h in view["handoffs"]] == ["deceased"]


async def test_two_misunderstandings_in_a_row_hand_over_to_a_person(demo):
    from actions.cases import ActionClarify

    turn = lambda intent: {"event": "user", "text": "x", "parse_data": {"intent": {"name": intent}}}  # noqa: E731
    dispatcher = CollectingDispatcher()
    events = await ActionClarify().run(dispatcher, tracker("blorp", intent="nlu_fallback",
                                                           events=[turn("greet"), turn("nlu_fallback")]), DOMAIN)
    assert [m["response"] for m in dispatcher.messages] == ["utter_default"] and events == []
    events = await ActionClarify().run(dispatcher, tracker("blorp", intent="nlu_fallback",
                                                           events=[turn("nlu_fallback"), turn("nlu_fallback")]), DOMAIN)
    assert dispatcher.messages[-1]["response"] == "utter_handed_off"
    assert [e["event"] for e in events] == ["pause"]


async def test_the_wrong_person_is_forgotten_and_nothing_is_tied_to_an_account(demo):
    from actions.cases import ActionReportWrongParty

    slots, said, _ = await run(ActionReportWrongParty(), tracker("wrong number mate", intent="wrong_person",
                                                                 account_ref="ACC-1001"))
    assert said == ["utter_wrong_party"]
    assert slots["verified"] is False and slots["account_ref"] is None
    assert audit_actions("ACC-1001") == ["account_placed"]  # not verified: nothing tied to the account


async def test_a_new_session_stays_paused_while_a_person_has_the_conversation(demo):
    from actions.session import ActionSessionStart
    from bot.services import handoffs

    events = await ActionSessionStart().run(CollectingDispatcher(), tracker(), DOMAIN)
    assert "pause" not in [e["event"] for e in events]
    in_transaction(handoffs.open_handoff, "conv-1", "request_human")
    events = await ActionSessionStart().run(CollectingDispatcher(), tracker(), DOMAIN)
    assert [e["event"] for e in events] == ["session_started", "slot", "slot", "pause", "action"]


async def test_an_amount_given_as_hardship_still_answers_the_amount_question(demo):
    from actions.negotiation import ValidateAgreementForm

    form = ValidateAgreementForm()
    answer = tracker("I can only afford 10 dollars a month", intent="hardship", verified=True,
                     account_ref="ACC-1001", agreement_type="plan", requested_slot="agreement_amount")
    assert await form.extract_agreement_amount(CollectingDispatcher(), answer, DOMAIN) == {
        "agreement_amount": "monthly:10"}
    dispatcher = CollectingDispatcher()
    story = tracker("I lost my job last month", intent="hardship", verified=True, account_ref="ACC-1001",
                    agreement_type="plan", requested_slot="agreement_amount")
    assert await form.extract_agreement_amount(dispatcher, story, DOMAIN) == {}  # left to the hardship flow
    assert dispatcher.messages == []


async def test_the_dispute_reason_is_a_required_slot_from_the_opening_message_on(demo):
    from actions.cases import ValidateCaseForm

    slots = ["case_topic", "case_reason", "case_details"]
    opening = tracker("this debt is not mine", intent="dispute", verified=True, account_ref="ACC-1001")
    assert await ValidateCaseForm().required_slots(slots, CollectingDispatcher(), opening, DOMAIN) == slots
    hardship = tracker("I lost my job", intent="hardship", verified=True, account_ref="ACC-1001")
    assert await ValidateCaseForm().required_slots(slots, CollectingDispatcher(), hardship, DOMAIN) == [
        "case_topic", "case_details"]
