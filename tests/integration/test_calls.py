"""Call-assist on a real database (both backends): finding an account, the contact rules before a call and the
attempts they count, what each utterance raises, verification, offers at the person's tier, agreements, and the
end of the call. The NLU reading is given here as the model would give it (tests/stack reads it with the model)."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.domain.console import Staff
from bot.services import calls, cases
from bot.services.desk import Forbidden, Invalid
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage.orm import AuditEvent, Call, StaffNote
from tests.integration.conftest import DESK_STAFF
from tests.support.database import account_json, in_transaction

TODAY = date(2026, 11, 23)
NOON = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # noon in Chicago, where ACC-1001's debtor (Jordan Avery) lives
NIGHT = datetime(2026, 11, 26, 4, 30, tzinfo=UTC)  # 22:30 in Chicago
PHONE = "+15551230001"
AGENT, OTHER, SUPERVISOR = DESK_STAFF
SURE = 0.95


def at(moment: datetime = NOON, *, locking: bool = False) -> SqlUnitOfWork:
    return SqlUnitOfWork(locking=locking, clock=lambda: moment)


def start(moment: datetime = NOON, staff: Staff = AGENT) -> int:
    return int(calls.start(at(moment), staff, "ACC-1001", PHONE)["id"])


def say(call_id: int, speaker: str, text: str, intent: str | None = None, confidence: float = SURE,
        moment: datetime = NOON, staff: Staff = AGENT) -> dict:
    return calls.assist(at(moment), staff, call_id, "ACC-1001", speaker, text, calls.Reading(intent, confidence))


def verified_call(moment: datetime = NOON) -> int:
    call_id = start(moment)
    assert calls.verify(at(moment, locking=True), AGENT, call_id, "acc-1001", "March 12 1985")["verified"]
    return call_id


def test_an_account_is_found_by_reference_phone_or_name_and_wildcards_are_text(desk_demo):
    def refs(query: str) -> list[str]:
        return [a["account_ref"] for a in calls.search(at(), AGENT, query)]

    assert refs("acc-100")[:2] == ["ACC-1001", "ACC-1002"]
    assert refs("(555) 123-0001") == ["ACC-1001"]
    assert refs("jordan av") == ["ACC-1001"]
    assert refs("%%") == [] and refs("__") == []
    with pytest.raises(Invalid):
        calls.search(at(), AGENT, "a")
    [found] = calls.search(at(), AGENT, "Jordan Avery")
    assert found["phones"] == [PHONE] and found["balance"] == "1234.56"


def test_a_call_outside_the_debtors_hours_or_to_an_unknown_number_is_refused_and_audited(desk_demo):
    with pytest.raises(calls.CallRefused) as night:
        start(NIGHT)
    assert night.value.rule == "outside_hours" and "22:30" in night.value.explanation
    with pytest.raises(calls.CallRefused) as unknown:
        calls.start(at(), AGENT, "ACC-1001", "+15550000000")
    assert unknown.value.rule == "unknown_number"
    with SqlUnitOfWork() as uow:
        assert uow.session.scalars(select(Call)).all() == []
        refused = uow.session.scalars(select(AuditEvent.details).where(AuditEvent.action == "call_refused")
                                      .order_by(AuditEvent.id)).all()
    assert [d["rule"] for d in refused] == ["outside_hours", "unknown_number"]


@pytest.mark.parametrize("hold, rule", [("cease", "stopped"), ("attorney", "stopped"), ("bankruptcy", "stopped"),
                                        ("dispute", "paused")])
def test_no_call_on_an_account_whose_collection_is_stopped_or_paused(desk_demo, hold, rule):
    if hold == "dispute":
        in_transaction(cases.open_dispute, "ACC-1001", "not_mine", "", "c1")
    else:
        in_transaction(cases.raise_flag, "ACC-1001", hold, "c1")
    with pytest.raises(calls.CallRefused) as refused:
        start()
    assert refused.value.rule == rule


def test_seven_attempts_in_seven_days_then_none_and_none_for_seven_days_after_a_conversation(desk_demo):
    for day in range(7):
        call_id = start(NOON - timedelta(days=6) + timedelta(days=day, minutes=day))
        calls.set_outcome(at(), AGENT, call_id, "no_answer")
    with pytest.raises(calls.CallRefused) as eighth:
        start(NOON + timedelta(hours=1))
    assert eighth.value.rule == "attempts" and "7 call attempts" in eighth.value.explanation
    later = NOON + timedelta(days=1, hours=1)  # the first attempt is now over 7 days old
    talked = start(later)
    calls.end(at(later), AGENT, talked, "conversation", "callback", "")
    with pytest.raises(calls.CallRefused) as quiet:
        start(later + timedelta(days=6))
    assert quiet.value.rule == "recent_conversation"
    start(later + timedelta(days=7, minutes=1))


def test_a_call_is_its_agents_and_a_supervisors(desk_demo):
    call_id = start()
    with pytest.raises(Forbidden):
        calls.view(at(), OTHER, call_id)
    with pytest.raises(Forbidden):
        say(call_id, "debtor", "hello", "greet", staff=OTHER)
    assert calls.view(at(), SUPERVISOR, call_id)["agent"] == "ana"


def test_the_agent_speaking_of_the_debt_before_verification_is_warned_and_offered_nothing(desk_demo):
    call_id = start()
    greeting = say(call_id, "agent", "Hi, may I speak with Jordan Avery please?", "greet")
    assert greeting["warnings"] == [] and greeting["offers"] is None
    slip = say(call_id, "agent", "I'm calling about the $1,234.56 you owe Acme Mobile", "inform")
    assert slip["warnings"] == ["not_verified"]
    assert slip["warning_details"][0]["action"].startswith("Say nothing about the debt")
    assert "reference and your date of birth" in slip["suggestions"][0]
    assert slip["checklist"] == {"verified": False, "disclosure_given": False, "validation_notice": False}


def test_asking_for_payment_before_the_disclosure_is_a_slip_and_the_disclosure_is_detected(desk_demo):
    call_id = verified_call()
    ask = say(call_id, "agent", "So can you pay something today?", "inform")
    assert ask["warnings"] == ["no_disclosure"]
    disclosed = say(call_id, "agent", "Northgate Services is a debt collector. This is an attempt to collect a "
                                      "debt and any information obtained will be used for that purpose.", "inform")
    assert disclosed["warnings"] == [] and disclosed["checklist"]["disclosure_given"] is True
    assert say(call_id, "agent", "Can you pay something today?", "inform")["warnings"] == []


def test_the_debtors_words_raise_warnings_by_intent_and_by_phrase_and_stop_the_offers(desk_demo):
    call_id = verified_call()
    assert say(call_id, "debtor", "ok", "affirm")["offers"] is not None
    lawyer = say(call_id, "debtor", "I lost my job and my lawyer told me not to talk to you", "hardship")
    assert lawyer["warnings"] == ["hardship", "attorney"]
    assert lawyer["offers"] is None  # no more talk of the debt once an attorney is named
    assert "attorney" in [w["code"] for w in lawyer["warnings_raised"]]
    unsure = say(call_id, "debtor", "hmm whatever", "bankruptcy", confidence=0.3)
    assert unsure["warnings"] == []  # an unsure intent raises nothing on its own


def test_who_answered_carries_through_the_call_until_the_debtor_comes_to_the_phone(desk_demo):
    call_id = start()
    assert say(call_id, "debtor", "hello this is his wife", "inform")["warnings"] == ["wrong_person"]
    assert say(call_id, "debtor", "ok what do you need", "inform")["warnings"] == ["wrong_person"]  # still her
    assert say(call_id, "debtor", "hi, jordan here, who's this", "wrong_person")["warnings"] == []  # he came to it
    assert say(call_id, "debtor", "yeah go on", "affirm")["warnings"] == []

    lawyer = start()
    assert say(lawyer, "debtor", "this is dana fisk, i represent mr avery", "inform")["warnings"] == [
        "attorney", "wrong_person"]
    assert say(lawyer, "debtor", "thank you", "thank")["warnings"] == ["attorney", "wrong_person"]


def test_offers_follow_the_agents_tier_and_a_named_monthly_amount(desk_demo):
    call_id = verified_call()
    offers = say(call_id, "debtor", "what can you do for me", "request_settlement")["offers"]
    assert offers["tier"] == "agent" and offers["balance"] == "1234.56"
    assert offers["settlement_floor"] == offers["settlement_ladder"][-1]["amount"]
    assert offers["supervisor_floor"] is not None and "supervisor" in offers["needs_supervisor"]
    assert {plan["months"] for plan in offers["plans"]} == {24, 6}
    named = say(call_id, "debtor", "I could do about 80 a month", "request_payment_plan")["offers"]
    assert named["named"] == {"kind": "plan", "amount": "80.00", "within_authority": True}
    first = named["plans"][0]
    assert first["monthly"] == "80.00" and first["months"] == 16
    lump = say(call_id, "debtor", "would you take 300 to close it", "request_settlement")["offers"]
    assert lump["named"] == {"kind": "settlement", "amount": "300.00", "within_authority": False}


def test_verification_checks_the_account_and_a_wrong_answer_fails(desk_demo):
    call_id = start()
    wrong = calls.verify(at(locking=True), AGENT, call_id, "ACC-1001", "1 January 1970")
    other = calls.verify(at(locking=True), AGENT, call_id, "ACC-1002", "1979-11-30")
    assert not wrong["verified"] and not other["verified"] and "not this account" in other["message"]
    right = calls.verify(at(locking=True), AGENT, call_id, "ACC-1001", "12 March 1985")
    assert right["verified"] and right["call"]["checklist"]["verified"]


def test_a_settlement_within_the_tier_is_recorded_with_the_login_and_one_beyond_goes_for_approval(desk_demo):
    call_id = verified_call()
    offers = say(call_id, "debtor", "can I settle", "request_settlement")["offers"]
    floor = offers["settlement_floor"]
    below = calls.agree(at(locking=True), AGENT, call_id, {"kind": "settlement", "amount": "750.00"})
    assert below["result"] == "approval_requested" and below["problems"]
    recorded = calls.agree(at(locking=True), AGENT, call_id, {"kind": "settlement", "amount": floor})
    assert recorded["result"] == "recorded"
    [settlement] = account_json(desk_demo)["settlements"]
    assert (settlement["authorized_by"], settlement["authorized_actor"]) == ("agent", "ana")
    assert settlement["amount"] == floor


def test_nothing_is_agreed_before_verification(desk_demo):
    call_id = start()
    with pytest.raises(Invalid):
        calls.agree(at(locking=True), AGENT, call_id, {"kind": "pay_in_full"})
    assert account_json(desk_demo)["promises"] == []


def test_the_end_of_a_call_drafts_its_note_and_saves_it_and_nothing_more_is_said(desk_demo):
    call_id = verified_call()
    say(call_id, "debtor", "I lost my job last month", "hardship")
    say(call_id, "debtor", "could I pay 50 a month", "request_payment_plan")
    calls.agree(at(locking=True), AGENT, call_id, {"kind": "plan", "monthly": "60.00"})
    draft = calls.draft_summary(at(), AGENT, call_id)
    assert "hardship" in draft and "request payment plan" in draft
    assert "Warnings: hardship." in draft and "Agreed: Your payment plan: 20 monthly payments of $60.00" in draft
    ended = calls.end(at(), AGENT, call_id, "conversation", "agreement", draft + "\nCalls back Friday.")
    assert ended["ended_at"] and ended["outcome"] == "conversation"
    with SqlUnitOfWork() as uow:
        [note] = uow.session.scalars(select(StaffNote)).all()
        assert note.author == "ana" and note.text.endswith("Calls back Friday.")
    with pytest.raises(calls.CallEnded):
        say(call_id, "debtor", "one more thing", "inform")


def test_a_transcription_binds_its_call_sid_and_another_calls_events_are_refused(desk_demo):
    call_id = start()
    owner = calls.transcribed_call(at(), call_id, "CA" + "1" * 32)
    assert owner.staff == AGENT and owner.account_ref == "ACC-1001"
    calls.transcribed_call(at(), call_id, "CA" + "1" * 32)
    with pytest.raises(Forbidden):
        calls.transcribed_call(at(), call_id, "CA" + "2" * 32)


def test_a_repeated_transcription_event_is_recorded_once(desk_demo):
    call_id = start()
    first = calls.assist(at(), AGENT, call_id, "ACC-1001", "debtor", "hello?", calls.Reading("greet", SURE),
                         source="transcription", event_id="GT1:1")
    again = calls.assist(at(), AGENT, call_id, "ACC-1001", "debtor", "hello?", calls.Reading("greet", SURE),
                         source="transcription", event_id="GT1:1")
    assert "utterance" in first and again == {"call_id": str(call_id), "duplicate": True}
    assert len(calls.view(at(), AGENT, call_id)["utterances"]) == 1


def test_erasure_removes_what_was_said_on_calls_and_purge_deletes_it_after_the_retention(desk_demo):
    from bot.services import erasure

    call_id = start()
    say(call_id, "debtor", "my date of birth is march 12 1985 and I live on elm street", "inform")
    say(call_id, "debtor", "my lawyer handles this", "attorney")
    in_transaction(erasure.erase, "ACC-1001", "ops")
    view = calls.view(at(), SUPERVISOR, call_id)
    assert {u["text"] for u in view["utterances"]} == {erasure.ERASED} and view["phone"] == ""
    assert [u["warnings"] for u in view["utterances"]][1] == ["attorney"]  # how the law was kept stays
    other = int(calls.start(at(), AGENT, "ACC-1002", "+15551230002")["id"])
    calls.assist(at(), AGENT, other, "ACC-1002", "debtor", "hello", calls.Reading("greet", SURE))
    purged = in_transaction(erasure.purge, 30, "ops", now=NOON + timedelta(days=31))
    assert purged.call_utterances == 3
    assert calls.view(at(), SUPERVISOR, other)["utterances"] == []
