"""The web chat widget in a real browser, as a debtor uses it (tests/browser).

Screenshots go to test-artifacts/browser/<test>-<backend>-<step>.png.
"""
from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from tests.support import ARTEFACTS

SHOTS = ARTEFACTS / "browser"
TURN_TIMEOUT_MS = 60_000


class Widget:
    """The chat widget on one page, as a person uses it; records what went wrong in the page."""

    def __init__(self, page: Page, name: str):
        self.page = page
        self.name = name
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.websockets: list[str] = []
        self.frames_sent: list[str] = []
        self.polling_requests: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("dialog", self._dialog)
        page.on("websocket", self._websocket)
        page.on("request", lambda r: self.polling_requests.append(r.url) if "transport=polling" in r.url else None)
        self.panel = page.locator(".ccw-panel")
        self.input = page.locator(".ccw-input")
        self.send_button = page.locator(".ccw-send")
        self.typing = page.locator(".ccw-typing")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _websocket(self, websocket) -> None:
        self.websockets.append(websocket.url)
        websocket.on("framesent", lambda payload: self.frames_sent.append(str(payload)))

    def shot(self, step: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SHOTS / f"{self.name}-{step}.png"))

    def open(self) -> None:
        self.page.locator(".ccw-launcher").click()
        expect(self.panel).to_be_visible()

    def bot_count(self) -> int:
        return self.page.locator(".ccw-msg--bot").count()

    def wait_for_reply(self, after: int) -> str:
        """The bot's messages after the first `after`, once it has stopped typing."""
        self.page.wait_for_function(
            "n => document.querySelectorAll('.ccw-msg--bot').length > n"
            " && document.querySelector('.ccw-typing').hidden",
            arg=after, timeout=TURN_TIMEOUT_MS,
        )
        return "\n".join(self.page.locator(".ccw-msg--bot .ccw-bubble").all_inner_texts()[after:])

    def say(self, text: str) -> str:
        before = self.bot_count()
        self.input.fill(text)
        self.input.press("Enter")
        return self.wait_for_reply(before)

    def transcript(self) -> list[tuple[str, str]]:
        return [tuple(pair) for pair in self.page.eval_on_selector_all(
            ".ccw-msg", "items => items.map(i => [i.classList.contains('ccw-msg--user') ? 'user' : 'bot',"
                        " i.querySelector('.ccw-bubble').textContent])")]

    def stored(self) -> dict:
        """What the widget keeps in sessionStorage."""
        return json.loads(self.page.evaluate(
            "() => sessionStorage.getItem(Object.keys(sessionStorage).find(k => k.startsWith('collections-chat:')))"))

    def assert_no_errors(self, allow: re.Pattern[str] | None = None) -> None:
        errors = [e for e in self.errors if not (allow and allow.search(e))]
        assert errors == [], errors
        assert self.dialogs == [], self.dialogs


def verify(widget: Widget, ref: str = "ACC-1001", dob: str = "12 March 1985") -> None:
    assert "date of birth" in widget.say(ref)
    reply = widget.say(dob)
    assert "debt collector" in reply and "How can I help" in reply, reply
