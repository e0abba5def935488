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


def _readings(pattern: re.Pattern[str], match: re.Match[str], today: date) -> list[tuple[int, int, int]]:
    """(year, month, day) for each way a matched date may be read."""
    if pattern is _ISO:
        y, m, d = match.groups()
        return [(int(y), int(m), int(d))]
    if pattern is _DAY_MONTH:
        d, month, y = match.groups()
        return [(_year(y, today), _MONTHS[month.lower()], int(d))]
    if pattern is _MONTH_DAY:
        month, d, y = match.groups()
        return [(_year(y, today), _MONTHS[month.lower()], int(d))]
    if pattern is _NUMERIC:
        first, second, y = match.groups()
        year = _year(y, today)
        return [(year, int(first), int(second)),  # month first: 03/12/1985 is 12 March
                (year, int(second), int(first))]  # day first: 12/03/1985 is 12 March
    digits = match.group(1)
    return [(int(digits[:4]), int(digits[4:6]), int(digits[6:])),  # 19850312
            (int(digits[4:]), int(digits[:2]), int(digits[2:4])),  # 03121985
            (int(digits[4:]), int(digits[2:4]), int(digits[:2]))]  # 12031985


def date_mentions(text: str, today: date) -> list[tuple[date, ...]]:
    """Each place in the text written like a date, in order, with every past date it may mean.

    All-numeric forms such as 03/12/1985 are ambiguous between month-first (US) and day-first
    (most other places): such a place carries both readings. Places that two forms read at once
    (overlapping text) are one place with all their readings; places that can mean no past date
    (31/02/1985, next year) are left out.
    """
    text = text or ""
    found: list[tuple[int, int, list[tuple[int, int, int]]]] = sorted(
        (match.start(), match.end(), _readings(pattern, match, today))
        for pattern in (_ISO, _DAY_MONTH, _MONTH_DAY, _NUMERIC, _COMPACT)
        for match in pattern.finditer(text)
    )
    places: list[tuple[int, int, list[tuple[int, int, int]]]] = []
    for start, end, readings in found:
        if places and start < places[-1][1]:
            last_start, last_end, last_readings = places[-1]
            places[-1] = (last_start, max(end, last_end), last_readings + readings)
        else:
            places.append((start, end, readings))
    mentions = []
    for _, _, readings in places:
        dates: list[date] = []
        for year, month, day in readings:
            candidate = _valid(year, month, day, today)
            if candidate and candidate not in dates:
                dates.append(candidate)
        if dates:
            mentions.append(tuple(dates))
    return mentions


def past_dates_in(text: str, today: date) -> list[date]:
    """Every past date the text may mean, in the order written (both readings of an all-numeric date)."""
    found: list[date] = []
    for mention in date_mentions(text, today):
        found.extend(day for day in mention if day not in found)
    return found


def format_date(value: date) -> str:
    """Unambiguous in every locale: '12 March 1985'."""
    return f"{value.day} {value.strftime('%B')} {value.year}"


def without_dates(text: str) -> str:
    """The text with anything shaped like a date blanked out."""
    for pattern in (_ISO, _DAY_MONTH, _MONTH_DAY, _NUMERIC):
        text = pattern.sub(" ", text)
    return text
