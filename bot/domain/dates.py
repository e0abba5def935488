"""Dates as people write them, and dates shown back to them."""
from __future__ import annotations

import re
from datetime import date

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
            ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
            ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"
_ISO = re.compile(r"\b(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})\b")
_NUMERIC = re.compile(r"\b(\d{1,2})[-/. ](\d{1,2})[-/. ](\d{4}|\d{2})\b")
_COMPACT = re.compile(r"\b(\d{8})\b")
_DAY_MONTH = re.compile(rf"\b{_ORDINAL}(?:\s+of)?[\s\-/.,]*({_MONTH})\.?[\s\-/.,]+(\d{{4}}|\d{{2}})\b", re.I)
_MONTH_DAY = re.compile(rf"\b({_MONTH})\.?[\s\-/.,]+{_ORDINAL}[\s,\-/.]+(\d{{4}}|\d{{2}})\b", re.I)


class DateError(ValueError):
    """Text that is not the date it should be."""


def parse_iso_date(text: str) -> date:
    """The strict form files use: 1985-03-12."""
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError as error:
        raise DateError(f"date {text!r} is not an ISO 8601 date such as 1985-03-12") from error


def _year(text: str, today: date) -> int:
    """Two-digit years of birth: the most recent year not in the future."""
    year = int(text)
    if len(text) == 2:
        year += 2000 if 2000 + year <= today.year else 1900
    return year


def _valid(year: int, month: int, day: int, today: date) -> date | None:
    try:
        candidate = date(year, month, day)
    except ValueError:
        return None
    return candidate if date(1900, 1, 1) <= candidate <= today else None


def past_dates_in(text: str, today: date) -> list[date]:
    """Every past date the text may mean, in the order a reader would try them.

    All-numeric forms such as 03/12/1985 are ambiguous between month-first (US) and day-first
    (most other places); both readings are returned so the caller can match either.
    """
    text = text or ""
    found: list[date] = []

    def add(year: int, month: int, day: int) -> None:
        candidate = _valid(year, month, day, today)
        if candidate and candidate not in found:
            found.append(candidate)

    for y, m, d in _ISO.findall(text):
        add(int(y), int(m), int(d))
    for d, month, y in _DAY_MONTH.findall(text):
        add(_year(y, today), _MONTHS[month.lower()], int(d))
    for month, d, y in _MONTH_DAY.findall(text):
        add(_year(y, today), _MONTHS[month.lower()], int(d))
    for first, second, y in _NUMERIC.findall(text):
        year = _year(y, today)
        add(year, int(first), int(second))  # month first: 03/12/1985 is 12 March
        add(year, int(second), int(first))  # day first: 12/03/1985 is 12 March
    for digits in _COMPACT.findall(text):
        add(int(digits[:4]), int(digits[4:6]), int(digits[6:]))  # 19850312
        add(int(digits[4:]), int(digits[:2]), int(digits[2:4]))  # 03121985
        add(int(digits[4:]), int(digits[2:4]), int(digits[:2]))  # 12031985
    return found


def format_date(value: date) -> str:
    """Unambiguous in every locale: '12 March 1985'."""
    return f"{value.day} {value.strftime('%B')} {value.year}"


def without_dates(text: str) -> str:
    """The text with anything shaped like a date blanked out."""
    for pattern in (_ISO, _DAY_MONTH, _MONTH_DAY, _NUMERIC):
        text = pattern.sub(" ", text)
    return text
