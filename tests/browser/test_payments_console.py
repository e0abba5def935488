"""Payments in the console, in a real browser with the real servers: a supervisor finds an account whose plan had
one instalment paid and the next missed, and sees it as a picture (the time line's marks say paid and missed, the
grace window, today, the payment received) with the same facts in a table; assigns a payment that matched no
account (one in the wrong currency is refused on the row); and opens the report for a period, then the report
document with its charts.

Each page is checked with axe-core; the account's screenshot lands in test-artifacts/console-account.png.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

from bot.launcher import Stack
from tests.integration.test_operations_console import import_payments, payments_file, plan_paid_then_missed
from tests.support.axe import assert_no_serious_violations
from tests.support.console import Person
from tests.support.database import account_json

pytestmark = pytest.mark.stack

GREEN, RED = "rgb(21, 128, 61)", "rgb(185, 28, 28)"  # the paid and missed marks (console.css)


@pytest.fixture
def casey(browser: Browser, demo_stack: Stack) -> Iterator[Person]:
    """A supervisor signed in to the console."""
    person = Person(browser, demo_stack.console_url, "casey", "supervisor")
    person.sign_in()
    yield person
    person.close()


def test_a_supervisor_sees_a_plans_time_line_assigns_a_payment_and_opens_the_report(
        demo_stack: Stack, db: str, casey: Person, tmp_path: Path) -> None:
    today = datetime.now(ZoneInfo("America/Chicago")).date()  # ACC-1001's debtor lives in Chicago
    due = plan_paid_then_missed(tmp_path, today)
    import_payments(payments_file(tmp_path / "bank.csv", [("ACC-9999", "25.00", today, "U-7", "USD"),
                                                          ("ACC-9998", "40.00", today, "U-8", "USD")]), today)
    page, console = casey.page, demo_stack.console_url

    # The finder leads to the account.
    page.goto(f"{console}/accounts")
    page.get_by_label("Find an account: reference, phone number or name").fill("Jordan Avery")
    page.get_by_test_id("account-search").click()
    page.get_by_test_id("account-result").filter(has_text="ACC-1001").click()
    page.wait_for_url(f"{console}/accounts/ACC-1001")
    expect(page.get_by_test_id("account-paid")).to_have_text("$308.64")
    expect(page.get_by_test_id("account-status")).to_have_text("open")

    # The plan as a picture: paid, missed, and the two no longer owed since it broke.
    plan = page.get_by_test_id("agreement").filter(has_text="Payment plan")
    expect(plan).to_have_attribute("data-status", "broken")
    timeline = plan.get_by_test_id("timeline")
    expect(timeline).to_have_attribute("role", "img")
    expect(timeline).to_have_attribute("aria-label",
                                       re.compile(r"4 instalments due .*1 paid, 1 missed, 2 no longer owed"))
    marks = timeline.locator("[data-testid=mark]")
    expect(marks).to_have_count(4)
    assert marks.evaluate_all("nodes => nodes.map(n => n.getAttribute('data-status'))") == [
        "paid", "missed", "scheduled", "scheduled"]
    assert marks.evaluate_all("nodes => nodes.map(n => n.getAttribute('data-look'))") == [
        "paid", "missed", "void", "void"]
    fills = marks.evaluate_all("nodes => nodes.map(n => getComputedStyle(n.querySelector('.shape')).fill)")
    assert fills[:2] == [GREEN, RED]
    expect(timeline.locator("[data-testid=payment-tick]")).to_have_count(1)
    expect(timeline.locator("[data-testid=payment-tick] title")).to_have_text(re.compile(r"\$308\.64 .*\(R-1\)"))
    expect(timeline.locator("[data-testid=grace]")).to_have_count(1)  # after the missed instalment's date
    expect(timeline.locator("[data-testid=today]")).to_have_count(1)
    box = timeline.bounding_box()
    assert box and box["width"] > 800 and box["height"] > 60  # drawn, not collapsed
    # The same facts as a table.
    rows = plan.get_by_test_id("timeline-table").locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Paid")
    expect(rows.nth(1)).to_contain_text("Missed")
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.status)") == ["paid", "missed", "scheduled", "scheduled"]
    expect(page.get_by_test_id("legend")).to_contain_text("Grace window: 10 days")
    expect(page.get_by_test_id("payments-table")).to_contain_text("R-1")
    assert due[0] < due[1] < today.isoformat() < due[2]
    assert_no_serious_violations(page)
    casey.shot("console-account.png")

    # What matched no account: one in dollars refused for an account in pounds, then one assigned.
    page.goto(f"{console}/payments")
    expect(page.get_by_test_id("payments-summary")).to_have_text("2 payments waiting for an account.")
    assert_no_serious_violations(page)
    dollars = page.get_by_test_id("unmatched-row").filter(has_text="U-8")
    dollars.get_by_label("Account reference for payment U-8").fill("BB-77310")
    dollars.get_by_test_id("assign").click()
    expect(dollars.get_by_test_id("assign-status")).to_contain_text("GBP")
    row = page.get_by_test_id("unmatched-row").filter(has_text="U-7")
    expect(row.get_by_label("Account reference for payment U-7")).to_have_value("ACC-9999")  # as the file gave it
    row.get_by_label("Account reference for payment U-7").fill("ACC-1002")
    row.get_by_test_id("assign").click()
    expect(page.get_by_test_id("payments-announce")).to_contain_text("U-7 ($25.00) assigned to ACC-1002")
    expect(page.get_by_test_id("unmatched-row")).to_have_count(1)
    assert account_json(db, "ACC-1002")["paid"] == "25.00" and account_json(db, "BB-77310")["paid"] == "0.00"

    # The report for the period: the figures here, the document with its charts a click away.
    page.goto(f"{console}/reports")
    page.get_by_label("From").fill((today - timedelta(days=60)).isoformat())
    page.get_by_label("To (included)").fill(today.isoformat())
    page.get_by_test_id("report-show").click()
    collected = page.get_by_test_id("figure-collected")
    expect(collected).to_contain_text("Total collected: $333.64.")
    expect(collected).to_contain_text("Acme Telecom Ltd")
    expect(page.get_by_test_id("figure-kept_rates")).to_contain_text("plan")
    assert_no_serious_violations(page)
    page.get_by_test_id("report-view").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Collections report, "))
    expect(page.locator("figure svg").first).to_be_visible()
    casey.assert_no_errors(allow=re.compile(r"status of 400"))  # the refused assignment, as the browser logs it
