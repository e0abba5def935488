"""The call screen in a real browser, with the real servers: a collector finds an account, starts a call, verifies
the debtor with the form, and hears the debtor through Twilio's real-time transcription (a recorded call played
through the signed webhook) with the warnings and offers showing on screen, live; one click records a settlement
within the collector's tier; the call ends with the drafted summary; and a second call to the same account is
refused, naming the 7-day rule.

The page is checked with axe-core during the call, and its screenshot lands in test-artifacts/console-call.png.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Locator, expect

from bot.config import PROJECT_ROOT
from bot.launcher import Stack
from bot.sms.standin import signed_headers
from tests.browser.test_console import daytime_zone
from tests.support.axe import assert_no_serious_violations
from tests.support.console import Person
from tests.support.database import HEADER, account_json, run_cli, write

pytestmark = pytest.mark.stack

RECORDED_CALL = PROJECT_ROOT / "tests" / "data" / "twilio_transcription_call.json"
# ACC-1001 of the demo portfolio under another reference, in a zone where it is early afternoon whenever the tests
# run: calls are refused outside 08:00-21:00 in the debtor's time, and the demo debtors' zones are fixed.
REF, NAME, PHONE, BIRTH = "ACC-4001", "Morgan Avery", "+15551230041", "1985-03-12"
# In the recorded call: the collector gives the debt-collector disclosure, and the debtor has the letter with the
# reference in hand.
DISCLOSED, REFERENCE_IN_HAND = "4", "7"


@pytest.fixture
def alex(browser: Browser, demo_stack: Stack, db: str, tmp_path: Path) -> Iterator[Person]:
    """An agent signed in to the console, with a debtor who may be called now."""
    accounts = write(tmp_path / "callable.csv", (
        HEADER + f"{REF},ACME,Acme Mobile,{NAME},{BIRTH},60614,{PHONE},morgan.avery@example.com,"
        f"{daytime_zone(datetime.now(UTC))},USD,1100.00,84.56,50.00,2026-09-01\n"))
    run_cli("import-accounts", str(accounts), database=db)
    person = Person(browser, demo_stack.console_url, "alex")
    person.sign_in()
    yield person
    person.close()


def recorded_events() -> list[dict[str, str]]:
    """The recorded call's webhook posts, in order: each the form fields Twilio sends."""
    events = json.loads(RECORDED_CALL.read_text(encoding="utf-8"))["events"]
    return [{name: str(value) for name, value in event.items()} for event in events]


def heard_text(event: dict[str, str]) -> str | None:
    """What a transcription event says (a final transcript), or None for the start, the stop and partials."""
    if event.get("TranscriptionEvent") != "transcription-content" or event.get("Final", "true").lower() != "true":
        return None
    data: dict[str, Any] = json.loads(event.get("TranscriptionData") or "{}")
    return str(data.get("transcript") or "").strip() or None


def start_call(person: Person, query: str) -> None:
    """Search, choose the account in the results, and press Start call."""
    page = person.page
    page.get_by_label("Reference, phone number or name").fill(query)
    page.get_by_label("Reference, phone number or name").press("Enter")
    result = page.get_by_test_id("result").filter(has_text=REF)
    expect(result).to_have_count(1)
    result.click()
    expect(result).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("phone-choices").get_by_label(PHONE)).to_be_checked()
    page.get_by_test_id("start-call").click()


def verify(person: Person) -> None:
    """The reference and date of birth the debtor gives, checked with the form: the checklist says verified."""
    page = person.page
    expect(page.get_by_test_id("check-verified")).to_have_attribute("data-done", "false")
    expect(page.get_by_test_id("no-offers")).to_be_visible()  # nothing may be offered before
    page.get_by_label("Account reference the debtor gives").fill(REF)
    page.get_by_label("Date of birth the debtor gives").fill(BIRTH)
    page.get_by_test_id("verify").click()
    expect(page.get_by_test_id("check-verified")).to_have_attribute("data-done", "true")
    expect(page.get_by_test_id("verify-message")).not_to_be_empty()
    expect(page.get_by_test_id("verify-form")).to_be_hidden()


def last_utterance(person: Person) -> Locator:
    return person.page.get_by_test_id("utterance").last


def test_a_call_assisted_live_agreed_in_one_click_ended_and_not_repeated_within_7_days(demo_stack, db, alex):
    page = alex.page
    page.goto(f"{demo_stack.console_url}/calls")
    expect(page.get_by_label("Reference, phone number or name")).to_be_focused()
    assert_no_serious_violations(page)

    # By name: the one account, its number, the call.
    start_call(alex, "Morgan")
    page.wait_for_url(re.compile(r"/calls\?call=\d+$"))
    call_id = page.url.rsplit("=", 1)[1]
    expect(page.get_by_test_id("call-debtor")).to_have_text(NAME)
    expect(page.get_by_test_id("call-phone")).to_have_text(PHONE)
    expect(page.get_by_test_id("debtor-local-time")).to_have_text(re.compile(r"^\d{2}:\d{2} \(Etc/GMT"))
    expect(page.get_by_test_id("voicemail")).not_to_be_empty()
    expect(page.get_by_test_id("refusal")).to_be_empty()

    # The recorded call, as Twilio posts it: each final transcript shows on the screen without a reload. The
    # collector's disclosure ticks the checklist by itself; once the debtor has the letter in hand, the collector
    # checks the reference and date of birth with the form, and what may be offered appears.
    webhook = f"{demo_stack.console_url}/twilio/transcription/{call_id}"
    heard = 0
    for params in recorded_events():
        response = requests.post(webhook, data=params, timeout=60,
                                 headers=signed_headers(demo_stack.twilio.settings, webhook, params))
        assert response.status_code < 300, (response.status_code, response.text)
        text = heard_text(params)
        if text:
            heard += 1
            expect(page.get_by_test_id("utterance")).to_have_count(heard)
            expect(last_utterance(alex)).to_contain_text(text)
            expect(last_utterance(alex)).to_have_attribute("data-source", "transcription")
            speaker = "debtor" if params["Track"] == "inbound_track" else "agent"
            expect(last_utterance(alex)).to_have_attribute("data-speaker", speaker)
        if params["SequenceId"] == DISCLOSED:
            expect(page.get_by_test_id("check-disclosure_given")).to_have_attribute("data-done", "true")
        if params["SequenceId"] == REFERENCE_IN_HAND:
            verify(alex)
    assert heard == 10, heard  # the partial transcript (sequence 8) is not shown
    hardship = page.locator("[data-testid=warning][data-code=hardship]")
    expect(hardship).to_be_visible()
    expect(hardship).to_contain_text(re.compile(r"\w+"))
    expect(page.get_by_test_id("warning").first).to_have_attribute("data-code", "hardship")  # the newest first
    said = page.get_by_test_id("utterance").filter(has_text="I lost my job")
    expect(said.locator("[data-code=hardship]")).to_be_visible()  # the warning's chip on what raised it
    ladder = page.get_by_test_id("record-settlement")
    expect(ladder.first).to_be_visible()

    # The collector types what the debtor says, from the keyboard: Enter sends it; replies are suggested.
    page.get_by_label("What was said").focus()
    page.keyboard.type("Could I settle it for less if I pay it all at once?")
    page.keyboard.press("Enter")
    expect(page.get_by_label("What was said")).to_have_value("")
    expect(last_utterance(alex)).to_contain_text("settle it for less")
    expect(last_utterance(alex)).to_have_attribute("data-speaker", "debtor")
    expect(page.get_by_test_id("suggestion")).not_to_have_count(0)
    expect(page.get_by_test_id("checklist")).to_be_visible()
    alex.shot("console-call.png")
    assert_no_serious_violations(page)

    # One click records the deepest settlement of the ladder: within the agent's tier, so no supervisor.
    deepest = ladder.last
    amount = deepest.get_attribute("data-amount")
    assert amount
    deepest.click()
    expect(page.get_by_test_id("agreement-result")).to_contain_text("Recorded")
    expect(page.get_by_test_id("call-agreements")).to_contain_text("(alex)")
    settlements = account_json(db, REF)["settlements"]
    assert [(s["amount"], s["authorized_by"], s["authorized_actor"]) for s in settlements] == [
        (amount, "agent", "alex")], settlements

    # The outcome, the drafted summary (edited), the disposition, and the end of the call.
    page.get_by_test_id("outcome-conversation").click()
    expect(page.get_by_test_id("outcome-conversation")).to_have_attribute("aria-pressed", "true")
    page.get_by_test_id("draft-summary").click()
    note = page.get_by_label("Summary note")
    expect(note).not_to_have_value("")
    expect(note).to_be_focused()
    note.press("Control+End")
    page.keyboard.type("\nDebtor will pay from savings.")
    expect(page.get_by_test_id("end-outcome")).to_have_value("conversation")
    page.get_by_label("Disposition").select_option("agreement")
    page.get_by_test_id("end-call").click()
    expect(page.get_by_test_id("call-state")).to_contain_text("Ended")
    expect(page.get_by_test_id("call-state")).to_contain_text("agreement")
    expect(page.get_by_label("What was said")).to_be_disabled()
    assert_no_serious_violations(page)

    # A second call to the account, the same day: refused, naming the rule.
    start_call(alex, REF)
    refusal = page.get_by_test_id("refusal")
    expect(refusal).to_contain_text("7 days")
    expect(refusal).to_have_attribute("data-rule", "recent_conversation")
    expect(refusal).to_have_attribute("role", "alert")
    alex.assert_no_errors(allow=re.compile(r"status of 422"))  # the refusal, as the browser logs it
