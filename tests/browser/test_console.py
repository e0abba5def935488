"""The agent console in a real browser, with the real servers: a debtor asks for a person on the web chat or by
SMS, the handoff reaches a collector's queue live, the collector takes it, writes, agrees terms within their
authority that the debtor accepts, and hands back; a second collector is refused; terms beyond an agent's
authority wait for a supervisor in a browser session of their own; a message the rules forbid never leaves.

Every console page is checked with axe-core and used from the keyboard. Screenshots of the queue, a
conversation and the approval queue land in test-artifacts/ (the README shows them).
"""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from bot.launcher import Stack
from bot.storage.db import unit_of_work
from bot.storage.orm import PhoneConversation
from bot.storage.tracker_store import WITHHELD
from tests.stack.test_sms_channel import Phone
from tests.support.axe import assert_no_serious_violations, tab_to
from tests.support.console import Person, wait_until
from tests.support.database import HEADER, account_json, run_cli, write
from tests.support.webchat import Widget, verify

pytestmark = pytest.mark.stack

HANDOFF = "I want to talk to a real person"
PERSON_WILL_REPLY = "a person will reply"
ESCALATION_VISIBLE_MS = 2_000  # the goal: a new handoff in the queue within 2 s, without a reload
BACK = "You're back with our automated assistant."
ROBIN = "+15551230007"  # a number of the account the SMS test imports
# Records the notifications a page shows (its title and body), and still shows them.
RECORD_NOTIFICATIONS = """
window.notified = [];
if (window.Notification) {
  const Shown = window.Notification;
  window.Notification = class extends Shown {
    constructor(title, options) {
      window.notified.push([title, options && options.body]);
      super(title, options);
    }
  };
}
"""


@pytest.fixture
def people(browser: Browser, demo_stack: Stack) -> Iterator[dict[str, Person]]:
    """Logins made on demand (`people["alex"]`, role from the name: casey is the supervisor), each in a browser
    context of their own, closed after the test."""
    class Desk(dict):
        def __missing__(self, login: str) -> Person:
            person = Person(browser, demo_stack.console_url, login, "supervisor" if login == "casey" else "agent")
            self[login] = person
            return person

    desk = Desk()
    yield desk
    for person in desk.values():
        person.close()


def asked_for_a_person(widget: Widget) -> float:
    """The debtor asks for a person; when (monotonic) their browser showed the assistant's answer."""
    reply = widget.say(HANDOFF)
    shown = time.monotonic()
    assert PERSON_WILL_REPLY in reply, reply
    return shown


def test_a_web_chat_handoff_taken_answered_agreed_and_handed_back(demo_stack, db, widget, people):
    alex = people["alex"]
    alex.page.goto(demo_stack.console_url)  # no session: the login form
    expect(alex.page).to_have_url(re.compile(r"/login\?next=%2F$"))
    assert_no_serious_violations(alex.page)
    alex.sign_in()
    # The person allowed notifications; the page's calls are recorded (a headless browser shows none).
    alex.context.grant_permissions(["notifications"], origin=demo_stack.console_url)
    alex.context.add_init_script(RECORD_NOTIFICATIONS)
    alex.queue()
    expect(alex.page.get_by_test_id("queue-summary")).to_have_text("0 waiting, 0 taken.")
    assert_no_serious_violations(alex.page)

    # The debtor verifies in the web chat and asks for a person: the queue shows them without a reload.
    widget.page.goto(demo_stack.web_url)
    widget.open()
    widget.wait_for_reply(0)
    verify(widget)
    asked_at = asked_for_a_person(widget)
    row = alex.row("ACC-1001")
    expect(row).to_be_visible(timeout=ESCALATION_VISIBLE_MS)
    waited_ms = (time.monotonic() - asked_at) * 1000
    assert waited_ms < ESCALATION_VISIBLE_MS, waited_ms
    expect(row).to_contain_text("Web chat")
    expect(row).to_contain_text("Verified")
    expect(row).to_contain_text("$1,234.56")
    expect(alex.page).to_have_title(re.compile(r"^\(1\) Queue"))  # the tab says someone is waiting
    expect(alex.page.get_by_test_id("queue-announce")).to_contain_text("New conversation waiting")
    alex.page.wait_for_function("() => window.notified.length > 0")
    assert alex.page.evaluate("window.notified") == [
        ["Collections console", "New conversation waiting: Request human on Web chat."]]
    alex.shot("console-queue.png")
    assert_no_serious_violations(alex.page)

    # From the keyboard alone: Tab to the Take button, Enter; the conversation opens.
    tab_to(row.get_by_test_id("take"))
    alex.page.keyboard.press("Enter")
    alex.page.wait_for_url(re.compile(r"/handoffs/\d+$"))
    alex.conversation_loaded()
    transcript = alex.transcript
    expect(transcript).to_contain_text(HANDOFF)
    expect(transcript).to_contain_text(WITHHELD)  # the date-of-birth answer is masked
    expect(transcript).not_to_contain_text("12 March 1985")
    expect(alex.page.get_by_test_id("balance")).to_have_text("$1,234.56")
    # Times in the person's own zone (their browser's: New York here), whatever the server's.
    stamp = transcript.locator("time").first
    moment = datetime.fromisoformat(stamp.get_attribute("datetime").replace("Z", "+00:00"))
    local = moment.astimezone(ZoneInfo("America/New_York"))
    expected = f"{local:%b} {local.day}, {local.year}, {local.hour % 12 or 12}:{local:%M} {local:%p}"
    assert " ".join(stamp.get_attribute("title").split()) == expected  # ICU puts a narrow space before AM/PM

    # A message typed and sent with the keyboard reaches the debtor's chat.
    tab_to(alex.message_box)
    alex.page.keyboard.type("Hello Jordan, this is Alex from Northgate. How can I help?")
    tab_to(alex.page.get_by_test_id("send"))
    before = widget.bot_count()
    alex.page.keyboard.press("Enter")
    assert widget.wait_for_reply(before) == "Hello Jordan, this is Alex from Northgate. How can I help?"
    expect(transcript.locator("[data-sender=agent]")).to_contain_text("Alex from Northgate")

    # The debtor's answer appears in the agent's transcript, live.
    widget.input.fill("Could I pay it over 18 months?")
    widget.input.press("Enter")
    expect(transcript.locator("[data-sender=debtor]").last).to_have_text(
        re.compile(r"Could I pay it over 18 months\?"))

    # A plan at the agent's tier (18 months: beyond the assistant's 12, within an agent's 24) goes to the debtor
    # with Yes and No; the debtor's Yes records it.
    before = widget.bot_count()
    outcome = alex.submit_terms("plan", months="18")
    expect(outcome).to_contain_text("Offer sent to the debtor")
    offer = widget.wait_for_reply(before)
    # 18 instalments: 17 of $68.58 and a last one of $68.70
    assert "17 monthly payments of $68.58" in offer and "then $68.70" in offer, offer
    assert offer.endswith("Do you agree to this?"), offer
    yes = widget.page.locator(".ccw-reply", has_text="Yes")
    expect(yes).to_be_enabled()
    expect(widget.page.locator(".ccw-reply", has_text="No")).to_be_enabled()
    before = widget.bot_count()
    yes.click()
    confirmed = widget.wait_for_reply(before)
    assert "Your payment plan" in confirmed, confirmed
    [plan] = account_json(db, "ACC-1001")["plans"]
    assert plan["status"] == "active" and len(plan["installments"]) == 18, plan
    assert plan["authorized_by"] == "agent" and plan["authorized_actor"] == "alex", plan
    expect(alex.page.get_by_test_id("agreements")).to_contain_text("authorised by agent (alex)")
    alex.shot("console-conversation.png")
    assert_no_serious_violations(alex.page)

    # Hand back: the assistant says so, and answers the debtor's next message.
    before = widget.bot_count()
    alex.hand_back("agreement", "18-month plan agreed in the chat")
    assert BACK in widget.wait_for_reply(before)
    reply = widget.say("what do I owe?")
    assert "$1,234.56" in reply, reply
    [handoff] = account_json(db, "ACC-1001")["handoffs"]
    assert handoff["status"] == "closed" and handoff["disposition"] == "agreement" and \
        handoff["assigned_to"] == "alex", handoff
    widget.assert_no_errors()
    alex.assert_no_errors()


def daytime_zone(now: datetime) -> str:
    """A zone where it is early afternoon at `now`: texts may go there (08:00-21:00), whenever the tests run."""
    offset = (14 - now.hour + 12) % 24 - 12  # -12 to +11 hours from UTC
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")  # the IANA Etc zones count the other way round


def test_an_sms_handoff_answered_and_agreed_with_a_numbered_reply(demo_stack, db, people, tmp_path):
    demo_stack.twilio.clear()
    # A debtor whose texts may be answered now: the contact window is checked in the debtor's own zone.
    accounts = write(tmp_path / "daytime.csv", (
        HEADER + f"ACC-3001,ACME,Acme Mobile,Robin Diaz,1982-04-09,60614,{ROBIN},,"
        f"{daytime_zone(datetime.now(UTC))},USD,"
        "1100.00,84.56,50.00,2026-09-01\n"))
    run_cli("import-accounts", str(accounts), database=db)
    alex = people["alex"]
    alex.sign_in()
    alex.queue()
    phone = Phone(demo_stack, ROBIN)
    phone.text("what do I owe?")
    assert "debt collector" in "\n".join(phone.text("9 April 1982"))
    assert PERSON_WILL_REPLY in "\n".join(phone.text(HANDOFF))
    row = alex.row("ACC-3001")
    expect(row).to_contain_text("SMS", timeout=ESCALATION_VISIBLE_MS)
    alex.take(row)
    expect(alex.page.get_by_test_id("contact")).to_contain_text(re.compile(r"A text may go now\s*Yes"))
    with unit_of_work() as session:
        conversation = session.scalars(
            select(PhoneConversation.conversation_id).where(PhoneConversation.phone == ROBIN)).one()

    def texts_since(count: int) -> list[str]:
        return [m["body"] for m in demo_stack.twilio.messages(ROBIN)[count:]]

    count = len(demo_stack.twilio.messages(ROBIN))
    alex.sent("Hi Robin, this is Alex from Northgate.")
    assert texts_since(count) == ["Hi Robin, this is Alex from Northgate."]

    # The debtor's text shows in the transcript, live.
    assert phone.text("can I spread it over 18 months") == []  # a person has the conversation: the bot is silent
    expect(alex.transcript.locator("[data-sender=debtor]").last).to_contain_text("spread it over 18 months")

    count = len(demo_stack.twilio.messages(ROBIN))
    expect(alex.submit_terms("plan", months="18")).to_contain_text("Offer sent to the debtor")
    [terms] = wait_until(lambda: texts_since(count), what="the terms texted")
    assert "17 monthly payments of $68.58" in terms and terms.endswith("Do you agree to this?\nReply 1 Yes, 2 No."), \
        terms

    count = len(demo_stack.twilio.messages(ROBIN))
    assert phone.text("1") == []  # "1" is Yes; the console records the plan and confirms it
    confirmation = wait_until(lambda: texts_since(count), what="the confirmation texted")
    assert "Your payment plan" in "\n".join(confirmation), confirmation
    [plan] = account_json(db, "ACC-3001")["plans"]
    assert plan["authorized_by"] == "agent" and plan["authorized_actor"] == "alex", plan
    assert plan["conversation_id"] == conversation
    alex.assert_no_errors()


def test_a_second_agent_cannot_take_a_taken_handoff_and_nothing_about_the_debt_reaches_an_unverified_person(
        demo_stack, db, widget, people):
    alex, blair = people["alex"], people["blair"]
    for person in (alex, blair):
        person.sign_in()
    # Blair's queue is loaded once, and then hears nothing more: the Take button stays on screen after Alex took it.
    blair.page.route("**/api/events*", lambda route: route.abort())
    widget.page.goto(demo_stack.web_url)
    widget.open()
    widget.wait_for_reply(0)
    asked_for_a_person(widget)  # not verified: the person may not know who this is
    alex.queue()
    blair.queue()
    handoff_id = alex.take(alex.row("Not identified"))
    blair.row("Not identified").get_by_test_id("take").click()
    expect(blair.page.get_by_test_id("queue-error")).to_have_text("alex has already taken that conversation.")
    expect(blair.row("Not identified")).to_contain_text("Taken by alex")
    expect(blair.row("Not identified").get_by_test_id("take")).to_have_count(0)
    blair.page.goto(f"{demo_stack.console_url}/handoffs/{handoff_id}")  # nor can Blair read it
    expect(blair.page.get_by_role("heading", name="Not allowed")).to_be_visible()

    # The message box says what may not be said; a message naming the balance is refused, naming the rule.
    expect(alex.page.get_by_test_id("compose-hint")).to_contain_text("not verified")
    before = widget.bot_count()
    alex.write("Your balance is $1,234.56 with Acme Telecom Ltd.")
    error = alex.page.get_by_test_id("message-error")
    expect(error).to_contain_text("The person is not verified")
    expect(alex.message_box).to_have_attribute("aria-invalid", "true")
    expect(alex.message_box).to_be_focused()
    # The debtor got nothing: the next message they get is the one that may go.
    alex.sent("Hello, this is Alex. Could you tell me your account reference?")
    assert widget.wait_for_reply(before) == "Hello, this is Alex. Could you tell me your account reference?"
    assert "1,234.56" not in " ".join(text for _, text in widget.transcript())
    expect(alex.transcript).not_to_contain_text("1,234.56")
    widget.assert_no_errors()
    alex.assert_no_errors(allow=re.compile(r"status of 422"))  # the refusal, as the browser logs it
    # The refused take, the page refused, and the event stream this test cut.
    blair.assert_no_errors(allow=re.compile(r"status of (409|403)|net::ERR_FAILED"))


def test_a_settlement_beyond_the_agents_authority_waits_for_a_supervisor(demo_stack, db, widget, people):
    alex, casey = people["alex"], people["casey"]
    casey.sign_in()
    casey.approvals()
    expect(casey.page.get_by_test_id("approvals-summary")).to_have_text("0 requests waiting.")
    assert_no_serious_violations(casey.page)
    alex.sign_in()
    alex.queue()
    widget.page.goto(demo_stack.web_url)
    widget.open()
    widget.wait_for_reply(0)
    verify(widget, "ACC-1002", "30 November 1979")
    asked_for_a_person(widget)
    alex.take(alex.row("ACC-1002"))

    # 40 % off $455.00 is beyond an agent's 35 % and within a supervisor's 50 %.
    outcome = alex.submit_terms("settlement", amount="273.00", note="Lost her job; a relative pays it at once.")
    expect(outcome).to_contain_text("Approval requested from a supervisor")
    request = casey.page.get_by_test_id("approval-row").filter(has_text="ACC-1002")
    expect(request).to_be_visible()  # live, without a reload
    expect(request).to_contain_text("$273.00")
    expect(request).to_contain_text("Lost her job")
    expect(request).to_contain_text("alex")
    expect(casey.page.get_by_test_id("approvals-count")).to_have_text("(1 pending)")
    casey.shot("console-approvals.png")
    assert_no_serious_violations(casey.page)
    assert account_json(db, "ACC-1002")["settlements"] == []  # nothing recorded while it waits

    request.get_by_test_id("approve").click()
    expect(casey.page.get_by_test_id("approvals-announce")).to_contain_text("Approved ACC-1002")
    expect(alex.page.get_by_test_id("agreement-outcome")).to_contain_text("Approved by casey")
    [settlement] = account_json(db, "ACC-1002")["settlements"]
    assert settlement["amount"] == "273.00" and settlement["status"] == "pending", settlement
    assert settlement["authorized_by"] == "supervisor" and settlement["authorized_actor"] == "casey", settlement
    assert settlement["requested_by"] == "alex", settlement
    alex.assert_no_errors()
    casey.assert_no_errors()
