"""The console's payments and report routes over HTTP, on both backends (bot.console.operations): an account with
what its time lines are drawn from, the unmatched payments a supervisor assigns, and the report for a period, as
JSON and as its own document under a stricter policy. Real logins and the real services; Rasa is not involved."""
from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import DummyCookieJar
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.cli import DEMO
from bot.console.app import create_app
from bot.console.operations import REPORT_CSP
from bot.domain.negotiation import plan_by_months
from bot.services import agreements, daily, imports, payments, staff
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage.orm import AuditEvent
from tests.integration.test_console_app import FakeRasa, Person
from tests.support.database import account_json, in_transaction

PASSWORD = "correct horse battery"
SUPERVISOR = agreements.Actor("supervisor", "sue")


@dataclass
class Ops:
    client: TestClient
    ana: Person  # an agent
    sue: Person  # a supervisor


@pytest.fixture
async def ops(db: str, monkeypatch: pytest.MonkeyPatch, cheap_hashing: None) -> AsyncIterator[Ops]:
    """The console over this backend's database with the demo portfolio, agent ana and supervisor sue signed in."""
    monkeypatch.setenv("CONSOLE_SECRET_KEY", "a test console key, long enough")
    in_transaction(imports.import_policies, DEMO / "policies.yml")
    in_transaction(imports.import_accounts, DEMO / "accounts.csv", date.today())
    people = {}
    app = create_app(FakeRasa())
    async with TestClient(TestServer(app, host="127.0.0.1"), cookie_jar=DummyCookieJar()) as client:
        for login, role in (("ana", "agent"), ("sue", "supervisor")):
            in_transaction(staff.add_agent, login, role, PASSWORD)
            result = in_transaction(staff.log_in, login, PASSWORD, "127.0.0.1")
            assert isinstance(result, staff.LoggedIn)
            people[login] = Person(login, client, result.session_token, result.csrf_token)
        yield Ops(client, people["ana"], people["sue"])


# --- making history (the browser test makes the same) --------------------------------------------------------

def at_noon(day: date) -> datetime:
    """18:00 UTC: the same date in Chicago, New York and London (the demo debtors' zones)."""
    return datetime(day.year, day.month, day.day, 18, 0, tzinfo=UTC)


def payments_file(path: Path, rows: list[tuple[str, str, date, str, str]]) -> Path:
    """A payments CSV: (account_ref, amount, paid_on, reference, currency) each."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["account_ref", "amount", "paid_on", "reference", "currency"])
        writer.writerows([ref, amount, day.isoformat(), reference, currency]
                         for ref, amount, day, reference, currency in rows)
    return path


def import_payments(path: Path, day: date) -> payments.ImportReport:
    return payments.import_payments(SqlUnitOfWork(clock=lambda: at_noon(day)), path)


def plan_paid_then_missed(folder: Path, today: date, ref: str = "ACC-1001") -> list[str]:
    """A 4-month plan agreed 50 days ago on `ref` (1,234.56 USD): the first instalment paid, the second unpaid past
    the grace days (so missed, and the plan broken), the others not yet due; the daily run applied at `today`.
    The instalments' due dates."""
    agreed = today - timedelta(days=50)
    plan = plan_by_months(Decimal("1234.56"), 4, agreed + timedelta(days=5), "USD")
    agreements.record(SqlUnitOfWork(locking=True, clock=lambda: at_noon(agreed)), ref, plan, SUPERVISOR, None)
    first = plan.installments[0]
    import_payments(payments_file(folder / "instalment.csv", [(ref, str(first.amount), first.due_on, "R-1", "USD")]),
                    first.due_on)
    daily.apply(SqlUnitOfWork(clock=lambda: at_noon(today)), today)
    return [i.due_on.isoformat() for i in plan.installments]


# --- access -----------------------------------------------------------------------------------------------

async def test_nothing_answers_without_a_session(ops: Ops) -> None:
    period = "from=2026-11-01&to=2026-11-30"
    for path in ("/accounts", "/accounts/ACC-1001", "/payments", "/reports", f"/reports/view?{period}",
                 f"/reports/csv/collected.csv?{period}"):
        response = await ops.client.get(path, allow_redirects=False)
        assert response.status == 303 and response.headers["Location"].startswith("/login?next="), path
    for method, path in (("GET", "/api/accounts/ACC-1001"), ("GET", "/api/payments/unmatched"),
                         ("POST", "/api/payments/1/assign"), ("GET", "/api/reports?from=2026-11-01&to=2026-11-30")):
        response = await ops.client.request(method, path, allow_redirects=False)
        assert response.status == 401 and await response.json() == {"error": "login required"}, path


async def test_payments_and_the_report_are_for_supervisors_only(ops: Ops) -> None:
    period = "from=2026-11-01&to=2026-11-30"
    for path in ("/payments", "/reports", f"/reports/view?{period}", f"/reports/csv/collected.csv?{period}"):
        response = await ops.ana.get(path)
        assert response.status == 403 and "for supervisors" in await response.text(), path
    for path in ("/api/payments/unmatched", f"/api/reports?{period}"):
        response = await ops.ana.get(path)
        assert response.status == 403 and await response.json() == {"error": "supervisors only"}, path
    response = await ops.ana.post("/api/payments/1/assign", {"account_ref": "ACC-1001"})
    assert response.status == 403
    for path in ("/payments", "/reports", f"/reports/view?{period}", "/api/payments/unmatched",
                 f"/api/reports?{period}"):
        assert (await ops.sue.get(path)).status == 200, path
    payments_page = await (await ops.sue.get("/payments")).text()
    assert '<script src="/static/payments.js" defer></script>' in payments_page
    assert 'id="unmatched-rows"' in payments_page
    reports_page = await (await ops.sue.get("/reports")).text()
    assert '<label for="report-from">From</label>' in reports_page and "{{" not in reports_page


# --- an account ------------------------------------------------------------------------------------------------

async def test_any_person_reads_an_account_with_its_time_line_facts(ops: Ops, db: str, tmp_path: Path) -> None:
    today = datetime.now(ZoneInfo("America/Chicago")).date()  # ACC-1001's debtor lives in Chicago
    due = plan_paid_then_missed(tmp_path, today)
    response = await ops.ana.get("/api/accounts/acc-1001")  # references are matched without regard to case
    assert response.status == 200
    data = await response.json()
    assert data["timeline"] == {"today": today.isoformat(), "grace_days": 10}
    assert {key: value for key, value in data.items() if key != "timeline"} == account_json(db)  # SPEC's JSON
    [plan] = data["plans"]
    assert plan["status"] == "broken" and "not made within 10 days" in plan["end_reason"]
    assert [(i["due_on"], i["status"]) for i in plan["installments"]] == [
        (due[0], "paid"), (due[1], "missed"), (due[2], "scheduled"), (due[3], "scheduled")]
    assert data["payments"] == [{"amount": "308.64", "paid_on": due[0], "reference": "R-1"}]
    assert data["paid"] == "308.64" and data["written_off"] == "0.00"

    page = await ops.ana.get("/accounts/ACC-1001")
    html = await page.text()
    assert page.status == 200 and 'data-account-ref="ACC-1001"' in html
    assert '<h1 id="account-heading">Account ACC-1001</h1>' in html
    assert '<script src="/static/account.js" defer></script>' in html and "{{" not in html
    assert (await ops.ana.get("/accounts")).status == 200  # the finder

    unknown = await ops.ana.get("/api/accounts/NOPE-404")
    assert unknown.status == 404 and "NOPE-404" in (await unknown.json())["error"]
    assert (await ops.ana.get("/accounts/NOPE-404")).status == 404
    assert (await ops.ana.get("/api/accounts/" + "A" * 65)).status == 404  # longer than any reference


# --- assigning what matched nothing ----------------------------------------------------------------------------

async def test_a_supervisor_assigns_an_unmatched_payment_and_a_refused_one_changes_nothing(
        ops: Ops, db: str, tmp_path: Path) -> None:
    today = date.today()
    import_payments(payments_file(tmp_path / "bank.csv", [("ACC-9999", "25.00", today, "U-1", "USD"),
                                                          ("ACC-9998", "30.00", today, "U-2", "USD")]), today)
    response = await ops.sue.get("/api/payments/unmatched")
    waiting = (await response.json())["payments"]
    assert [(p["reference"], p["amount"], p["currency"], p["account_ref_given"]) for p in waiting] == [
        ("U-1", "25.00", "USD", "ACC-9999"), ("U-2", "30.00", "USD", "ACC-9998")]
    assert waiting[0]["why"] == "no account ACC-9999"
    u1, u2 = waiting[0]["id"], waiting[1]["id"]

    # BB-77310 is in pounds: refused, never converted; nothing changes.
    refused = await ops.sue.post(f"/api/payments/{u2}/assign", {"account_ref": "BB-77310"})
    assert refused.status == 400 and "GBP" in (await refused.json())["error"]
    unknown = await ops.sue.post(f"/api/payments/{u2}/assign", {"account_ref": "NOPE-404"})
    assert unknown.status == 404 and "NOPE-404" in (await unknown.json())["error"]
    blank = await ops.sue.post(f"/api/payments/{u2}/assign", {"account_ref": "  "})
    assert blank.status == 400 and (await blank.json())["error"] == "account_ref is required"
    no_csrf = await ops.client.post(f"/api/payments/{u1}/assign", json={"account_ref": "ACC-1002"},
                                    headers={"Cookie": f"console_session={ops.sue.cookie}"})
    assert no_csrf.status == 403
    assert len((await (await ops.sue.get("/api/payments/unmatched")).json())["payments"]) == 2
    assert account_json(db, "BB-77310")["paid"] == "0.00" and account_json(db, "ACC-1002")["paid"] == "0.00"

    assigned = await ops.sue.post(f"/api/payments/{u1}/assign", {"account_ref": "acc-1002"})
    assert assigned.status == 200
    assert await assigned.json() == {"payment": {"id": u1, "account_ref": "ACC-1002", "status": "matched"}}
    account = account_json(db, "ACC-1002")
    assert account["paid"] == "25.00" and account["payments"] == [
        {"amount": "25.00", "paid_on": today.isoformat(), "reference": "U-1"}]
    left = (await (await ops.sue.get("/api/payments/unmatched")).json())["payments"]
    assert [p["reference"] for p in left] == ["U-2"]
    again = await ops.sue.post(f"/api/payments/{u1}/assign", {"account_ref": "ACC-1001"})
    assert again.status == 400 and "no unmatched payment" in (await again.json())["error"]
    with SqlUnitOfWork() as uow:
        [event] = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "payment_assigned")).all()
        assert event.actor == "sue" and event.details["reference"] == "U-1"


# --- the report --------------------------------------------------------------------------------------------------

async def test_the_report_for_a_period_as_json_with_decimals_as_text(ops: Ops, tmp_path: Path) -> None:
    day = date(2026, 11, 10)
    import_payments(payments_file(tmp_path / "p.csv", [("ACC-1001", "100.10", day, "P-1", "USD"),
                                                       ("ACC-1002", "20.05", day, "P-2", "USD")]), day)
    response = await ops.sue.get("/api/reports?from=2026-11-01&to=2026-11-30")
    assert response.status == 200
    figures = await response.json()
    assert (figures["date_from"], figures["date_to"], figures["currency"]) == ("2026-11-01", "2026-11-30", "USD")
    assert figures["collected_by_month_and_creditor"] == [["2026-11", "Acme Telecom Ltd", "120.15"]]
    [(creditor, collected, placed, rate)] = figures["recovery_rate"]
    assert (creditor, collected) == ("Acme Telecom Ltd", "120.15") and Decimal(placed) > 0 and isinstance(rate, str)
    assert isinstance(figures["average_discount_pct"], str)
    for name in ("agreements_by_channel", "agreements_by_tier", "kept_rates", "days_to_first_agreement", "commission"):
        assert isinstance(figures[name], list), name
    assert "collected.csv" in figures["csv_files"]

    pounds = await (await ops.sue.get("/api/reports?from=2026-11-01&to=2026-11-30&currency=gbp")).json()
    assert pounds["currency"] == "GBP" and pounds["collected_by_month_and_creditor"] == []

    for query, why in (("from=2026-11-01", "to must be a date"), ("from=2026-13-01&to=2026-11-30", "not a date"),
                       ("from=1%20Nov&to=2026-11-30", "from must be a date"),
                       ("from=2026-11-30&to=2026-11-01", "ends before it starts"),
                       ("from=1990-01-01&to=2026-11-30", "at most"),
                       ("from=2026-11-01&to=2026-11-30&currency=US1", "three-letter")):
        bad = await ops.sue.get(f"/api/reports?{query}")
        assert bad.status == 400 and why in (await bad.json())["error"], query


async def test_the_report_document_is_served_under_its_own_stricter_policy(ops: Ops, tmp_path: Path) -> None:
    day = date(2026, 11, 10)
    import_payments(payments_file(tmp_path / "p.csv", [("ACC-1001", "100.10", day, "P-1", "USD")]), day)
    response = await ops.sue.get("/reports/view?from=2026-11-01&to=2026-11-30")
    assert response.status == 200 and response.content_type == "text/html"
    assert response.headers["Content-Security-Policy"] == REPORT_CSP
    assert "script-src" not in REPORT_CSP and "default-src 'none'" in REPORT_CSP
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"
    document = await response.text()
    assert "<h1>Collections report, 2026-11-01 to 2026-11-30</h1>" in document
    assert "<script" not in document.lower() and "<svg" in document  # the charts, inline
    # Its links to the figures' CSV files lead to the console's routes for them, over the same period.
    assert '<a href="/reports/csv/collected.csv?from=2026-11-01&amp;to=2026-11-30&amp;currency=USD">' in document
    assert '<a href="collected.csv">' not in document

    page = await ops.sue.get("/reports")
    assert "require-trusted-types-for 'script'" in page.headers["Content-Security-Policy"]  # the console's own

    data = await ops.sue.get("/reports/csv/collected.csv?from=2026-11-01&to=2026-11-30")
    assert data.status == 200 and data.content_type == "text/csv"
    assert 'filename="collected-2026-11-01-2026-11-30.csv"' in data.headers["Content-Disposition"]
    assert (await data.text()).splitlines() == ["month,creditor,amount,currency", "2026-11,Acme Telecom Ltd,100.10,USD"]
    assert (await ops.sue.get("/reports/csv/secrets.csv?from=2026-11-01&to=2026-11-30")).status == 404
    assert (await ops.sue.get("/reports/view?from=2026-11-30&to=2026-11-01")).status == 400


# --- legal ---------------------------------------------------------------------------------------------------

async def test_a_supervisor_moves_a_broken_account_to_legal_from_the_console_and_an_agent_cannot(
        ops: Ops, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.services import legal

    monkeypatch.setattr(legal, "LEGAL_DIR", tmp_path / "legal")
    plan_paid_then_missed(tmp_path, date.today() - timedelta(days=70))  # broken, and silent since
    assert (await ops.ana.get("/api/legal")).status == 403
    assert (await ops.ana.post("/api/legal", {"account_ref": "ACC-1001"})).status == 403
    queue = await (await ops.sue.get("/api/legal")).json()
    assert [a["account_ref"] for a in queue["accounts"]] == ["ACC-1001"]
    assert "plan broken" in queue["accounts"][0]["why"]
    response = await ops.sue.post("/api/legal", {"account_ref": "ACC-1001", "note": "no answer for two months"})
    assert response.status == 201, await response.text()
    moved = (await response.json())["moved"]
    assert moved["status"] == "legal" and {Path(f).suffix for f in moved["files"]} == {".json", ".pdf"}
    assert account_json_of("ACC-1001")["status"] == "legal"
    assert (await ops.sue.post("/api/legal", {"account_ref": "ACC-1001"})).status == 409  # already legal
    assert (await ops.sue.post("/api/legal", {"account_ref": "NOPE-1"})).status == 404


def account_json_of(ref: str) -> dict:
    from bot.services.accounts import account_view

    return in_transaction(account_view, ref)
