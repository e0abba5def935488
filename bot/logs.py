"""Log records without phone numbers, dates of birth or forged lines, whoever logs them.

Installed once per process by `import bot` (bot/__init__.py), so the Rasa server, the action server, the
web page and the command line all get it, for their own loggers and for Rasa's, Sanic's and SQLAlchemy's.
It is a record factory rather than a handler filter because every record passes through the factory,
whatever handlers Rasa or Sanic attach later.

- A phone-number-like run of 7 or more digits (with spaces, dots, dashes, brackets, a leading +) keeps its
  last two digits: `+*********01` lets an operator tell numbers apart without telling a reader any of them.
- A date-like sequence (1985-03-12, 03/12/1985, 12.03.85, 12 March 1985, March 12th, 1985) becomes
  `[date]`: a date of birth looks like any other date, so every date in a message is withheld. The record's
  own time comes from the formatter, not the message, and stays.
- Control characters in the message (a newline in a REST `sender`) are escaped, so nobody can forge a log
  line. A traceback keeps its lines but is masked too.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_DAY = r"(?:[0-3]?\d)(?:st|nd|rd|th)?"
_DATE = re.compile(
    r"\b(?:"
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"  # 1985-03-12
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"  # 03/12/1985, 12.03.85
    rf"|{_DAY}(?:\s+of)?[\s,./-]+{_MONTHS}\.?(?:[\s,./-]+\d{{2,4}})?"  # 12 March 1985, 12-mar-85, 12 March
    rf"|{_MONTHS}\.?[\s,./-]+{_DAY}(?:[\s,./-]+\d{{2,4}})?"  # March 12th, 1985; march 12th 85
    rf"|{_MONTHS}\.?[\s,./-]+\d{{4}}"  # March 1985
    r"|\d{8}"  # 19850312
    r")\b",
    re.IGNORECASE,
)
# 7 to 15 digits, possibly grouped, possibly with a leading + or a bracketed area code.
_PHONE = re.compile(r"(?<![\w+])\+?\(?\d(?:[\s().-]{0,2}\d){6,14}(?!\w)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]|\r?\n")
WITHHELD_DATE = "[date]"


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    if digits < 7:
        return text
    seen, masked = 0, []
    for ch in text:
        seen += ch.isdigit()
        masked.append("*" if ch.isdigit() and seen <= digits - 2 else ch)
    return "".join(masked)


def mask(text: str) -> str:
    """The text with dates and phone numbers withheld (dates first: 1985-03-12 is not a phone number)."""
    return _PHONE.sub(_mask_phone, _DATE.sub(WITHHELD_DATE, text))


def _escape_control(match: re.Match[str]) -> str:
    return match.group(0).encode("unicode_escape").decode("ascii")


def clean_message(text: str) -> str:
    """One log line: masked, with control characters (newlines) escaped."""
    return _CONTROL.sub(_escape_control, mask(text))


def _masked_record_factory(previous: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed call must still be logged, as written
            message = f"{record.msg!s} {record.args!r}"
        record.msg, record.args = clean_message(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return record

    factory.masks_personal_data = True  # type: ignore[attr-defined]
    return factory


def install() -> None:
    """Mask every log record created from now on in this process; calling it again changes nothing."""
    current = logging.getLogRecordFactory()
    if not getattr(current, "masks_personal_data", False):
        logging.setLogRecordFactory(_masked_record_factory(current))
