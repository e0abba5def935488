"""Right-party verification: what counts as an answer, and when to stop letting anyone try.

Two limits, both here and nowhere else:
- per conversation (SPEC 2.1): three failed attempts lock verification in that conversation;
- across conversations and channels, over the attempts kept in the database: five failures for one
  account reference within 24 hours, or ten failures from one client (an IP address or a phone
  number) within 24 hours, refuse every further attempt, right or wrong, until the oldest of those
  failures is 24 hours old. References are counted as given (normalised), on file or not, so that a
  lock says nothing about which references exist.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from bot.domain.dates import date_mentions, without_dates

MAX_FAILED_ATTEMPTS = 3  # per conversation (SPEC 2.1)

REFERENCE_FAILURE_LIMIT = 5  # per account reference, across conversations and channels
# Per client: enough for a household or an office behind one address to get a few references wrong,
# far too few to search dates of birth (an attacker must also spread over addresses or numbers).
CLIENT_FAILURE_LIMIT = 10
WINDOW = timedelta(hours=24)

REFERENCE_MAX_CHARS = 64

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-_/.]*[A-Za-z0-9]|[A-Za-z0-9]")
# What people put around a postcode: "my postcode is SW1A 1AA", "zip: 10027".
_POSTCODE_WORDS = re.compile(r"\b(?:my|the|post\s*code|postal\s*code|zip\s*code|zip|code|is|it's|its|it)\b|[:#,.]",
                             re.I)
# Letters and digits with a digit before any hyphen: 60614, SW1A1AA, 10027-1234, 00-950; not ACC-1001.
_POSTCODE_SHAPE = re.compile(r"[A-Z0-9]*[0-9][A-Z0-9]*(?:-[0-9]+)?")
_POSTCODE_CHARS = range(3, 11)


def reference_candidates(text: str) -> list[str]:
    """Tokens of a message that may be an account reference, most likely first.

    References are whatever creditors issue, so no fixed pattern is assumed, except that they carry
    a digit: any token of three or more characters with a digit that is not part of a date. A word
    without one ("hi", "thanks", "ok") is never taken for a reference.
    """
    tokens = [t.strip(".") for t in _TOKEN.findall(without_dates(text or ""))]
    return [t for t in tokens if any(ch.isdigit() for ch in t) and len(t) >= 3]


def normalise_reference(reference: str) -> str:
    """The key failures are counted under: case and spacing do not make a new reference."""
    return re.sub(r"\s+", "", reference or "").upper()[:REFERENCE_MAX_CHARS]


# --- one answer, one date ------------------------------------------------------------------------

class AnswerKind(Enum):
    DATE = "date"  # one date (an all-numeric one with its two readings): an attempt
    POSTCODE = "postcode"  # postcode-shaped, where a postcode may verify: an attempt
    SEVERAL_DATES = "several_dates"  # ask for one date; not an attempt
    REFERENCE = "reference"  # an account reference where the date of birth was asked; not an attempt
    NOTHING = "nothing"  # small talk, a question, an unreadable date; not an attempt


@dataclass(frozen=True)
class Answer:
    kind: AnswerKind
    dates: tuple[date, ...] = ()
    postcode: str | None = None
    reference: str | None = None

    @property
    def is_attempt(self) -> bool:
        return self.kind in (AnswerKind.DATE, AnswerKind.POSTCODE)


def _one_date(readings: tuple[date, ...]) -> bool:
    """One date as written: a single reading, or the month-first and day-first readings of 03/12/1985."""
    if len(readings) == 1:
        return True
    if len(readings) != 2:
        return False
    first, second = readings
    return first.year == second.year and (first.month, first.day) == (second.day, second.month)


def postcode_in(text: str) -> str | None:
    """The postcode an answer gives, compacted and upper case, when the answer is shaped like one."""
    words = _POSTCODE_WORDS.sub(" ", text or "").upper().split()
    compact = "".join(words)
    if len(words) > 2 or len(compact) not in _POSTCODE_CHARS or not _POSTCODE_SHAPE.fullmatch(compact):
        return None
    return compact


def read_answer(text: str, today: date, *, postcode_allowed: bool = False) -> Answer:
    """What an answer to "your date of birth (or postcode)?" is, and whether it is an attempt at all.

    Only one date counts: a message with several (or a chain of overlapping ones) would test every
    date in it at once.
    """
    mentions = date_mentions(text, today)
    if len(mentions) > 1 or (mentions and not _one_date(mentions[0])):
        return Answer(AnswerKind.SEVERAL_DATES)
    if mentions:
        return Answer(AnswerKind.DATE, dates=mentions[0])
    if postcode_allowed and (postcode := postcode_in(text)):
        return Answer(AnswerKind.POSTCODE, postcode=postcode)
    references = [c for c in reference_candidates(text) if any(ch.isalpha() for ch in c)]
    if references:
        return Answer(AnswerKind.REFERENCE, reference=references[0])
    return Answer(AnswerKind.NOTHING)


def date_of_birth_matches(date_of_birth: date, text: str, today: date) -> bool:
    """Whether the text gives one date, and it is this date of birth (in either reading if all-numeric)."""
    answer = read_answer(text, today)
    return answer.kind is AnswerKind.DATE and date_of_birth in answer.dates


def _postcode_key(value: str | None) -> str:
    return re.sub(r"[^A-Z0-9]", "", (value or "").upper())


def postcode_matches(on_file: str | None, given: str | None) -> bool:
    """Whether the postcode given is the one on file, ignoring case, spaces and punctuation (never if none on file)."""
    return bool(_postcode_key(on_file)) and _postcode_key(on_file) == _postcode_key(given)


# --- locks ---------------------------------------------------------------------------------------

def is_locked(failed_attempts: int) -> bool:
    """The conversation's own lock (SPEC 2.1)."""
    return failed_attempts >= MAX_FAILED_ATTEMPTS


@dataclass(frozen=True)
class Attempt:
    """One recorded answer. Rows written at the same moment by the same client are one attempt (an SMS
    answer tested against every account on the number is kept once per reference)."""

    reference: str | None
    client: str | None
    succeeded: bool
    at: datetime


@dataclass(frozen=True)
class Lock:
    reference_failures: int  # failures for the reference within the window
    client_failures: int  # failed attempts from the client within the window
    until: datetime | None  # when attempts are taken again; None: they are taken now

    @property
    def locked(self) -> bool:
        return self.until is not None


def lock_on(attempts: Iterable[Attempt], *, references: Iterable[str], client: str | None, now: datetime) -> Lock:
    """Whether attempts on these references (normalised) from this client are refused at `now`, and until when.

    Refused attempts are not failures (they are never recorded as attempts), so an attacker cannot keep
    a lock alive by hammering it, and the debtor can try again 24 hours after the failures.
    """
    keys = set(references)
    recent = [a for a in attempts if not a.succeeded and now - WINDOW < a.at <= now]
    by_reference: dict[str, list[datetime]] = {}
    for attempt in recent:
        if attempt.reference in keys:
            by_reference.setdefault(attempt.reference, []).append(attempt.at)
    by_client = sorted({a.at for a in recent if client is not None and a.client == client})
    untils = [sorted(times)[-REFERENCE_FAILURE_LIMIT] + WINDOW
              for times in by_reference.values() if len(times) >= REFERENCE_FAILURE_LIMIT]
    if len(by_client) >= CLIENT_FAILURE_LIMIT:
        untils.append(by_client[-CLIENT_FAILURE_LIMIT] + WINDOW)
    return Lock(reference_failures=max((len(t) for t in by_reference.values()), default=0),
                client_failures=len(by_client), until=max(untils, default=None))
