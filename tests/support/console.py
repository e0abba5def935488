"""The agent console as the browser tests use it: people added to the test database, and one person's console
in a browser context of their own (their own session cookie), with the pages' hooks (data-testid) as locators."""
from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import TypeVar

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from bot.services import staff
from tests.support import ARTEFACTS
from tests.support.database import in_transaction

T = TypeVar("T")
SHOTS = ARTEFACTS / "browser"


def add_person(login: str, role: str = "agent") -> str:
    """A login of the console in the test database (as `python -m bot add-agent` makes one); its password."""
    password = secrets.token_urlsafe(16)
    in_transaction(staff.add_agent, login, role, password)
    return password


def wait_until(condition: Callable[[], T | None], timeout: float = 30.0, what: str = "the condition") -> T:
    """`condition()`'s first truthy value, polled until `timeout` seconds: for what no page shows (a database
    row, the Twilio stand-in's outbox); what a page shows is waited for with Playwright's expect()."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)


class Person:
    """One person at the console, in a browser context of their own."""

    def __init__(self, browser: Browser, base_url: str, login: str, role: str = "agent", *,
                 timezone: str = "America/New_York"):
        self.login, self.role, self.base_url = login, role, base_url
        self.password = add_person(login, role)
        # The person's own zone (the console shows times in it), and the errors their pages report.
        self.context: BrowserContext = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US",
                                                           timezone_id=timezone)
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def close(self) -> None:
        self.context.close()

    # --- pages ---------------------------------------------------------------------------------------------

    def sign_in(self) -> None:
        """The login form, filled in and sent: the queue follows."""
        self.page.goto(f"{self.base_url}/login")
        expect(self.page.get_by_role("heading", name="Agent console")).to_be_visible()
        self.page.get_by_label("Login").fill(self.login)
        self.page.get_by_label("Password").fill(self.password)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_test_id("who")).to_contain_text(self.login)

    def queue(self) -> None:
        self.page.goto(f"{self.base_url}/")
        expect(self.page.get_by_test_id("queue-summary")).to_contain_text("waiting")

    def approvals(self) -> None:
        self.page.goto(f"{self.base_url}/approvals")
        expect(self.page.get_by_test_id("approvals-summary")).to_contain_text("waiting")

    def row(self, text: str | re.Pattern[str]) -> Locator:
        """The queue's row that shows `text` (an account reference, a reason)."""
        return self.page.get_by_test_id("queue-row").filter(has_text=text)

    def take(self, row: Locator) -> str:
        """Take the handoff of `row` with the mouse; the conversation page opens. Its handoff id."""
        handoff_id = row.get_attribute("data-handoff-id")
        assert handoff_id
        row.get_by_test_id("take").click()
        self.page.wait_for_url(f"**/handoffs/{handoff_id}")
        self.conversation_loaded()
        return handoff_id

    def conversation_loaded(self) -> None:
        expect(self.page.get_by_test_id("handoff-summary")).to_contain_text("taken by you")
        expect(self.message_box).to_be_enabled()

    # --- a conversation ------------------------------------------------------------------------------------

    @property
    def transcript(self) -> Locator:
        return self.page.get_by_test_id("transcript")

    @property
    def message_box(self) -> Locator:
        return self.page.get_by_label("Message to the debtor")

    def write(self, text: str) -> None:
        """Type a message to the debtor and send it (the button)."""
        self.message_box.fill(text)
        self.page.get_by_test_id("send").click()

    def sent(self, text: str) -> None:
        """`write`, and the message shows in the transcript as the person's."""
        self.write(text)
        expect(self.message_box).to_have_value("")
        expect(self.transcript.locator("[data-sender=agent]").filter(has_text=text)).to_have_count(1)

    def submit_terms(self, kind: str, *, note: str = "", **fields: str) -> Locator:
        """Fill the agreement form (months, monthly, amount, date) and submit it; the outcome line."""
        form = self.page.get_by_test_id("agreement-form")
        form.get_by_label("Kind").select_option(kind)
        labels = {"months": "Months", "monthly": "Monthly amount", "amount": "Amount", "date": "Date"}
        for name, value in fields.items():
            form.get_by_label(labels[name], exact=True).fill(value)
        if note:
            form.get_by_label("Note for the supervisor").fill(note)
        self.page.get_by_test_id("agreement-submit").click()
        outcome = self.page.get_by_test_id("agreement-outcome")
        expect(outcome).not_to_have_text(re.compile(r"^(|Sending…)$"))
        return outcome

    def hand_back(self, disposition: str, note: str = "") -> None:
        form = self.page.get_by_test_id("hand-back-form")
        form.get_by_label("Disposition").select_option(disposition)
        if note:
            form.get_by_label("Closing note").fill(note)
        self.page.get_by_test_id("hand-back").click()
        self.page.wait_for_url(f"{self.base_url}/")

    def shot(self, name: str) -> None:
        """A screenshot of the whole page in test-artifacts/ (the README shows some of them)."""
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTEFACTS / name), full_page=True)

    def assert_no_errors(self, allow: re.Pattern[str] | None = None) -> None:
        errors = [e for e in self.errors if not (allow and allow.search(e))]
        assert errors == [], errors
