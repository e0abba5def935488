"""What every channel checks in a debtor's message before the assistant reads it."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A debtor's chat message; anything longer is a paste or an attack, and would only slow the parser.
MAX_MESSAGE_CHARS = 1000

# Control characters (NUL, escapes, bidi overrides) carry no meaning for us; newlines and tabs are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]")

TOO_LONG_REPLY = f"Sorry, that message is too long for me. Please keep it under {MAX_MESSAGE_CHARS:,} characters."
EMPTY_REPLY = "I didn't get any text there. Please type your message."
# What a channel says when the assistant failed on a message, rather than leave the person with silence.
APOLOGY = "Sorry, something went wrong on our side. Please try again in a moment."


_ACCOUNT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_/.]{0,63}$")


def linked_metadata(metadata: object) -> dict[str, str]:
    """What a client may tell us beside its message: the account reference of a reminder link, nothing else."""
    ref = metadata.get("account_ref") if isinstance(metadata, dict) else None
    return {"account_ref": ref} if isinstance(ref, str) and _ACCOUNT_REF.match(ref) else {}


@dataclass(frozen=True)
class Screened:
    text: str  # the cleaned message, to pass on when `rejection` is None
    rejection: str | None = None  # what to tell the sender instead


def screen(raw: object) -> Screened:
    """The message cleaned for the assistant, or the reason it cannot be read (to say back to the sender)."""
    if not isinstance(raw, str):
        return Screened("", EMPTY_REPLY)
    text = _CONTROL.sub("", unicodedata.normalize("NFC", raw)).strip()
    if not text:
        return Screened("", EMPTY_REPLY)
    if len(text) > MAX_MESSAGE_CHARS:
        return Screened("", TOO_LONG_REPLY)
    return Screened(text)
