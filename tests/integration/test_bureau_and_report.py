"""The credit-bureau file and the operations report, from a real database (both backends)."""
from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from bot.cli import DEMO
from bot.domain.negotiation import PromiseTerms, SettlementTerms
from bot.services import agreements, bureau, cases, daily, imports, payments, reports
from bot.services.unit_of_work import SqlUnitOfWork
from tests.support.database import in_locking_transaction, in_transaction, run_cli

PLACED = date(2026, 11, 23)
AGREED = datetime(2027, 1, 4, 18, 0, tzinfo=UTC)


@pytest.fixture
def demo(db: str) -> str:
    in_transaction(imports.import_policies, DEMO / "policies.yml")
    in_transaction(imports.import_accounts, DEMO / "accounts.csv", PLACED)
    return db


def pay(tmp_path: Path, rows: list[tuple[str, str, str, str]]) -> None:
    path = tmp_path / f"pay-{len(list(tmp_path.iterdir()))}.csv"
    with path.open("w", newline="") as file:
        csv.writer(file).writerows([("account_ref", "amount", "paid_on", "reference"), *rows])
    payments.import_payments(SqlUnitOfWork(clock=lambda: AGREED), path)


def base_segments(text: str) -> dict[str, str]:
    """Account number (43-72) -> its record, for the base segments (record descriptor word then "1")."""
    records = text.splitlines()
    assert all(len(r) == len(records[0]) for r in records) and len(records[0]) in (426, 460)
    return {r[42:72].strip(): r for r in records[1:-1]}


def test_the_bureau_file_reports_open_paid_settled_and_disputed_accounts_with_their_codes(demo, tmp_path):
    in_locking_transaction(agreements.record, "ACC-1002", PromiseTerms(Decimal("455.00"), date(2027, 1, 10)),
                           agreements.ASSISTANT, "c1", now=AGREED)
    pay(tmp_path, [("ACC-1002", "455.00", "2027-01-08", "B-1")])
    daily.apply(SqlUnitOfWork(clock=lambda: AGREED), date(2027, 1, 9))
    exported = bureau.export(SqlUnitOfWork(clock=lambda: AGREED), date(2027, 1, 31))
    segments = base_segments(exported.text)
    assert set(segments) == {"ACC1001", "ACC1002"}  # BRIGHTBANK's policy does not report; ACME's does
    assert segments["ACC1001"][123:125] == "93" and segments["ACC1002"][123:125] == "62"
    assert segments["ACC1002"][154:163] == "000000000"  # nothing owed once paid
    assert segments["ACC1001"][154:163] == "000001234"  # whole dollars
    in_transaction(cases.open_dispute, "ACC-1001", "wrong_amount", "", "c2", now=datetime(2027, 2, 1, tzinfo=UTC))
    disputed = base_segments(bureau.export(SqlUnitOfWork(clock=lambda: AGREED), date(2027, 2, 28)).text)
    assert disputed["ACC1001"][152:154] == "XB"


def test_a_dispute_in_the_validation_period_keeps_the_account_out_of_the_file(demo):
    in_transaction(cases.open_dispute, "ACC-1001", "not_mine", "", "c1", now=datetime(2026, 9, 20, tzinfo=UTC))
    exported = bureau.export(SqlUnitOfWork(clock=lambda: AGREED), date(2027, 1, 31))
    assert "ACC1001" not in base_segments(exported.text)
    assert ("ACC-1001", "disputed in the validation period, not yet validated") in exported.skipped


def test_the_report_counts_what_was_collected_agreed_kept_and_earned(demo, tmp_path):
    in_locking_transaction(agreements.record, "ACC-1001", SettlementTerms(Decimal("1000.00"), date(2027, 1, 14)),
                           agreements.Actor("agent", "ana"), "call-1", now=AGREED)
    in_locking_transaction(agreements.record, "ACC-1002", PromiseTerms(Decimal("100.00"), date(2027, 1, 10)),
                           agreements.ASSISTANT, "c9", now=AGREED)
    pay(tmp_path, [("ACC-1001", "1000.00", "2027-01-10", "R-1")])
    daily.apply(SqlUnitOfWork(clock=lambda: AGREED), date(2027, 1, 20))
    figures = reports.figures(SqlUnitOfWork(), date(2027, 1, 1), date(2027, 1, 31))
    assert figures.collected_by_month_and_creditor == [("2027-01", "Acme Telecom Ltd", Decimal("1000.00"))]
    assert ("call", "settlement", 1) in figures.agreements_by_channel
    assert ("web", "promise", 1) in figures.agreements_by_channel  # a conversation neither SMS nor REST
    assert ("agent", "settlement", 1) in figures.agreements_by_tier and ("bot", "promise", 1) in \
        figures.agreements_by_tier
    assert ("promise", 0, 1, 0, Decimal(0)) in figures.kept_rates  # not paid by its date: broken
    assert figures.commission == [("ana", "Acme Telecom Ltd", Decimal("1000.00"), Decimal(8), Decimal("80.00"))]
    out = tmp_path / "report"
    result = run_cli("report", "--from", "2027-01-01", "--to", "2027-01-31", "--out", str(out), database=demo)
    assert "report.html" in result.stdout and (out / "report.html").exists()
    rows = list(csv.reader((out / "commission.csv").open()))
    assert rows[1][:5] == ["ana", "Acme Telecom Ltd", "1000.00", "8", "80.00"]
