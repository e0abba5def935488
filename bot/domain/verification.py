"""Right-party verification: who may hear about a debt, and when to stop letting them try."""
from __future__ import annotations

import re
from datetime import date

from bot.domain.dates import past_dates_in, without_dates

MAX_FAILED_ATTEMPTS = 3

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_/.]*[A-Za-z0-9]|[A-Za-z0-9]")
_FILLER = re.compile(
    r"\b(my|the|account|acct|acc|a/c|ref|reference|number|no|num|is|it's|its|it|s|id|code|case|here|:|#)\b",
    re.I,
)


def reference_candidates(text: str) -> list[str]:
    """Tokens of a message that may be an account reference, most likely first.

    References are whatever creditors issue, so no fixed pattern is assumed: any token with a
    digit that is not part of a date, or the message itself when it is a single word.
    """
    text = (text or "").strip()
    if not text:
        return []
    tokens = [t.strip(".") for t in _TOKEN.findall(without_dates(text))]
    with_digits = [t for t in tokens if any(ch.isdigit() for ch in t) and len(t) >= 3]
    if with_digits:
        return with_digits
    words = _FILLER.sub(" ", text).split()
    return words if len(words) == 1 else []


def date_of_birth_matches(date_of_birth: date, text: str, today: date) -> bool:
    return date_of_birth in past_dates_in(text, today)


def postcode_matches(on_file: str | None, text: str) -> bool:
    normalise = lambda value: re.sub(r"[^A-Z0-9]", "", (value or "").upper())  # noqa: E731
    return bool(on_file) and normalise(on_file) == normalise(text)


def is_locked(failed_attempts: int) -> bool:
    return failed_attempts >= MAX_FAILED_ATTEMPTS
