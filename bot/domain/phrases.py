"""Amounts, months and future dates as debtors write them: "150 a month", "$1,200", "next Friday", "the 15th"."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from bot.domain.dates import _MONTH, _MONTHS, without_dates

_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
# Full names anywhere; short forms ("fri") only after next/this/on, so "month" or "sat down" are not days.
_WEEKDAY = re.compile(
    r"\b(?:(next|this|on)\s+)?((?:mon|tues|wednes|thurs|fri|satur|sun)day)\b"
    r"|\b(next|this|on)\s+(mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)\b",
    re.I,
)
_AMOUNT = re.compile(
    r"(?<![\w.])(?:[$£€]\s?)?(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?\s*(k\b)?(?:\s?(?:dollars|bucks|pounds|quid|euros|usd|gbp|eur))?",
    re.I,
)
_MONTHS_COUNT = re.compile(r"\b(\d{1,3})\s*(?:months?|mos?|mths?)\b", re.I)
_YEARS_COUNT = re.compile(r"\b(\d{1,2}|a|one|two|three)\s*(?:years?|yrs?)\b", re.I)
_WORD_NUMBERS = {"a": 1, "one": 1, "two": 2, "three": 3}
_IN_PERIOD = re.compile(r"\bin\s+(\d{1,3}|a|one|two|three)\s*(days?|weeks?)\b", re.I)
_DAY_OF_MONTH = re.compile(r"\b(?:the\s+)?(\d{1,2})(st|nd|rd|th)\b", re.I)
_MONTH_THEN_DAY = re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*,?\s*\d{{4}})", re.I)
_DAY_THEN_MONTH = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+({_MONTH})\b(?!\s*,?\s*\d{{4}})", re.I)
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_PER_MONTH = re.compile(r"\b(a|per|each|every)\s+(month|mth|mo)\b|\bmonthly\b|/\s?(month|mo)\b", re.I)


def amounts_in(text: str) -> list[Decimal]:
    """Money amounts in a message, largest first is *not* assumed: in the order written.

    Numbers that are clearly months ("12 months"), days ("the 15th") or dates are not amounts.
    """
    cleaned = _MONTHS_COUNT.sub(" ", without_dates(text or ""))
    cleaned = _IN_PERIOD.sub(" ", _DAY_OF_MONTH.sub(" ", _DAY_THEN_MONTH.sub(" ", _MONTH_THEN_DAY.sub(" ", cleaned))))
    cleaned = _YEARS_COUNT.sub(" ", cleaned)
    found = []
    for whole, fraction, thousands in _AMOUNT.findall(cleaned):
        try:
            amount = Decimal(whole.replace(",", "") + (fraction or ""))
        except InvalidOperation:  # pragma: no cover - the pattern admits only digits
            continue
        found.append(amount * 1000 if thousands else amount)
    return found


def is_per_month(text: str) -> bool:
    """Whether the text speaks of an amount per month ("150 a month", "monthly")."""
    return bool(_PER_MONTH.search(text or ""))


def months_in(text: str) -> int | None:
    """A duration the text gives, in months ("6 months", "two years"), or None."""
    match = _MONTHS_COUNT.search(text or "")
    if match:
        return int(match.group(1))
    match = _YEARS_COUNT.search(text or "")
    if match:
        years = match.group(1).lower()
        return 12 * (_WORD_NUMBERS.get(years) or int(years))
    return None


def _next_day_of_month(day: int, today: date) -> date | None:
    for offset in range(0, 3):
        month_index = today.month - 1 + offset
        year, month = today.year + month_index // 12, month_index % 12 + 1
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _next_month_day(month: int, day: int, today: date) -> date | None:
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None


def future_date_in(text: str, today: date) -> date | None:
    """The first date on or after `today` that the text names, or None."""
    text = (text or "").lower()
    if re.search(r"\bday after tomorrow\b", text):
        return today + timedelta(days=2)
    if re.search(r"\b(tomorrow|tmrw|tmr|2moro)\b", text):
        return today + timedelta(days=1)
    if re.search(r"\b(today|tonight|right now|now)\b", text):
        return today
    if match := _ISO.search(text):
        try:
            candidate = date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
        return candidate if candidate >= today else None
    if match := _IN_PERIOD.search(text):
        count = _WORD_NUMBERS.get(match[1]) or int(match[1])
        return today + timedelta(days=count * (7 if match[2].startswith("week") else 1))
    if re.search(r"\bnext week\b", text):
        return today + timedelta(days=7 - today.weekday())
    if match := _MONTH_THEN_DAY.search(text):
        return _next_month_day(_MONTHS[match[1].lower()], int(match[2]), today)
    if match := _DAY_THEN_MONTH.search(text):
        return _next_month_day(_MONTHS[match[2].lower()], int(match[1]), today)
    if match := _DAY_OF_MONTH.search(text):
        return _next_day_of_month(int(match[1]), today)
    if match := _WEEKDAY.search(text):
        prefix, day = (match[1] or match[3] or "").lower(), (match[2] or match[4]).lower()
        weekday = next(i for i, name in enumerate(_WEEKDAYS) if name.startswith(day[:3]))
        ahead = (weekday - today.weekday()) % 7
        if prefix == "next" and ahead == 0:
            ahead = 7
        return today + timedelta(days=ahead)
    return None
