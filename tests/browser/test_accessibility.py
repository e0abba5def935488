"""The debtor's chat page for people using assistive technology or only a keyboard: axe-core (pinned in
bot/web/package-lock.json) finds no serious or critical violation, and the chat works from the keyboard alone.
The console's pages are checked in tests/browser/test_console.py."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.axe import assert_no_serious_violations, tab_to, violations
from tests.support.webchat import Widget

pytestmark = pytest.mark.stack


def type_and_send(widget: Widget, text: str) -> str:
    """Types into the focused text box and sends with Enter; the assistant's answer."""
    before = widget.bot_count()
    widget.page.keyboard.type(text)
    widget.page.keyboard.press("Enter")
    return widget.wait_for_reply(before)


def test_the_chat_page_has_no_serious_violation_before_and_during_a_conversation(demo_stack, widget):
    page = widget.page
    page.goto(demo_stack.web_url)
    assert_no_serious_violations(page)  # the page with the launcher only

    widget.open()
    widget.wait_for_reply(0)
    assert_no_serious_violations(page)  # the panel, with the greeting

    # The two findings of issue 12 on a conversation with messages: list items outside a list (an <ol> given
    # the role log) and a second banner landmark (the panel's header); looked for by name, whatever their impact.
    widget.say("ACC-1001")
    widget.say("12 March 1985")
    widget.say("I want to dispute this")  # a message with reply buttons
    expect(page.locator(".ccw-reply")).to_have_count(5)
    assert page.locator(".ccw-msg").count() >= 7
    assert_no_serious_violations(page)
    found = {violation["id"] for violation in violations(page, impacts=("minor", "moderate", "serious", "critical"))}
    assert not found & {"listitem", "landmark-no-duplicate-banner", "landmark-unique", "aria-allowed-role"}, found
    # Assistive technology hears the conversation as a log holding a list of messages.
    expect(page.get_by_role("log", name="Conversation")).to_be_visible()
    expect(page.get_by_role("log").get_by_role("listitem")).to_have_count(page.locator(".ccw-msg").count())
    expect(page.get_by_role("banner")).to_have_count(1)
    widget.shot("01-axe-conversation")
    widget.assert_no_errors()


def test_the_chat_works_from_the_keyboard_alone(demo_stack, widget):
    page = widget.page
    page.goto(demo_stack.web_url)
    tab_to(page.get_by_role("button", name="Start a secure chat"))
    page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    expect(widget.input).to_be_focused()  # opening puts the focus in the text box
    assert "account reference" in widget.wait_for_reply(0)

    assert "date of birth" in type_and_send(widget, "ACC-1001")
    expect(widget.input).to_be_focused()  # still there after sending: the next answer can be typed at once
    assert "debt collector" in type_and_send(widget, "12 March 1985")
    assert "What is wrong with the debt?" in type_and_send(widget, "I want to dispute this")

    # The reply buttons are reached backwards from the text box, and pressed with Enter.
    tab_to(page.get_by_role("button", name="The amount is wrong"), backwards=True)
    before = widget.bot_count()
    page.keyboard.press("Enter")
    assert "in your own words" in widget.wait_for_reply(before)
    assert widget.transcript()[-2] == ("user", "The amount is wrong")
    expect(widget.input).to_be_focused()  # the spent button gave the focus to the text box, where it is needed

    # The transcript itself takes the focus, so that it can be scrolled with the arrow keys.
    tab_to(page.get_by_role("log", name="Conversation"), backwards=True)
    widget.shot("01-keyboard-transcript-focused")

    # Escape closes the panel and gives the focus back to the launcher, which Enter opens again.
    page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    expect(page.locator(".ccw-launcher")).to_be_focused()
    page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    expect(widget.input).to_be_focused()
    widget.assert_no_errors()
