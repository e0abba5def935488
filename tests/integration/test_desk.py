"""The collector's desk on a real database (both backends): the queue, taking, what a person may write, agreements
at the person's tier, approvals, and handing back."""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.domain.console import Staff
from bot.services import desk, handoffs, identity, sms
from bot.services.unit_of_work import SqlUnitOfWork
from tests.integration.conftest import DESK_STAFF
from tests.support.database import account_json, in_locking_transaction, in_transaction

TODAY = date(2026, 11, 23)
NOON = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # noon in Chicago, where ACC-1001's debtor lives
NIGHT = datetime(2026, 11, 26, 4, 30, tzinfo=UTC)  # 22:30 in Chicago
AGENT, OTHER, SUPERVISOR = DESK_STAFF
WEB = "web-conversation-1"


def escalate(conversation_id: str = WEB, reason: str = "request_human", ref: str | None = "ACC-1001",
             verified: bool = True, at: datetime = NOON) -> int:
    if verified:
        in_locking_transaction(identity.verify, ref, "12/03/1985", conversation_id=conversation_id,
                               channel="socketio", now=at - timedelta(minutes=2))
    return in_transaction(handoffs.open_handoff, conversation_id, reason, ref if verified else None, now=at)


def at(moment: datetime = NOON, *, locking: bool = False) -> SqlUnitOfWork:
    return SqlUnitOfWork(locking=locking, clock=lambda: moment)


def test_the_queue_lists_open_handoffs_oldest_first_with_what_an_agent_needs(desk_demo):
    first = escalate("web-a", at=NOON - timedelta(minutes=9))
    second = escalate("web-b", verified=False, at=NOON)
    queue = handoffs.queue(at())
    assert [item["id"] for item in queue] == [first, second]
    verified, unverified = queue
    assert verified | {"created_at": None} == verified | {
        "reason": "request_human", "channel": "socketio", "status": "open", "verified": True,
        "verified_by": "reference and date of birth", "account_ref": "ACC-1001", "balance": "1234.56",
        "currency": "USD", "holds": [], "created_at": None}
    assert unverified["verified"] is False and unverified["account_ref"] is None


def test_an_sms_handoff_says_how_the_debtor_was_verified_and_that_the_number_opted_out(desk_demo):
    conversation = in_transaction(sms.conversation_for, "+15551230001")
    in_locking_transaction(identity.verify, "ACC-1001", "12/03/1985", conversation_id=conversation,
                           channel="twilio", now=NOON)
    in_transaction(sms.set_opt_out, "+15551230001", True, conversation)
    in_transaction(handoffs.open_handoff, conversation, "complain", "ACC-1001", now=NOON)
    [item] = handoffs.queue(at())
    assert (item["channel"], item["verified_by"]) == ("twilio", "phone and date of birth or postcode")
    assert "sms_opt_out" in item["holds"]
    with pytest.raises(desk.MessageRefused) as refused:
        handoffs.take(at(), item["id"], AGENT.login)
        desk.check_message(at(), item["id"], AGENT, "Hello")
    assert refused.value.rule == "sms_opt_out"


def test_taking_is_atomic_and_a_second_agent_is_told_who_has_it(desk_demo):
    handoff = escalate()
    results: list[object] = []
    barrier = threading.Barrier(2)

    def take(staff: Staff) -> None:
        barrier.wait()
        try:
            results.append(handoffs.take(at(), handoff, staff.login)["assigned_to"])
        except handoffs.AlreadyTaken as taken:
            results.append(taken)

    threads = [threading.Thread(target=take, args=(s,)) for s in (AGENT, OTHER)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if isinstance(r, str)]
    [refusal] = [r for r in results if isinstance(r, handoffs.AlreadyTaken)]
    assert len(winners) == 1 and refusal.by == winners[0] and f"{winners[0]} has already taken" in str(refusal)
    assert account_json(desk_demo)["handoffs"][0] | {"created_at": None, "closed_at": None} == {
        "reason": "request_human", "status": "assigned", "assigned_to": winners[0], "disposition": None,
        "conversation_id": WEB, "created_at": None, "closed_at": None}
    assert handoffs.take(at(), handoff, winners[0])["assigned_to"] == winners[0]  # taking one's own again


def test_an_agent_cannot_open_or_act_in_another_agents_conversation_but_a_supervisor_can(desk_demo):
    handoff = escalate()
    handoffs.take(at(), handoff, AGENT.login)
    with pytest.raises(desk.Forbidden):
        desk.panel(at(), handoff, OTHER)
    with pytest.raises(desk.Forbidden):
        desk.check_message(at(), handoff, OTHER, "hello")
    assert desk.panel(at(), handoff, SUPERVISOR)["handoff"]["assigned_to"] == AGENT.login
    with pytest.raises(desk.Forbidden):
        handoffs_assign_as(OTHER, handoff)
    assert handoffs.assign(at(), handoff, SUPERVISOR.login, OTHER.login)["assigned_to"] == OTHER.login


def handoffs_assign_as(staff: Staff, handoff: int) -> None:
    """The console's rule: only supervisors reassign (checked by the desk before `handoffs.assign`)."""
    desk._supervisor(staff)


def test_nothing_about_the_debt_goes_to_an_unverified_person(desk_demo):
    handoff = in_transaction(handoffs.open_handoff, WEB, "request_human", "ACC-1001", now=NOON)
    handoffs.take(at(), handoff, AGENT.login)
    for text in ("You owe $1,234.56", "The balance is 1234.56", "This is about your Acme Mobile account",
                 "Acme Telecom Ltd asked us to contact you", "It's about 1234 dollars", "your debt"):
        with pytest.raises(desk.MessageRefused) as refused:
            desk.check_message(at(), handoff, AGENT, text)
        assert refused.value.rule == "not_verified", text
    assert desk.check_message(at(), handoff, AGENT, "Could you tell me your reference and date of birth?").channel \
        == "socketio"
    compose = desk.panel(at(), handoff, AGENT)["compose"]
    assert compose["allowed"] and compose["verified"] is False
    assert "agent_message_refused" in [e["action"] for e in desk.panel(at(), handoff, AGENT)["audit"]]


def test_a_verified_debtor_may_hear_the_balance_but_not_after_an_attorney_or_a_cease(desk_demo):
    from bot.services import cases

    handoff = escalate()
    handoffs.take(at(), handoff, AGENT.login)
    assert desk.check_message(at(), handoff, AGENT, "Your balance is $1,234.56").conversation_id == WEB
    in_transaction(cases.raise_flag, "ACC-1001", "cease", WEB)
    with pytest.raises(desk.MessageRefused) as refused:
        desk.check_message(at(), handoff, AGENT, "Hello again")
    assert refused.value.rule == "cease"
    panel = desk.panel(at(), handoff, AGENT)
    assert desk.check_message(at(), handoff, AGENT, panel["cease_confirmation"])  # its confirmation only
    in_transaction(cases.raise_flag, "ACC-1001", "attorney", WEB)
    with pytest.raises(desk.MessageRefused) as refused:
        desk.check_message(at(), handoff, AGENT, panel["cease_confirmation"])
    assert refused.value.rule == "attorney"
    assert desk.panel(at(), handoff, AGENT)["compose"]["allowed"] is False


def test_no_text_outside_the_debtors_hours(desk_demo):
    conversation = in_transaction(sms.conversation_for, "+15551230001")
    in_locking_transaction(identity.verify, "ACC-1001", "12/03/1985", conversation_id=conversation,
                           channel="twilio", now=NOON)
    handoff = in_transaction(handoffs.open_handoff, conversation, "request_human", "ACC-1001", now=NOON)
    handoffs.take(at(), handoff, AGENT.login)
    assert desk.check_message(at(NOON), handoff, AGENT, "Hello").channel == "twilio"
    with pytest.raises(desk.MessageRefused) as refused:
        desk.check_message(at(NIGHT), handoff, AGENT, "Hello")
    assert refused.value.rule == "outside_hours"
    contact = desk.panel(at(NIGHT), handoff, AGENT)["contact"]
    assert contact["sms_allowed_now"] is False and contact["local_time"].startswith("2026-11-25T22:30")
    assert contact["sms_rule"] == "outside 08:00-21:00 in the debtor's zone (it is 22:30 there)"


def test_the_panel_shows_this_persons_authority_and_what_needs_a_supervisor(desk_demo):
    handoff = escalate()
    handoffs.take(at(), handoff, AGENT.login)
    panel = desk.panel(at(), handoff, AGENT)
    assert panel["authority"]["tier"] == "agent" and panel["authority_above"]["tier"] == "supervisor"
    assert panel["authority"]["settlement_floor"] == "802.47"  # 35% off 1234.56, rounded up
    assert panel["authority"]["settlement_ladder"][-1] == {"discount_pct": "35", "amount": "802.47"}
    assert panel["authority"]["max_plan_months"] == 24 and panel["authority_above"]["settlement_floor"] == "617.28"
    assert panel["account"]["account_ref"] == "ACC-1001" and panel["handoff"]["verified"] is True
    assert desk.panel(at(), handoff, SUPERVISOR)["authority_above"] is None


def test_terms_within_the_agents_tier_are_offered_and_recorded_on_the_debtors_yes(desk_demo):
    handoff = escalate()
    handoffs.take(at(), handoff, AGENT.login)
    offer = desk.agree(at(locking=True), handoff, AGENT, {"kind": "plan", "months": "20", "first_due": "2026-12-01"})
    assert isinstance(offer, desk.Offer) and offer.buttons == [
        {"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
    assert "19 monthly payments of $61.72" in offer.text and offer.text.endswith("Do you agree to this?")
    assert account_json(desk_demo)["plans"] == []  # nothing until the debtor says yes
    assert desk.debtor_answered(at(locking=True), WEB, "greet") is None
    answered = desk.debtor_answered(at(locking=True), WEB, "affirm")
    assert answered is not None and answered.recorded and answered.text.startswith("Your payment plan")
    [plan] = account_json(desk_demo)["plans"]
    assert (plan["authorized_by"], plan["authorized_actor"], plan["requested_by"]) == ("agent", "ana", None)
    assert len(plan["installments"]) == 20
    assert desk.debtor_answered(at(locking=True), WEB, "affirm") is None  # answered once


def test_the_tier_comes_from_the_login_never_from_the_form(desk_demo):
    handoff = escalate()
    handoffs.take(at(), handoff, AGENT.login)
    form = {"kind": "settlement", "amount": "700.00", "pay_by": "2026-12-01", "tier": "supervisor",
            "authorized_by": "supervisor"}
    outcome = desk.agree(at(locking=True), handoff, AGENT, form, note="She can borrow 700 from family",
                         agreed_by_phone=True)
    assert isinstance(outcome, desk.ApprovalRequested)
    assert account_json(desk_demo)["settlements"] == []


def test_beyond_the_agents_tier_waits_for_a_supervisor_who_approves_it(desk_demo):
    handoff = escalate()
    handoffs.take(at(), handoff, AGENT.login)
    requested = desk.agree(at(locking=True), handoff, AGENT,
                           {"kind": "settlement", "amount": "700.00", "pay_by": "2026-12-01"}, note="family loan")
    assert isinstance(requested, desk.ApprovalRequested) and requested.problems
    with pytest.raises(desk.Forbidden):
        desk.approvals(at(), AGENT)
    with pytest.raises(desk.Forbidden):
        desk.approve(at(locking=True), requested.approval_id, AGENT)
    [pending] = desk.approvals(at(), SUPERVISOR)
    assert (pending["requested_by"], pending["note"], pending["kind"]) == ("ana", "family loan", "settlement")
    desk.approve(at(locking=True), requested.approval_id, SUPERVISOR, "ok")
    [settlement] = account_json(desk_demo)["settlements"]
    assert (settlement["authorized_by"], settlement["authorized_actor"], settlement["requested_by"]) == (
        "supervisor", "sue", "ana")
    assert desk.approvals(at(), SUPERVISOR) == []
    with pytest.raises(desk.DeskError):
        desk.reject(at(), requested.approval_id, SUPERVISOR, "too late")


def test_a_rejection_says_why_and_records_nothing(desk_demo):
    handoff = escalate()
    handoffs.take(at(), handoff, AGENT.login)
    requested = desk.agree(at(locking=True), handoff, AGENT,
                           {"kind": "settlement", "amount": "700.00", "pay_by": "2026-12-01"})
    rejected = desk.reject(at(), requested.approval_id, SUPERVISOR, "Offer 803 first")
    assert (rejected["status"], rejected["decision_note"]) == ("rejected", "Offer 803 first")
    assert account_json(desk_demo)["settlements"] == []


def test_terms_beyond_every_tier_or_malformed_are_refused_with_the_reason(desk_demo):
    handoff = escalate()
    handoffs.take(at(), handoff, AGENT.login)
    for form, words in [({"kind": "settlement", "amount": "100.00", "pay_by": "2026-12-01"}, "discount"),
                        ({"kind": "plan", "months": "nine"}, "whole number"),
                        ({"kind": "promise", "amount": "-5", "pay_on": "2026-12-01"}, "amount"),
                        ({"kind": "promise", "amount": "1e9", "pay_on": "2026-12-01"}, "amount"),
                        ({"kind": "loan"}, "kind")]:
        with pytest.raises(desk.Invalid) as refused:
            desk.agree(at(locking=True), handoff, AGENT, form, agreed_by_phone=True)
        assert words in str(refused.value), form


def test_a_disputed_account_takes_no_agreement_from_the_console(desk_demo):
    from bot.services import cases

    handoff = escalate()
    handoffs.take(at(), handoff, AGENT.login)
    in_transaction(cases.open_dispute, "ACC-1001", "not_mine", "", WEB)
    with pytest.raises(desk.Paused):
        desk.agree(at(locking=True), handoff, AGENT, {"kind": "pay_in_full", "pay_on": "2026-12-01"},
                   agreed_by_phone=True)
    assert desk.panel(at(), handoff, AGENT)["handoff"]["holds"] == ["dispute"]


def test_hand_back_closes_with_a_disposition_and_a_callback_puts_it_back_in_the_queue(desk_demo):
    handoff = escalate()
    handoffs.take(at(), handoff, AGENT.login)
    with pytest.raises(desk.Invalid):
        desk.hand_back(at(), handoff, AGENT, "callback")  # a callback needs its time
    back = desk.hand_back(at(), handoff, AGENT, "callback", "call after payday", NOON + timedelta(hours=3))
    assert (back.conversation_id, back.channel) == (WEB, "socketio") and "automated assistant" in back.text
    [closed] = account_json(desk_demo)["handoffs"]
    assert (closed["status"], closed["disposition"]) == ("closed", "callback")
    assert handoffs.queue(at()) == []
    assert handoffs.reopen_due_callbacks(at(NOON + timedelta(hours=2))) == []
    [again] = handoffs.reopen_due_callbacks(at(NOON + timedelta(hours=3, minutes=1)))
    assert [(i["id"], i["reason"]) for i in handoffs.queue(at())] == [(again, "callback")]
    assert handoffs.reopen_due_callbacks(at(NOON + timedelta(hours=4))) == []  # once


def test_notes_are_kept_for_staff(desk_demo):
    handoff = escalate()
    handoffs.take(at(), handoff, AGENT.login)
    desk.add_note(at(), handoff, AGENT, "Prefers texts after 6pm")
    with pytest.raises(desk.Invalid):
        desk.add_note(at(), handoff, AGENT, " ")
    assert [n["text"] for n in desk.panel(at(), handoff, SUPERVISOR)["notes"]] == ["Prefers texts after 6pm"]


def test_only_a_supervisor_resolves_a_dispute_from_the_console(desk_demo):
    from bot.services import cases

    record = in_transaction(cases.open_dispute, "ACC-1001", "already_paid", "receipt", WEB)
    with pytest.raises(desk.Forbidden):
        desk.resolve_dispute(at(), record.reference, "rejected", AGENT)
    assert desk.resolve_dispute(at(), record.reference, "rejected", SUPERVISOR, "no payment found")["status"] \
        == "open"
    assert account_json(desk_demo)["disputes"][0]["status"] == "rejected"
