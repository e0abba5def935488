"""Payments on a real database (both backends): importing files, assigning what matched nothing, and the daily
run that decides every agreement and sends its messages through the Twilio stand-in."""
from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.cli import DEMO
from bot.domain.console import Staff
from bot.domain.negotiation import PlanTerms, PromiseTerms, SettlementTerms, plan_by_months
from bot.payments_files import PaymentFileError
from bot.services import agreements, daily, imports, negotiation, payments
from bot.services.unit_of_work import SqlUnitOfWork
from bot.sms.gateway import SmsGateway, TwilioSettings
from bot.sms.standin import StandIn
from bot.storage.db import run_lock
from bot.storage.orm import AuditEvent, Notification
from tests.support.database import account_json, in_locking_transaction, in_transaction

AGREED = date(2027, 1, 4)
NOON = datetime(2027, 1, 4, 18, 0, tzinfo=UTC)  # noon in Chicago
DATA = Path(__file__).resolve().parent.parent / "data" / "payments"
HEADER = ["account_ref", "amount", "paid_on", "reference"]


def at_noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 18, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def running_standin() -> Iterator[StandIn]:
    with StandIn() as standin:
        yield standin


@pytest.fixture
def standin(running_standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> StandIn:
    running_standin.clear()
    for name, value in running_standin.environment().items():
        monkeypatch.setenv(name, value)
    return running_standin


@pytest.fixture
def demo(db: str) -> str:
    in_transaction(imports.import_policies, DEMO / "policies.yml")
    in_transaction(imports.import_accounts, DEMO / "accounts.csv", date(2026, 11, 23))
    return db


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def import_file(path: Path, day: date = AGREED) -> payments.ImportReport:
    return payments.import_payments(SqlUnitOfWork(clock=lambda: at_noon(day)), path)


def run_daily(day: date, standin: StandIn | None = None) -> daily.DailyReport:
    gateway = SmsGateway(TwilioSettings.from_env()) if standin is not None else None
    return daily.run(day, units=lambda: SqlUnitOfWork(clock=lambda: at_noon(day)), gateway=gateway)


def agree(terms: PlanTerms | SettlementTerms | PromiseTerms, ref: str = "ACC-1001") -> None:
    in_locking_transaction(agreements.record, ref, terms, agreements.ASSISTANT, "web-1", now=NOON)


def test_a_csv_import_reports_every_row_keeps_the_unmatched_and_is_idempotent(demo, tmp_path):
    path = write_csv(tmp_path / "p.csv", [
        ["ACC-1001", "100.00", "2027-01-05", "P-1"],
        ["acc-1002", "$20", "2027-01-05", "P-2"],
        ["ACC-9999", "10.00", "2027-01-05", "P-3"],
        ["ACC-1001", "-5", "2027-01-05", "P-4"],
        ["ACC-1001", "12.00", "yesterday", "P-5"],
    ])
    report = import_file(path)
    assert [(r.line, r.outcome) for r in report.rows] == [
        (2, "matched"), (3, "matched"), (4, "unmatched"), (5, "unreadable"), (6, "unreadable")]
    assert "no account ACC-9999" in report.rows[2].why
    again = import_file(path)
    assert again.counts["already_had"] == 3 and again.counts["matched"] == 0
    account = account_json(demo)
    assert account["paid"] == "100.00" and account["balance"] == "1134.56"
    assert account["payments"] == [{"amount": "100.00", "paid_on": "2027-01-05", "reference": "P-1"}]
    [waiting] = payments.unmatched(SqlUnitOfWork())
    assert waiting["reference"] == "P-3" and waiting["why"] == "no account ACC-9999"
    payments.assign(SqlUnitOfWork(), waiting["id"], "ACC-1001", Staff("sue", "supervisor"))
    assert account_json(demo)["paid"] == "110.00" and payments.unmatched(SqlUnitOfWork()) == []


def test_a_payment_in_another_currency_is_refused_not_converted(demo, tmp_path):
    path = write_csv(tmp_path / "eur.csv", [["ACC-1001", "50.00", "2027-01-05", "E-1", "EUR"]],
                     [*HEADER, "currency"])
    [row] = import_file(path).rows
    assert row.outcome == "unmatched" and "refused, not converted" in row.why
    [waiting] = payments.unmatched(SqlUnitOfWork())
    with pytest.raises(payments.PaymentError):
        payments.assign(SqlUnitOfWork(), waiting["id"], "ACC-1001", Staff("sue", "supervisor"))
    assert account_json(demo)["paid"] == "0.00"


def test_a_camt053_statement_is_read_through_the_same_import(demo):
    report = import_file(DATA / "statement_camt053_v02.xml")
    matched = [r for r in report.rows if r.outcome == "matched"]
    assert "ACC-1001" in {r.account_ref for r in matched}
    assert report.counts["unmatched"] >= 1  # entries with no account of ours are kept, not dropped
    assert import_file(DATA / "statement_camt053_v02.xml").counts["matched"] == 0


def test_a_file_that_is_neither_csv_nor_camt_is_refused_and_changes_nothing(demo, tmp_path):
    garbage = tmp_path / "x.bin"
    garbage.write_bytes(b"\x00\x01\x02 not a statement")
    with pytest.raises(PaymentFileError):
        import_file(garbage)
    assert account_json(demo)["payments"] == []


def test_a_plan_with_a_missed_instalment_is_broken_after_grace_audited_chased_and_told(demo, standin, tmp_path):
    plan = plan_by_months(Decimal("1234.56"), 6, AGREED, "USD")
    agree(plan)
    first = plan.installments[0]
    import_file(write_csv(tmp_path / "p.csv", [["ACC-1001", str(first.amount), "2027-01-04", "R-1"]]))
    run_daily(AGREED, standin)
    assert [i["status"] for i in account_json(demo)["plans"][0]["installments"]][:2] == ["paid", "scheduled"]
    second_due = plan.installments[1].due_on
    run_daily(second_due - timedelta(days=2), standin)  # within the reminder lead time
    late = second_due + timedelta(days=3)
    run_daily(late, standin)
    run_daily(late, standin)  # twice the same day: nothing more
    texts = standin.messages("+15551230001")
    assert len(texts) == 2  # a reminder before the due date, then one for the late instalment, once each
    assert all("debt" not in m["body"].lower() and "Reply STOP" in m["body"] for m in texts)
    broken_day = second_due + timedelta(days=11)
    report = run_daily(broken_day, standin)
    assert ("ACC-1001", "plan_broken") in [(ref, change) for ref, change, _why in report.changes]
    account = account_json(demo)
    assert account["plans"][0]["status"] == "broken" and account["status"] == "open"
    assert "not made within 10 days" in account["plans"][0]["end_reason"]
    with SqlUnitOfWork() as uow:
        why = uow.session.scalars(select(AuditEvent.details).where(AuditEvent.action == "plan_broken")).one()
        assert second_due.isoformat() in why["why"]
    told = negotiation.disclose_balance(SqlUnitOfWork(clock=lambda: at_noon(broken_day)), "ACC-1001", "web-2")
    assert told.news is not None and told.news.kind == "plan"
    again = negotiation.disclose_balance(SqlUnitOfWork(clock=lambda: at_noon(broken_day)), "ACC-1001", "web-3")
    assert again.news is None  # told once


def test_a_settlement_paid_by_its_date_settles_the_account_and_writes_off_the_rest(demo, tmp_path):
    agree(SettlementTerms(Decimal("1000.00"), AGREED + timedelta(days=10)))
    import_file(write_csv(tmp_path / "p.csv", [["ACC-1001", "600.00", "2027-01-06", "S-1"],
                                               ["ACC-1001", "400.00", "2027-01-12", "S-2"]]))
    run_daily(date(2027, 1, 13))
    account = account_json(demo)
    assert account["settlements"][0]["status"] == "paid" and account["status"] == "settled"
    assert account["balance"] == "0.00" and account["written_off"] == "234.56" and account["paid"] == "1000.00"


def test_a_promise_kept_is_thanked_even_though_the_account_is_then_paid(demo, standin, tmp_path):
    agree(PromiseTerms(Decimal("1234.56"), AGREED + timedelta(days=5)))
    import_file(write_csv(tmp_path / "p.csv", [["ACC-1001", "1234.56", "2027-01-08", "K-1"]]))
    run_daily(date(2027, 1, 9), standin)
    account = account_json(demo)
    assert account["promises"][0]["status"] == "kept" and account["status"] == "paid"
    [thanks] = standin.messages("+15551230001")
    assert "Thank you" in thanks["body"]
    with SqlUnitOfWork() as uow:
        assert [n.kind for n in uow.session.scalars(select(Notification))] == ["thanks"]


def test_a_promise_not_kept_is_broken_the_day_after_and_negotiation_reopens(demo):
    agree(PromiseTerms(Decimal("200.00"), AGREED + timedelta(days=5)))
    run_daily(AGREED + timedelta(days=6))
    account = account_json(demo)
    assert account["promises"][0]["status"] == "broken" and account["status"] == "open"


def test_the_daily_run_holds_its_lock(demo):
    with run_lock(daily.RUN_LOCK):
        with pytest.raises(Exception, match="another daily run"):
            run_daily(AGREED)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["ACC-1001", "ACC-1002", "ACC-0000"]),
                          st.integers(min_value=1, max_value=50_000), st.integers(min_value=0, max_value=60)),
                min_size=1, max_size=12))
def test_importing_any_file_twice_changes_nothing_the_second_time_and_the_balance_is_placed_minus_paid(
        demo, tmp_path, rows):
    path = write_csv(tmp_path / f"p{abs(hash(tuple(rows)))}.csv",
                     [[ref, str(Decimal(cents).scaleb(-2)), (AGREED + timedelta(days=day)).isoformat(),
                       f"H-{abs(hash(tuple(rows)))}-{n}"] for n, (ref, cents, day) in enumerate(rows)])
    before = {ref: account_json(demo, ref) for ref in ("ACC-1001", "ACC-1002")}
    import_file(path)
    after_once = {ref: account_json(demo, ref) for ref in ("ACC-1001", "ACC-1002")}
    assert import_file(path).counts["matched"] == 0
    after_twice = {ref: account_json(demo, ref) for ref in ("ACC-1001", "ACC-1002")}
    assert after_once == after_twice
    for ref, account in after_twice.items():
        paid = sum(Decimal(cents).scaleb(-2) for r, cents, _d in rows if r == ref)
        assert Decimal(account["paid"]) - Decimal(before[ref]["paid"]) == paid
        placed = Decimal(account["principal"]) + Decimal(account["interest"]) + Decimal(account["fees"])
        assert Decimal(account["balance"]) == placed - Decimal(account["paid"]) - Decimal(account["written_off"])
