"""Issue 10, cases and races: reported deaths, concurrent agreements and reminder runs, dispute references,
nothing half-written and no internal refusal text shown to a debtor. Attacks as the issue describes them.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.cases import ActionRecordCase
from actions.negotiation import ActionConfirmTerms
from bot import cli
from bot.cli import DEMO
from bot.config import PROJECT_ROOT
from bot.domain.compliance import ContactSituation, may_contact, rule_set
from bot.domain.negotiation import (
    PlanTerms,
    SettlementTerms,
    plan_by_months,
    terms_to_dict,
)
from bot.services import accounts, agreements, audit, cases, imports, negotiation, reminders
from bot.services.contact import outbound_verdict
from bot.storage.db import RunLocked, run_lock, unit_of_work
from bot.storage.orm import AuditEvent, Handoff, Plan, RunLock
from tests.integration.test_actions import DOMAIN, SLOTS
from tests.integration.test_remind import running_standin, standin  # noqa: F401 (fixtures)
from tests.support.database import in_locking_transaction, in_transaction, noon_utc, run_cli

TODAY = date(2026, 11, 23)
DAYTIME = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 09:00 in Chicago
BALANCE = Decimal("1234.56")  # ACC-1001's
POLICY_NUMBERS = ("20", "12", "25")  # the bot tier's max discount %, max plan months, min instalment


@pytest.fixture
def demo(db):
    in_transaction(imports.import_policies, DEMO / "policies.yml")
    in_transaction(imports.import_accounts, DEMO / "accounts.csv", TODAY)
    return db


def tracker(text="", intent="inform", sender="conv-1", **slots) -> Tracker:
    return Tracker(
        sender_id=sender, slots={**SLOTS, **slots},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": []},
        events=[], paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen",
    )


def state(ref: str = "ACC-1001") -> dict:
    with unit_of_work() as session:
        return accounts.view(session, accounts.get(session, ref))


def audit_of(ref: str = "ACC-1001") -> list[AuditEvent]:
    with unit_of_work() as session:
        return audit.events_for(session, accounts.get(session, ref))


def rendered(messages: list[dict]) -> str:
    """What the debtor reads: each dispatched response's text with its variables filled in."""
    texts = []
    for message in messages:
        if message.get("response"):
            template = DOMAIN["responses"][message["response"]][-1]["text"]
            texts.append(template.format_map({**SLOTS, **message}))
        texts.append(message.get("text") or "")
    return " ".join(texts)


def may_text(ref: str = "ACC-1001") -> tuple[bool, str]:
    with unit_of_work() as session:
        account = accounts.get(session, ref)
        phone = next(c.value for c in account.debtor.contact_points if c.kind == "phone")
        verdict = outbound_verdict(session, account, "sms", phone, DAYTIME)
        return verdict.allowed, verdict.reason


# ---- 1. a death reported by someone we cannot take at their word ---------------------------------------------

async def test_an_unverified_death_report_only_pauses_collection_until_a_person_confirms(demo, capsys):
    dispatcher = CollectingDispatcher()
    events = await ActionRecordCase().run(dispatcher, tracker(
        "he passed away, account ACC-1001", intent="deceased", case_topic="deceased",
        case_details="he passed away, account ACC-1001"), DOMAIN)
    assert [m["response"] for m in dispatcher.messages] == ["utter_deceased_recorded"]
    assert "1234" not in rendered(dispatcher.messages) and "Acme" not in rendered(dispatcher.messages)
    assert {"event": "pause", "timestamp": None} in events
    view = state()
    assert view["flags"]["deceased"] is False and view["flags"]["deceased_reported"] is True
    assert view["status"] == "ceased"  # paused: nothing that reads only the status collects
    assert [(h["reason"], h["status"]) for h in view["handoffs"]] == [("deceased", "open")]
    assert may_text() == (False, "collection paused: deceased_reported")  # no reminders
    assert in_transaction(cases.hold_on, "ACC-1001") is not None
    with pytest.raises(agreements.CollectionPaused):
        in_locking_transaction(
            agreements.record, "ACC-1001", plan_by_months(BALANCE, 6, TODAY + timedelta(days=7), "USD"),
            agreements.ASSISTANT, "conv-2", now=noon_utc(TODAY))
    # a person confirms, on the command line, and is in the audit log
    assert cli.main(["death-report", "acc-1001", "confirm", "--actor", "sup1", "--note", "certificate seen"]) == 0
    assert "the account is now ceased" in capsys.readouterr().out
    view = state()
    assert view["flags"]["deceased"] is True and view["flags"]["deceased_reported"] is False
    confirmed = [e for e in audit_of() if e.action == "death_confirmed"]
    assert [(e.actor, e.details["note"]) for e in confirmed] == [("sup1", "certificate seen")]


async def test_a_rejected_report_resumes_collection_as_it_was(demo, capsys):
    in_locking_transaction(agreements.record, "ACC-1001", plan_by_months(BALANCE, 6, TODAY + timedelta(days=7), "USD"),
                      agreements.ASSISTANT, "conv-0", now=noon_utc(TODAY))
    await ActionRecordCase().run(CollectingDispatcher(), tracker(
        case_topic="deceased", case_details="my brother died, ref ACC-1001"), DOMAIN)
    assert state()["status"] == "ceased"
    assert cli.main(["death-report", "ACC-1001", "reject", "--actor", "sup1", "--note", "spoke to Jordan"]) == 0
    view = state()
    assert view["status"] == "plan_active" and not view["flags"]["deceased_reported"]
    assert not view["flags"]["deceased"]
    assert [e.actor for e in audit_of() if e.action == "death_report_rejected"] == ["sup1"]
    assert cli.main(["death-report", "ACC-1001", "reject", "--actor", "sup1"]) == cli.EXIT_REJECTED  # nothing left
    assert "no reported death awaiting a decision" in capsys.readouterr().err
    assert cli.main(["death-report", "NOPE-1", "confirm", "--actor", "sup1"]) == cli.EXIT_UNKNOWN


async def test_a_verified_persons_report_also_waits_for_a_person(demo):
    dispatcher = CollectingDispatcher()
    events = await ActionRecordCase().run(dispatcher, tracker(
        verified=True, account_ref="ACC-1001", case_topic="deceased", case_details="executor: Ann Lee"), DOMAIN)
    assert {"event": "slot", "timestamp": None, "name": "verified", "value": False} in events
    view = state()
    assert view["flags"]["deceased_reported"] is True and view["flags"]["deceased"] is False
    [reported] = [e for e in audit_of() if e.action == "death_reported"]
    assert reported.details["reporter_verified"] is True and reported.details["estate_contact"] == "executor: Ann Lee"


async def test_an_unknown_reference_is_answered_the_same_and_flags_nothing(demo):
    dispatcher = CollectingDispatcher()
    await ActionRecordCase().run(dispatcher, tracker(case_topic="deceased", case_details="ref ZZ-99999"), DOMAIN)
    assert [m["response"] for m in dispatcher.messages] == ["utter_deceased_recorded"]
    assert not state()["flags"]["deceased_reported"]


def test_only_a_person_decides_and_the_assistant_cannot_set_deceased(demo):
    with pytest.raises(ValueError):
        in_transaction(cases.raise_flag, "ACC-1001", "deceased", "conv-1")
    with pytest.raises(ValueError):
        in_transaction(cases.decide_death_report, "ACC-1001", "confirm", audit.ASSISTANT)
    assert not state()["flags"]["deceased"]


def test_the_contact_rules_pause_on_a_reported_death():
    situation = ContactSituation(channel="sms", debtor_timezone="America/Chicago", account_status="open",
                                 flags=frozenset({"deceased_reported"}), opted_out_channels=frozenset())
    assert may_contact(situation, DAYTIME, rule_set()).reason == "collection paused: deceased_reported"


# ---- 2. no double agreements ----------------------------------------------------------------------------------

def _slow_between_read_and_write(monkeypatch) -> None:
    """Widen the window between reading what is in force and writing the new agreement, so a race without
    the lock is certain rather than likely."""
    row_for = agreements._row_for

    def slow(*args, **kwargs):
        time.sleep(0.3)
        return row_for(*args, **kwargs)

    monkeypatch.setattr(agreements, "_row_for", slow)


def test_two_confirmations_at_once_leave_exactly_one_agreement_in_force(demo, monkeypatch):
    _slow_between_read_and_write(monkeypatch)
    first_due = TODAY + timedelta(days=7)
    for round_ in range(3):
        offers = [plan_by_months(BALANCE, 6, first_due, "USD"), plan_by_months(BALANCE, 3 + round_, first_due, "USD")]
        barrier, errors = threading.Barrier(2), []

        def confirm(terms: PlanTerms, conversation: str, barrier: threading.Barrier, errors: list[Exception]) -> None:
            barrier.wait()
            try:
                in_locking_transaction(
                    agreements.record, "ACC-1001", terms, agreements.ASSISTANT, conversation, now=noon_utc(TODAY))
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)

        threads = [threading.Thread(target=confirm, args=(terms, f"conv-{round_}-{n}", barrier, errors))
                   for n, terms in enumerate(offers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert errors == []
        plans = state()["plans"]
        assert [p["status"] for p in plans].count("active") == 1, plans
        assert len(plans) == 2 * (round_ + 1)


def test_a_failure_inside_record_writes_nothing(demo, monkeypatch):
    in_locking_transaction(agreements.record, "ACC-1001", plan_by_months(BALANCE, 6, TODAY + timedelta(days=7), "USD"),
                      agreements.ASSISTANT, "conv-0", now=noon_utc(TODAY))
    real = audit.record

    def failing(session, action, **details):
        if action.endswith("_agreed"):
            raise RuntimeError("the audit log is unavailable")
        return real(session, action, **details)

    monkeypatch.setattr(audit, "record", failing)
    with pytest.raises(RuntimeError):
        in_locking_transaction(
            agreements.record, "ACC-1001", SettlementTerms(Decimal("1100.00"), TODAY + timedelta(days=7)),
            agreements.ASSISTANT, "conv-1", now=noon_utc(TODAY))
    view = state()
    assert [p["status"] for p in view["plans"]] == ["active"]  # not superseded
    assert view["settlements"] == [] and view["status"] == "plan_active"
    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Plan)) == 1


# ---- 5. the reply: everything from the one transaction; refusals in fixed words ---------------------------------

async def test_a_confirmation_answers_from_the_use_case_alone(demo, monkeypatch):
    monkeypatch.setattr(accounts, "local_today", lambda _account, _now=None: TODAY)

    def no_second_read(_ref):
        raise AssertionError("read after the agreement was written")

    monkeypatch.setattr(negotiation, "negotiable", no_second_read)
    terms = plan_by_months(BALANCE, 6, TODAY + timedelta(days=7), "USD")
    dispatcher = CollectingDispatcher()
    await ActionConfirmTerms().run(dispatcher, tracker("yes", intent="affirm", verified=True, account_ref="acc-1001",
                                                       pending_terms=json.dumps(terms_to_dict(terms))), DOMAIN)
    [message] = dispatcher.messages
    assert message["response"] == "utter_agreement_recorded" and message["account_ref"] == "ACC-1001"
    assert "$205.76" in message["summary"]


@pytest.mark.parametrize("terms", [
    SettlementTerms(Decimal("600.00"), TODAY + timedelta(days=3)),  # 51% off: beyond every tier
    SettlementTerms(Decimal("950.00"), TODAY + timedelta(days=3)),  # 23% off: beyond the bot's 20%
], ids=["settlement-51pct", "settlement-23pct"])
async def test_no_refusal_shows_the_debtor_a_limit(demo, monkeypatch, terms):
    monkeypatch.setattr(accounts, "local_today", lambda _account, _now=None: TODAY)
    dispatcher = CollectingDispatcher()
    await ActionConfirmTerms().run(dispatcher, tracker("yes", intent="affirm", verified=True, account_ref="ACC-1001",
                                                       pending_terms=json.dumps(terms_to_dict(terms))), DOMAIN)
    assert [m["response"] for m in dispatcher.messages] == ["utter_agreement_not_authorised"]
    text = rendered(dispatcher.messages).replace(SLOTS["agency_phone"], "")
    assert not re.search(r"\d", text), text  # no limit, no percentage, no amount: no number at all
    for number in POLICY_NUMBERS:
        assert number not in text
    assert "%" not in text and "bot may not" not in text
    assert state()["settlements"] == []


async def test_a_paused_account_is_refused_with_the_holds_own_words(demo):
    in_transaction(cases.open_dispute, "ACC-1001", "not_mine", "", "conv-0")
    terms = SettlementTerms(Decimal("1100.00"), TODAY + timedelta(days=3))
    dispatcher = CollectingDispatcher()
    await ActionConfirmTerms().run(dispatcher, tracker("yes", intent="affirm", verified=True, account_ref="ACC-1001",
                                                       pending_terms=json.dumps(terms_to_dict(terms))), DOMAIN)
    assert [m["response"] for m in dispatcher.messages] == ["utter_collection_paused_dispute"]
    assert "no new agreement" not in rendered(dispatcher.messages)


# ---- 4. dispute references ------------------------------------------------------------------------------------

def test_dispute_references_are_long_and_a_collision_is_retried(demo, monkeypatch):
    first = in_transaction(cases.open_dispute, "ACC-1001", "not_mine", "", "conv-1").reference
    assert re.fullmatch(r"DSP-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", first)
    generated = iter([first, first, "DSP-0000-0000-0002"])
    monkeypatch.setattr(cases, "new_dispute_reference", lambda: next(generated))
    second = in_transaction(cases.open_dispute, "ACC-1002", "wrong_amount", "", "conv-2")
    assert second.new and second.reference == "DSP-0000-0000-0002"
    assert state("ACC-1002")["disputes"][0]["reference"] == "DSP-0000-0000-0002"


# ---- 3. no double texts ---------------------------------------------------------------------------------------

@pytest.fixture
def one_due(demo, standin):  # noqa: F811 (the fixture imported above)
    """ACC-1001 (Jordan, +15551230001, Chicago) due a first reminder; the other demo accounts not."""
    with unit_of_work() as session:
        for ref in ("ACC-1002", "BB-77310"):
            account = accounts.find(session, ref)
            if account is not None:
                account.status = "ceased"
    return demo


def test_a_second_remind_run_while_one_holds_the_lock_sends_nothing(one_due, standin):  # noqa: F811
    with run_lock(reminders.RUN_LOCK):
        result = run_cli("remind", "--now", DAYTIME.isoformat(), database=one_due, check=False)
    assert result.returncode == 1
    assert "another remind run is in progress" in result.stderr and "this run sent nothing" in result.stderr
    assert standin.messages() == []
    assert not [e for e in audit_of() if e.action == reminders.REMINDER_SENT]
    result = run_cli("remind", "--now", DAYTIME.isoformat(), database=one_due)  # the lock was released
    assert "reminders: 1 sent" in result.stdout and len(standin.messages(to="+15551230001")) == 1


def test_a_run_lock_is_exclusive_and_released(db):
    with run_lock("batch"):
        with pytest.raises(RunLocked, match="another batch run is in progress"):
            with run_lock("batch"):
                pass  # pragma: no cover
    with run_lock("batch"):
        pass


def test_a_dead_runs_lock_does_not_block_the_next_run(db):
    if db.startswith("sqlite"):
        _dead_run_lock_expires()
    else:
        _dead_run_lock_goes_with_its_connection()


_HOLD_THE_LOCK = """
import time
from bot.storage.db import run_lock
with run_lock("batch"):
    print("held", flush=True)
    time.sleep(600)
"""


def _dead_run_lock_goes_with_its_connection() -> None:
    """PostgreSQL: a run killed while it holds the advisory lock releases it with its server session."""
    child = subprocess.Popen([sys.executable, "-c", _HOLD_THE_LOCK], cwd=PROJECT_ROOT, stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(RunLocked):
            with run_lock("batch"):
                pass  # pragma: no cover
    finally:
        child.kill()
        child.wait()
    for _attempt in range(100):  # the server notices the closed socket within moments
        try:
            with run_lock("batch"):
                return
        except RunLocked:
            time.sleep(0.1)
    raise AssertionError("the killed run's advisory lock was never released")


def _dead_run_lock_expires() -> None:
    """SQLite: a dead run cannot release its row; the lock expires, and the old run stops at its next renew."""
    t0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    ttl = timedelta(minutes=15)
    held = run_lock("batch", ttl=ttl, clock=lambda: t0)
    renew = held.__enter__()  # a run that never returns: its process died
    with pytest.raises(RunLocked):
        with run_lock("batch", ttl=ttl, clock=lambda: t0 + timedelta(minutes=14)):
            pass  # pragma: no cover
    with run_lock("batch", ttl=ttl, clock=lambda: t0 + timedelta(minutes=16)):
        with pytest.raises(RunLocked):  # taken over: the old run stops at its next renew
            renew()
    held.__exit__(None, None, None)  # (what the dead run's release would have done: nothing of the new holder's)
    with unit_of_work() as session:
        assert session.scalars(select(RunLock)).all() == []


def test_a_death_report_and_its_handoff_are_written_together_or_not_at_all(demo, monkeypatch):
    """A report whose pause cannot be written leaves no handoff behind that claims it (one transaction)."""
    real_record = audit.record

    def failing(session, action, **kwargs):
        if action == "death_reported":
            raise RuntimeError("the database went away")
        return real_record(session, action, **kwargs)

    monkeypatch.setattr(audit, "record", failing)
    with pytest.raises(RuntimeError):
        in_transaction(cases.report_death, "ACC-1001", "conv-death", "his sister, 555 0100", reporter_verified=False)
    with unit_of_work() as session:
        assert session.scalars(select(Handoff)).all() == []
        assert "deceased_reported" not in {f.flag for f in accounts.get(session, "ACC-1001").flags}
