"""Text messaging rules: the carrier keywords (SPEC 2.9) and fitting replies into SMS."""
from __future__ import annotations

import re
from enum import Enum

# Whole-message keywords (any case), as carriers and the CTIA handbook use them.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})


class Keyword(Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


def keyword_of(body: str) -> Keyword | None:
    """The keyword a text is, if the whole text is one ("Stop", " STOP. " and "stop!" are; "stop texting me" is not)."""
    word = re.sub(r"[\s.!?]+", "", body or "").upper()
    if word in OPT_OUT_KEYWORDS:
        return Keyword.OPT_OUT
    if word in OPT_IN_KEYWORDS:
        return Keyword.OPT_IN
    if word in HELP_KEYWORDS:
        return Keyword.HELP
    return None


# GSM 03.38 basic character set: a text of only these fits 160 characters in one SMS; any other
# character (emoji, most accents) switches the whole message to UCS-2, which fits 70.
_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")  # two septets each
SINGLE_SMS_GSM7, SINGLE_SMS_UCS2 = 160, 70
MAX_PARTS = 6  # a longer reply is shortened: nobody reads a dozen texts
_ELLIPSIS = "..."


def is_gsm7(text: str) -> bool:
    """Whether the text fits the GSM 7-bit alphabet (160 characters a part) rather than UCS-2 (70)."""
    return all(ch in _GSM7 or ch in _GSM7_EXTENDED for ch in text)


def sms_length(text: str) -> int:
    """Length as the network counts it: septets for GSM-7 (extended characters count two), else UTF-16 units."""
    if is_gsm7(text):
        return sum(2 if ch in _GSM7_EXTENDED else 1 for ch in text)
    return len(text.encode("utf-16-le")) // 2


def _limit(text: str) -> int:
    return SINGLE_SMS_GSM7 if is_gsm7(text) else SINGLE_SMS_UCS2


def _fits(text: str, limit: int) -> bool:
    return sms_length(text) <= limit


def split_for_sms(text: str) -> list[str]:
    """A reply as texts that each fit one SMS, split between sentences or lines where possible, else between words.

    Parts are numbered ("(1/3)") when there are several; past MAX_PARTS the reply is shortened.
    """
    text = re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+", " ", (text or "").strip()))
    if not text:
        return []
    if _fits(text, _limit(text)):
        return [text]
    room = _limit(text) - len(" (10/10)")
    parts: list[str] = []
    current = ""
    # Sentences end at . ! ? before a space (so "$1,234.56" is one word) or at a line break.
    for sentence in re.findall(r"(?:[^\n.!?]|[.!?]+(?=[^\s.!?]))*(?:[.!?]+|\n+|$)[ \t]*", text):
        pieces = [sentence] if _fits(sentence.rstrip(), room) else re.findall(r"\S+\s*", sentence)
        for piece in pieces:
            while not _fits(piece.rstrip(), room):  # a "word" longer than a whole text: cut it
                head, piece = _cut(piece, room)
                parts.extend([current.rstrip(), head] if current.strip() else [head])
                current = ""
            if _fits((current + piece).rstrip(), room):
                current += piece
            else:
                parts.append(current.rstrip())
                current = piece
    parts = [part for part in [*parts, current.rstrip()] if part.strip()]
    if len(parts) > MAX_PARTS:
        parts = parts[:MAX_PARTS]
        while not _fits(parts[-1] + _ELLIPSIS, room):
            parts[-1] = parts[-1][:-1]
        parts[-1] = parts[-1].rstrip() + _ELLIPSIS
    return [f"{part.strip()} ({number}/{len(parts)})" for number, part in enumerate(parts, start=1)]


def _cut(piece: str, room: int) -> tuple[str, str]:
    end = len(piece)
    while not _fits(piece[:end], room):
        end -= 1
    return piece[:end], piece[end:]


def with_numbered_choices(text: str, titles: list[str]) -> str:
    """Buttons, which SMS lacks, as numbered choices: the reply "1" then stands for the first."""
    choices = ", ".join(f"{number} {title}" for number, title in enumerate(titles, start=1))
    return f"{text}\nReply {choices}."


def chosen_payload(reply: str, payloads: list[str]) -> str | None:
    """The payload of the numbered choice a reply names ("2", " 2. "), if it names one."""
    match = re.fullmatch(r"\s*(\d{1,2})\s*[.)]?\s*", reply or "")
    if match and 1 <= int(match.group(1)) <= len(payloads):
        return payloads[int(match.group(1)) - 1]
    return None
