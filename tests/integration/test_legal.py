"""Legal escalation on a real database (both backends): the queue under the creditors' `legal_review` rules, a
supervisor's move to legal, the case bundle it writes, and the hold that follows."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import delete, select

from bot.domain.negotiation import PromiseTerms, plan_by_months
from bot.services import accounts, agreements, calls, cases, daily, identity, legal, sms
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage.db import engine_for
from bot.storage.orm import Account, AuditEvent, Creditor, Handoff, Payment
from tests.integration.conftest import DESK_STAFF
from tests.support.database import in_locking_transaction, in_transaction
from tests.unit.test_legal_bundle import pdf_text

AGENT, _OTHER, SUPERVISOR = DESK_STAFF
AGREED = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # noon in Chicago, 18:00 in London
BROKEN_ON = date(2026, 12, 20)  # the first instalment (due 2026-12-01) unpaid past the 10 days' grace
NOW = datetime(2027, 3, 1, 18, 0, tzinfo=UTC)  # 96 days after the plans were agreed
RULE = {"quiet_days": 60, "min_balance": "500.00"}
_WRITTEN: set[str] = set()  # the conversations this module wrote Rasa rows for: removed after each test


def at(moment: datetime = NOW, *, locking: bool = False) -> SqlUnitOfWork:
    return SqlUnitOfWork(locking=locking, clock=lambda: moment)


def set_rules(**rules: dict | None) -> None:
    """Each named creditor's legal_review rule (None: none); the others' policies as they are."""
    with SqlUnitOfWork() as uow:
        for creditor_id, rule in rules.items():
            creditor = uow.session.get(Creditor, creditor_id)
            assert creditor is not None
            policy = {key: value for key, value in creditor.policy.items() if key != "legal_review"}
            creditor.policy = {**policy, **({"legal_review": rule} if rule else {})}


def agree_plan(ref: str, conversation: str, months: int = 6, when: datetime = AGREED) -> None:
    with at(when) as uow:
        balance = accounts.statement_of(accounts.get(uow.session, ref)).balance
        currency = accounts.get(uow.session, ref).currency
    terms = plan_by_months(balance, months, date(2026, 12, 1), currency)
    in_locking_transaction(agreements.record, ref, terms, agreements.ASSISTANT, conversation, now=when)


def break_plans() -> None:
    daily.apply(at(AGREED), BROKEN_ON)


def conversation_id() -> str:
    return f"web-legal-{uuid.uuid4().hex[:10]}"


def rasa_events(db: str, conversation: str, events: list[tuple[str, str, datetime]]) -> None:
    """Rasa's own `events` rows (as its SQL tracker store writes them) for a conversation: (user|bot, text, at)."""
    from rasa.core.tracker_store import SQLTrackerStore

    SQLTrackerStore.Base.metadata.create_all(engine_for(db))
    table = SQLTrackerStore.SQLEvent.__table__
    _WRITTEN.add(conversation)
    with engine_for(db).begin() as connection:
        for kind, text, moment in events:
            stamp = moment.timestamp()
            connection.execute(table.insert().values(
                sender_id=conversation, type_name=kind, timestamp=stamp,
                intent_name="inform" if kind == "user" else None,
                data=json.dumps({"event": kind, "text": text, "timestamp": stamp})))


@pytest.fixture
def portfolio(desk_demo: str):
    """The demo portfolio, ACME with the rule (60 quiet days, 500.00 at least) and BRIGHTBANK without; a plan on
    each account, agreed on 2026-11-25 and broken on 2026-12-20. Rasa's rows of its conversations go afterwards."""
    set_rules(ACME=RULE, BRIGHTBANK=None)
    conversations = {ref: conversation_id() for ref in ("ACC-1001", "ACC-1002", "BB-77310")}
    for ref, conversation in conversations.items():
        agree_plan(ref, conversation)
    break_plans()
    yield conversations
    if _WRITTEN:  # Rasa's table is not ours: the `db` fixture leaves its rows
        from rasa.core.tracker_store import SQLTrackerStore

        table = SQLTrackerStore.SQLEvent.__table__
        with engine_for(desk_demo).begin() as connection:
            connection.execute(delete(table).where(table.c.sender_id.in_(sorted(_WRITTEN))))
        _WRITTEN.clear()


def queued(moment: datetime = NOW) -> dict[str, legal.Candidate]:
    return {c.account_ref: c for c in legal.queue(at(moment))}


# ---- the queue -------------------------------------------------------------------------------------------------

def test_the_queue_lists_a_long_silent_broken_account_over_the_minimum_and_says_why(portfolio):
    found = queued()
    # ACC-1002 owes 455.00, under ACME's 500.00; BRIGHTBANK has no legal_review rule.
    assert list(found) == ["ACC-1001"]
    candidate = found["ACC-1001"]
    assert (candidate.balance, candidate.currency, candidate.broken, candidate.broken_on, candidate.quiet_days) == (
        Decimal("1234.56"), "USD", "plan", BROKEN_ON, 96)
    assert candidate.why == ("plan broken 2026-12-20; no contact for 96 days (last 2026-11-25: plan agreed);"
                             " balance $1,234.56")
    assert candidate.as_json()["balance"] == "1234.56" and candidate.flags == ()


def test_the_rule_sets_the_quiet_days_and_the_minimum(portfolio):
    set_rules(ACME={"quiet_days": 100, "min_balance": "400.00"}, BRIGHTBANK={"quiet_days": 30, "min_balance": 0})
    assert set(queued()) == {"BB-77310"}  # ACME's accounts were last heard from 96 days ago
    assert set(queued(NOW + timedelta(days=4))) == {"ACC-1001", "ACC-1002", "BB-77310"}
    set_rules(ACME=None, BRIGHTBANK=None)
    assert queued() == {}


def test_nothing_is_queued_before_an_agreement_is_broken(desk_demo):
    set_rules(ACME=RULE)
    agree_plan("ACC-1001", conversation_id())
    assert queued() == {}  # the plan was never checked against its payments: it is still active


def test_a_conversation_on_a_call_is_contact_an_unanswered_call_is_not(portfolio):
    spoke = NOW - timedelta(days=10)
    call = calls.start(at(spoke), AGENT, "ACC-1001", "+15551230001")
    calls.set_outcome(at(spoke), AGENT, int(call["id"]), "no_answer")
    assert "ACC-1001" in queued()
    call = calls.start(at(spoke + timedelta(minutes=5)), AGENT, "ACC-1001", "+15551230001")
    calls.set_outcome(at(spoke + timedelta(minutes=5)), AGENT, int(call["id"]), "conversation")
    assert "ACC-1001" not in queued()
    assert "ACC-1001" in queued(spoke + timedelta(days=60, minutes=10))


def test_a_debtors_message_in_any_of_the_accounts_conversations_is_contact(portfolio, desk_demo):
    texting = in_transaction(sms.conversation_for, "+15551230001")  # the debtor's phone: no audit names it
    rasa_events(desk_demo, texting, [("bot", "Hello from Northgate", NOW - timedelta(days=20, minutes=1)),
                                     ("user", "I can't pay right now", NOW - timedelta(days=20))])
    assert "ACC-1001" not in queued()
    assert "ACC-1001" in queued(NOW + timedelta(days=41))
    # Only the debtor's messages count: what the assistant said later does not.
    rasa_events(desk_demo, texting, [("bot", "Are you still there?", NOW + timedelta(days=30))])
    assert "ACC-1001" in queued(NOW + timedelta(days=41))


def test_the_audit_log_keeps_contact_after_the_texts_are_purged(portfolio):
    in_locking_transaction(identity.verify, "ACC-1001", "12/03/1985", conversation_id=conversation_id(),
                           channel="socketio", now=NOW - timedelta(days=5))
    assert "ACC-1001" not in queued()


def test_an_agreement_in_force_keeps_the_account_out(portfolio):
    in_locking_transaction(agreements.record, "ACC-1001", PromiseTerms(Decimal("100.00"), date(2027, 1, 10)),
                           agreements.ASSISTANT, conversation_id(), now=datetime(2026, 12, 28, 18, tzinfo=UTC))
    assert "ACC-1001" not in queued()  # the promise was never checked: pending, so in force
    daily.apply(at(datetime(2027, 1, 20, 18, tzinfo=UTC)), date(2027, 1, 20))  # not kept: broken
    assert queued()["ACC-1001"].why.startswith("promise broken 2027-01-20; no contact for 63 days")


@pytest.mark.parametrize(("flag", "listed"), [("cease", "cease requested"), ("attorney", "represented by an attorney"),
                                              ("bankruptcy", None)])
def test_a_cease_or_an_attorney_may_go_to_legal_a_bankruptcy_may_not(portfolio, flag, listed):
    in_transaction(cases.raise_flag, "ACC-1001", flag, None, actor=SUPERVISOR.login,
                   now=datetime(2026, 12, 28, 18, tzinfo=UTC))  # a person's note of a letter: not contact
    found = queued()
    if listed is None:
        assert "ACC-1001" not in found
        with pytest.raises(legal.LegalError, match="automatic stay"):
            legal.move_to_legal(at(locking=True), "ACC-1001", SUPERVISOR)
    else:
        assert found["ACC-1001"].why.endswith(f"; {listed}") and found["ACC-1001"].flags == (flag,)


@pytest.mark.parametrize("case", ["dispute", "death"])
def test_a_dispute_or_a_reported_death_keeps_the_account_out(portfolio, case):
    letter = datetime(2026, 12, 28, 18, tzinfo=UTC)
    if case == "dispute":
        in_transaction(cases.open_dispute, "ACC-1001", "wrong_amount", "", None, actor=SUPERVISOR.login, now=letter)
    else:
        in_transaction(cases.report_death, "ACC-1001", conversation_id(), "the estate's solicitor", False, now=letter)
    assert "ACC-1001" not in queued()
    with pytest.raises(legal.LegalError, match="open dispute" if case == "dispute" else "death was reported"):
        legal.move_to_legal(at(locking=True), "ACC-1001", SUPERVISOR)


# ---- the move ----------------------------------------------------------------------------------------------------

def test_a_supervisor_moves_an_account_to_legal_with_its_case_bundle(portfolio, desk_demo, tmp_path):
    chat = portfolio["ACC-1001"]  # the plan's conversation
    rasa_events(desk_demo, chat, [
        ("bot", "What is your date of birth?", AGREED - timedelta(minutes=9)),
        ("user", "12/03/1985", AGREED - timedelta(minutes=8)),  # as if the store had not withheld it
        ("bot", "Thank you. How can I help?", AGREED - timedelta(minutes=7, seconds=30)),
        ("user", "I will pay <font size=100>never</font> <a href='http://evil.example'>click</a>",
         AGREED - timedelta(minutes=7)),
        ("bot", "Thanks, I have set up your plan.", AGREED - timedelta(minutes=6)),
    ])
    with SqlUnitOfWork() as uow:
        account = accounts.get(uow.session, "ACC-1001")
        uow.session.add(Payment(reference="PAY-LEGAL-1", account_id=account.id, amount_minor=5000,
                                paid_on=date(2026, 12, 1), source="csv", status="matched", applied=True))
    moved = legal.move_to_legal(at(locking=True), "acc-1001", SUPERVISOR, note="Letters returned.",
                                directory=tmp_path)

    assert (moved.account_ref, moved.was, moved.queued, moved.moved_by) == ("ACC-1001", "open", True, "sue")
    assert moved.json_path == tmp_path / "ACC-1001-2027-03-01.json"
    assert moved.pdf_path == tmp_path / "ACC-1001-2027-03-01.pdf"
    assert moved.why.startswith("plan broken 2026-12-20; no contact for 96 days")
    with SqlUnitOfWork() as uow:
        account = accounts.get(uow.session, "ACC-1001")
        assert account.status == "legal"
        hold = cases.hold_of(account)
        assert hold is not None and hold.status == "legal"
        [event] = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "account_legal")).all()
        assert (event.actor, event.account_id) == ("sue", account.id)
        assert event.details | {"files": None} == {"why": moved.why, "note": "Letters returned.", "was": "open",
                                                   "queued": True, "files": None}
    assert "ACC-1001" not in queued()

    bundle = json.loads(moved.json_path.read_text(encoding="utf-8"))
    assert (bundle["account_ref"], bundle["balance"], bundle["moved_by"]) == ("ACC-1001", "1234.56", "sue")
    assert bundle["account"]["status"] == "legal"
    assert [(a["kind"], a["status"], a["ended_on"]) for a in bundle["agreements"]] == [("plan", "broken",
                                                                                       "2026-12-20")]
    assert [(p["reference"], p["amount"]) for p in bundle["payments"]] == [("PAY-LEGAL-1", "50.00")]
    assert "account_legal" in [e["action"] for e in bundle["audit_log"]]
    [chat_transcript] = [t for t in bundle["transcripts"] if t["conversation_id"] == chat]
    said = [line["text"] for line in chat_transcript["lines"]]
    assert "[date of birth withheld]" in said and "12/03/1985" not in json.dumps(bundle)
    assert any("<font size=100>never</font>" in text for text in said)

    pdf = moved.pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert "ACC-1001" in text and "Letters returned." in text
    assert "I will pay <font size=100>never</font> <a href='http://evil.example'>click</a>" in text
    assert "12/03/1985" not in text and "[date of birth withheld]" in text
    assert b"/URI" not in pdf  # the debtor's link is text, not a link


def test_only_a_supervisor_moves_an_account_and_never_twice(portfolio, tmp_path):
    with pytest.raises(legal.NotSupervisor):
        legal.move_to_legal(at(locking=True), "ACC-1001", AGENT, directory=tmp_path)
    with pytest.raises(legal.UnknownAccount):
        legal.move_to_legal(at(locking=True), "ACC-9999", SUPERVISOR, directory=tmp_path)
    assert list(tmp_path.iterdir()) == []
    legal.move_to_legal(at(locking=True), "ACC-1001", SUPERVISOR, directory=tmp_path)
    with pytest.raises(legal.LegalError, match="already with legal"):
        legal.move_to_legal(at(locking=True), "ACC-1001", SUPERVISOR, directory=tmp_path)
    with SqlUnitOfWork() as uow:
        uow.session.scalars(select(Account).where(Account.account_ref == "ACC-1002")).one().status = "paid"
    with pytest.raises(legal.LegalError, match="paid"):
        legal.move_to_legal(at(locking=True), "ACC-1002", SUPERVISOR, directory=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ACC-1001-2027-03-01.json", "ACC-1001-2027-03-01.pdf"]


def test_a_supervisor_may_move_an_account_the_queue_does_not_list_and_the_audit_says_so(portfolio, tmp_path):
    moved = legal.move_to_legal(at(locking=True), "ACC-1002", SUPERVISOR, directory=tmp_path)
    assert moved.queued is False
    assert moved.why.endswith("moved on a supervisor's judgement, not queued: balance under the rule's $500.00")


def test_the_command_lines_person_is_a_supervisor_and_a_named_login_has_its_role(portfolio):
    assert legal.staff_for(at(), None).is_supervisor
    assert legal.staff_for(at(), "sue") == SUPERVISOR and legal.staff_for(at(), "ana") == AGENT
    with pytest.raises(legal.NotSupervisor):
        legal.staff_for(at(), "nobody")


def test_nothing_changes_when_the_bundle_cannot_be_written(portfolio, tmp_path, monkeypatch):
    def fail(data: dict, out: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(legal, "bundle_pdf", fail)
    with pytest.raises(OSError):
        legal.move_to_legal(at(locking=True), "ACC-1001", SUPERVISOR, directory=tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert "ACC-1001" in queued()


# ---- the hold ----------------------------------------------------------------------------------------------------

def test_a_legal_account_takes_no_agreement_and_no_contact(portfolio, tmp_path):
    legal.move_to_legal(at(locking=True), "ACC-1001", SUPERVISOR, directory=tmp_path)
    with pytest.raises(agreements.CollectionPaused):
        in_locking_transaction(agreements.record, "ACC-1001", PromiseTerms(Decimal("100.00"), date(2027, 3, 10)),
                               agreements.ASSISTANT, conversation_id(), now=NOW)
    with pytest.raises(calls.CallRefused) as refused:
        calls.start(at(), AGENT, "ACC-1001", "+15551230001")
    assert refused.value.rule == "paused"


def test_a_flag_or_a_dispute_raised_later_leaves_the_account_with_legal(portfolio, tmp_path):
    """Needs `cases.refresh_status` to leave a legal account's status alone, as it does a finished one's."""
    legal.move_to_legal(at(locking=True), "ACC-1001", SUPERVISOR, directory=tmp_path)
    in_transaction(cases.raise_flag, "ACC-1001", "attorney", None, now=NOW)
    in_transaction(cases.open_dispute, "ACC-1001", "wrong_amount", "", None, now=NOW)
    with SqlUnitOfWork() as uow:
        assert accounts.get(uow.session, "ACC-1001").status == "legal"


async def test_the_debtor_who_writes_on_a_legal_account_gets_a_person_not_a_promise(portfolio, tmp_path):
    from actions.account import ActionAnswerAccountRequest
    from tests.integration.test_actions import DOMAIN, tracker

    legal.move_to_legal(at(locking=True), "ACC-1001", SUPERVISOR, directory=tmp_path)
    asked = tracker("what do I owe?", "ask_balance", verified=True, account_ref="ACC-1001")
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerAccountRequest().run(dispatcher, asked, DOMAIN)

    said = [m.get("response") for m in dispatcher.messages]
    assert said[-1] == "utter_with_legal_team" and "utter_options" not in said
    assert {"event": "pause", "timestamp": None} in events  # the assistant falls silent: a person answers
    with SqlUnitOfWork() as uow:
        [handoff] = uow.session.scalars(select(Handoff).where(Handoff.conversation_id == asked.sender_id)).all()
        account = accounts.get(uow.session, "ACC-1001")
        assert (handoff.reason, handoff.status, handoff.account_id) == ("legal", "open", account.id)
