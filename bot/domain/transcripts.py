"""A conversation's transcript from Rasa's tracker events, as people read it: a clicked button by its title, and an
answer to the date-of-birth question withheld (defence in depth: the tracker store withholds it when it saves it,
bot/storage/tracker_store.py). Pure: the console shows it, and a legal case bundle prints it."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

WITHHELD = "[date of birth withheld]"  # as bot/storage/tracker_store.py withholds a stored answer

# The questions whose answer is a date of birth (or, by SMS, a postcode): domain.yml's utter_ask_date_of_birth,
# utter_not_a_date and utter_one_date all name it or ask again for "a date".
_ASKS_DATE_OF_BIRTH = re.compile(r"date of birth|read that as a date", re.IGNORECASE)
_ASKS_POSTCODE = re.compile(r"postcode|zip", re.IGNORECASE)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_ORDINAL = r"\d{1,2}(?:st|nd|rd|th)?"
_DATE_LIKE = re.compile(
    rf"\b\d{{1,4}}\s*[./\-]\s*\d{{1,2}}\s*[./\-]\s*\d{{1,4}}\b"  # 12/03/1985, 1985-03-12, 12.3.85
    rf"|\b{_ORDINAL}\s+(?:of\s+)?{_MONTH}(?:,?\s*\d{{2,4}})?\b"  # 12 March 1985, 12th of Mar
    rf"|\b{_MONTH}\s+{_ORDINAL}(?:,?\s*\d{{2,4}})?\b"  # March 12, 1985
    rf"|\b{_MONTH},?\s+\d{{4}}\b"  # March 1985
    r"|\b\d{1,2}\s+\d{1,2}\s+\d{2,4}\b"  # 12 03 1985
    r"|\b\d{6,8}\b"  # 12031985
    r"|\b(?:19|20)\d{2}\b",  # a year
    re.IGNORECASE)
_POSTCODE_LIKE = re.compile(r"\b\d{5}(?:-\d{4})?\b|\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)


def transcript_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages among a tracker's events (see `RasaApi.transcript`)."""
    lines: list[dict[str, Any]] = []
    last_bot: dict[str, Any] | None = None
    for event in events:
        kind = event.get("event")
        if kind == "bot":
            buttons = _buttons(event.get("data"))
            text = event.get("text") or ""
            if not text and not buttons:
                continue
            agent = (event.get("metadata") or {}).get("agent")
            last_bot = {"sender": "agent" if agent else "bot", "text": text, "at": _when(event.get("timestamp")),
                        "agent": agent if isinstance(agent, str) else None, "buttons": buttons}
            lines.append(last_bot)
        elif kind == "user":
            text = str(event.get("text") or "")
            question = last_bot["text"] if last_bot else ""
            chosen = next((b["title"] for b in (last_bot or {}).get("buttons", []) if b["payload"] == text), None)
            lines.append({"sender": "debtor", "text": chosen or _masked(text, question),
                          "at": _when(event.get("timestamp")), "agent": None, "buttons": []})
    return lines


def _masked(text: str, question: str) -> str:
    """Defence in depth for an answer to the date-of-birth question the store did not withhold."""
    if text == WITHHELD or not _ASKS_DATE_OF_BIRTH.search(question):
        return text
    masked = _DATE_LIKE.sub(WITHHELD, text)
    if _ASKS_POSTCODE.search(question):
        masked = _POSTCODE_LIKE.sub(WITHHELD, masked)
    return masked


def _buttons(data: Any) -> list[dict[str, str]]:
    if not isinstance(data, dict):
        return []
    raw = data.get("buttons") or data.get("quick_replies") or []
    return [{"title": str(b.get("title") or ""), "payload": str(b.get("payload") or b.get("title") or "")}
            for b in raw if isinstance(b, dict)]


def _when(timestamp: Any) -> str | None:
    if not isinstance(timestamp, (int, float)):
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")
