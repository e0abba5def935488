"""The web chat in a real browser: Debian's Chromium, driven by Playwright, against the running stack.

Each step leaves a screenshot in test-artifacts/browser/<test>-<backend>-<step>.png. Chromium and
Playwright: tests/browser/conftest.py.
"""
from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from playwright.sync_api import expect
from sqlalchemy.engine import make_url

from bot.cli import DEMO
from bot.launcher import Stack
from tests.support.database import run_cli
from tests.support.webchat import Widget, verify

pytestmark = pytest.mark.stack

BALANCE = "$1,234.56"
# The browser's own reports of a connection being refused: expected while Rasa restarts, nowhere else.
CONNECTION_ERRORS = re.compile(r"WebSocket connection to .* failed|ERR_CONNECTION_REFUSED|ERR_EMPTY_RESPONSE")


@pytest.fixture
def site(db, stack) -> Stack:
    """The running stack with the demo portfolio imported into this test's clean database."""
    run_cli("import-policies", str(DEMO / "policies.yml"), database=db)
    run_cli("import-accounts", str(DEMO / "accounts.csv"), database=db)
    return stack


def test_journey_verify_ask_agree_a_plan_and_reload(db, site, widget):
    page = widget.page
    page.goto(site.web_url)
    expect(page).to_have_title(re.compile(r"^Resolve your account · Northgate Services$"))
    expect(page.locator("h1")).to_have_text("Resolve your account")
    expect(widget.panel).to_be_hidden()
    widget.shot("01-page")

    widget.open()
    greeting = widget.wait_for_reply(0)
    assert "automated assistant of Northgate Services" in greeting and "account reference" in greeting
    assert widget.transcript()[0][0] == "bot"  # the opening /greet is sent, never shown
    widget.shot("02-greeting")

    verify(widget)
    widget.shot("03-verified")

    reply = widget.say("what do I owe?")
    assert BALANCE in reply and "Acme Telecom Ltd" in reply, reply
    widget.shot("04-balance")

    assert "first payment" in widget.say("can I pay 150 a month")
    proposal = widget.say("next friday")
    assert "8 monthly payments of $150.00" in proposal and "Shall I set it up?" in proposal, proposal
    widget.shot("05-proposal")

    yes = page.locator(".ccw-reply:enabled", has_text=re.compile(r"^(yes|confirm)", re.IGNORECASE))
    if yes.count():
        before = widget.bot_count()
        yes.first.click()
        done = widget.wait_for_reply(before)
        expect(page.locator(".ccw-reply").first).to_be_disabled()
    else:
        done = widget.say("yes")
    assert "Done" in done, done
    widget.shot("06-agreed")

    account = json.loads(run_cli("account", "ACC-1001", "--json", database=db).stdout)
    assert account["plans"][0]["status"] == "active"
    assert account["plans"][0]["conversation_id"] == widget.stored()["sessionId"]

    before_reload = widget.transcript()
    page.reload()
    expect(widget.panel).to_be_visible()  # it was open: it stays open
    expect(page.locator(".ccw-msg")).to_have_count(len(before_reload))
    assert widget.transcript() == before_reload
    widget.shot("07-reloaded")

    reply = widget.say("what do I owe?")
    assert BALANCE in reply and "date of birth" not in reply and "account reference" not in reply, reply
    widget.shot("08-balance-after-reload")
    assert widget.polling_requests == []
    widget.assert_no_errors()


def test_a_reminder_link_opens_the_chat_and_asks_only_the_date_of_birth(db, site, widget):
    widget.page.goto(f"{site.web_url}/?ref=ACC-1001")
    expect(widget.panel).to_be_visible()  # opened by itself
    first = widget.wait_for_reply(0)
    widget.shot("01-opened")
    # The widget's half: the reference from the link goes with the opening message.
    assert any('"account_ref":"ACC-1001"' in frame and "/greet" in frame for frame in widget.frames_sent), \
        widget.frames_sent
    # The assistant's half: with the reference known, it asks for the date of birth straight away.
    assert "date of birth" in first and "What is your account reference" not in first, first
    reply = widget.say("12 March 1985")
    assert "debt collector" in reply, reply
    widget.shot("02-verified")
    widget.assert_no_errors()


def test_markup_typed_or_sent_shows_as_text(db, site, widget):
    page = widget.page
    page.goto(site.web_url)
    widget.open()
    widget.wait_for_reply(0)
    typed = ["<img src=x onerror=alert(1)>", "<script>alert('x')</script>"]
    for text in typed:
        widget.say(text)
    users = [text for who, text in widget.transcript() if who == "user"]
    assert users == typed
    # An agent's message or buttons reach the widget through Rasa's API: markup there is text too.
    conversation = widget.stored()["sessionId"]
    before = widget.bot_count()
    response = requests.post(
        f"{site.rasa_url}/conversations/{conversation}/tracker/events",
        params={"execute_side_effects": "true", "output_channel": "socketio"}, headers=site.api_headers(),
        json=[{"event": "bot", "text": "<b>bold</b> <img src=x onerror=alert(2)>",
               "data": {"buttons": [{"title": "<i>pick</i><img src=y onerror=alert(3)>", "payload": "/greet"}]}}],
        timeout=30,
    )
    assert response.status_code == 200, response.text
    expect(page.locator(".ccw-msg--bot")).to_have_count(before + 1)
    assert widget.transcript()[-1] == ("bot", "<b>bold</b> <img src=x onerror=alert(2)>")
    expect(page.locator(".ccw-reply").last).to_have_text("<i>pick</i><img src=y onerror=alert(3)>")
    page.wait_for_timeout(500)  # time for any image error handler to have fired
    widget.shot("01-markup-as-text")
    assert page.locator(".ccw img, .ccw script, .ccw b, .ccw i").count() == 0
    widget.assert_no_errors()


def test_empty_and_overlong_input(db, site, widget):
    page = widget.page
    page.goto(site.web_url)
    widget.open()
    widget.wait_for_reply(0)
    expect(widget.send_button).to_be_disabled()
    widget.input.fill("   ")
    expect(widget.send_button).to_be_disabled()
    widget.input.press("Enter")
    page.wait_for_timeout(500)
    assert [who for who, _ in widget.transcript()] == ["bot", "bot"]  # nothing sent
    assert not any("user_uttered" in frame and "   " in frame for frame in widget.frames_sent)

    assert widget.input.get_attribute("maxlength") == "1000"
    widget.input.focus()
    widget.input.fill("")
    page.keyboard.insert_text("x" * 1500)  # as a paste: the box keeps 1,000
    assert len(widget.input.input_value()) == 1000
    widget.shot("01-overlong-input")
    widget.say(widget.input.input_value())
    assert widget.transcript()[2] == ("user", "x" * 1000)
    widget.shot("02-sent")
    widget.assert_no_errors()


def test_a_conversation_id_the_server_did_not_issue_starts_afresh(db, site, widget):
    page = widget.page
    page.goto(site.web_url)
    widget.open()
    widget.wait_for_reply(0)
    key = page.evaluate("() => Object.keys(sessionStorage).find(k => k.startsWith('collections-chat:'))")
    forged = {"sessionId": "someone-elses-conversation", "open": True,
              "messages": [{"from": "bot", "text": "a transcript from elsewhere"}]}
    page.evaluate("([key, value]) => sessionStorage.setItem(key, value)", [key, json.dumps(forged)])
    page.reload()
    expect(page.locator(".ccw-log")).not_to_contain_text("a transcript from elsewhere")
    assert "account reference" in widget.wait_for_reply(0)  # a new conversation, greeted afresh
    assert re.fullmatch(r"[0-9a-f]{32}", widget.stored()["sessionId"])
    widget.assert_no_errors()


def test_dispute_reason_buttons(db, site, widget):
    page = widget.page
    page.goto(site.web_url)
    widget.open()
    widget.wait_for_reply(0)
    verify(widget, "ACC-1002", "30 November 1979")
    assert "What is wrong with the debt?" in widget.say("I want to dispute this")
    buttons = page.locator(".ccw-reply")
    expect(buttons).to_have_text(["It's not mine", "The amount is wrong", "I already paid it", "Identity theft",
                                  "Something else"])
    widget.shot("01-reason-buttons")
    before = widget.bot_count()
    buttons.filter(has_text="The amount is wrong").click()
    assert "in your own words" in widget.wait_for_reply(before)
    assert widget.transcript()[-2] == ("user", "The amount is wrong")
    for index in range(5):
        expect(buttons.nth(index)).to_be_disabled()
    widget.shot("02-reason-chosen")
    page.reload()
    expect(page.locator(".ccw-reply")).to_have_count(5)
    for index in range(5):  # still spent after a reload
        expect(page.locator(".ccw-reply").nth(index)).to_be_disabled()
    expect(page.locator(".ccw-reply--chosen")).to_have_text("The amount is wrong")
    widget.assert_no_errors()


def test_a_phone_sized_screen(db, site, browser, database_url):
    backend = make_url(database_url).get_backend_name()
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="en-US")
    try:
        widget = Widget(context.new_page(), f"test_a_phone_sized_screen-{backend}")
        page = widget.page
        page.goto(site.web_url)
        widget.shot("01-page")
        page.locator(".ccw-launcher").tap()
        expect(widget.panel).to_be_visible()
        widget.wait_for_reply(0)
        assert widget.panel.bounding_box() == {"x": 0, "y": 0, "width": 390, "height": 844}
        expect(page.locator(".ccw-launcher")).to_be_hidden()  # nothing covers the text box
        for control in (widget.input, widget.send_button):
            expect(control).to_be_visible()
            box = control.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] + box["height"] <= 844, box
            assert box["height"] >= 40, box  # big enough for a finger
        before = widget.bot_count()
        widget.input.tap()
        page.keyboard.type("ACC-1001")
        widget.send_button.tap()
        assert "date of birth" in widget.wait_for_reply(before)
        widget.say("my reference is " + "A" * 120)  # a long unbroken word wraps instead of widening the panel
        scroller = page.locator(".ccw-scroller")
        assert scroller.evaluate("s => s.scrollWidth <= s.clientWidth")
        widget.shot("02-chat")
        widget.assert_no_errors()
    finally:
        context.close()


def test_the_websocket_transport_is_used(db, site, widget):
    widget.page.goto(site.web_url)
    widget.open()
    widget.wait_for_reply(0)
    expect(widget.page.locator(".ccw")).to_have_attribute("data-transport", "websocket")
    assert [url for url in widget.websockets if "/socket.io/" in url and "transport=websocket" in url], \
        widget.websockets
    assert widget.polling_requests == []  # straight to the websocket, not upgraded from polling
    assert any("user_uttered" in frame for frame in widget.frames_sent)
    widget.shot("01-connected")

    # The typing indicator shows while the assistant works on a turn, and goes when it has answered.
    widget.page.evaluate("""() => {
        const dots = document.querySelector('.ccw-typing');
        window.typingSeen = false;
        new MutationObserver(() => { if (!dots.hidden) window.typingSeen = true; }).observe(dots, {attributes: true});
    }""")
    assert "date of birth" in widget.say("ACC-1001")
    assert widget.page.evaluate("window.typingSeen") is True
    expect(widget.typing).to_be_hidden()
    widget.assert_no_errors()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


@contextmanager
def another_site(body: str, port: int = 0) -> Iterator[str]:
    """Somebody else's web server (another origin) serving one page; yields its URL."""
    class OnePage(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), OnePage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/account.html"
    finally:
        server.shutdown()
        server.server_close()


def test_embedded_on_another_site_without_websockets_it_chats_over_polling(db, site, widget):
    """Another origin's page embeds the widget; websockets to Rasa fail there, as behind a proxy that refuses them.

    The widget is pointed at a port where nothing listens, so its websocket fails for real; the browser's
    HTTP requests to that port (the polling transport) are carried to the real Rasa server by Playwright.
    The other site is one the operator allowed (WEBCHAT_ORIGINS): the socket refuses pages of other origins.
    """
    page = widget.page
    dead = f"http://127.0.0.1:{_closed_port()}"
    page.route(f"{dead}/socket.io/**", lambda route: route.fulfill(
        response=route.fetch(url=route.request.url.replace(dead, site.rasa_url))))
    embedding = ("<!doctype html><title>Another site</title><h1>Pay your bill</h1>"
                 f'<script src="{site.web_url}/widget/widget.js" data-rasa-url="{dead}"'
                 ' data-title="Acme Telecom" defer>'
                 "</script>")
    # The servers were started allowing this one partner's origin (tests/conftest.py: TestStackSettings).
    with another_site(embedding, port=site.settings.partner_port) as shop:
        page.goto(shop)
        widget.open()
        assert "account reference" in widget.wait_for_reply(0)
        expect(page.locator(".ccw-title")).to_have_text("Acme Telecom")
        assert [url for url in widget.websockets if url.startswith(dead.replace("http", "ws"))]  # tried first
        expect(page.locator(".ccw")).to_have_attribute("data-transport", "polling")
        assert widget.polling_requests
        assert page.evaluate("typeof window.io") == "undefined"  # the host page's globals are left as they were
        assert "date of birth" in widget.say("ACC-1001")
        widget.shot("01-embedded-polling")
    widget.assert_no_errors(allow=CONNECTION_ERRORS)


def test_the_conversation_survives_a_rasa_restart(db, site, widget):
    page = widget.page
    page.goto(site.web_url)
    widget.open()
    widget.wait_for_reply(0)
    verify(widget)
    assert BALANCE in widget.say("what do I owe?")
    widget.shot("01-before-restart")

    site.restart("rasa")
    # The widget reconnects by itself and carries on in the same conversation...
    expect(page.locator(".ccw")).to_have_attribute("data-connected", "true", timeout=30_000)
    expect(page.locator(".ccw-status")).to_be_hidden(timeout=30_000)
    widget.shot("02-reconnected")
    reply = widget.say("what do I owe?")
    assert BALANCE in reply and "date of birth" not in reply, reply

    # ...and after a reload too.
    before_reload = widget.transcript()
    page.reload()
    expect(page.locator(".ccw-msg")).to_have_count(len(before_reload))
    assert widget.transcript() == before_reload
    reply = widget.say("what do I owe?")
    assert BALANCE in reply and "date of birth" not in reply, reply
    widget.shot("03-after-reload")
    widget.assert_no_errors(allow=CONNECTION_ERRORS)
