"""What every channel checks in a debtor's message before the assistant reads it, and what it says back."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

# A debtor's chat message; anything longer is a paste or an attack, and would only slow the parser.
MAX_MESSAGE_CHARS = 1000

# Control characters (NUL, escapes, bidi overrides) carry no meaning for us; newlines and tabs are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]")

# Rasa reads a message starting with this as an intent with JSON entities (its RegexMessageHandler), before
# any NLU: typed by a debtor, `/restart` would reset the conversation and `/inform{"account_ref": ...}` set one.
COMMAND_PREFIX = "/"

TOO_LONG_REPLY = f"Sorry, that message is too long for me. Please keep it under {MAX_MESSAGE_CHARS:,} characters."
EMPTY_REPLY = "I didn't get any text there. Please type your message."


def apology(agency_phone: str) -> str:
    """What a channel says when a turn failed or said nothing, rather than leave the person with silence."""
    return (f"Sorry, something went wrong on our side and I can't answer right now. Please try again in a "
            f"moment, or call us on {agency_phone} to speak to a person.")


_ACCOUNT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_/.]{0,63}$")


def linked_metadata(metadata: object) -> dict[str, str]:
    """What a client may tell us beside its message: the account reference of a reminder link, nothing else."""
    ref = metadata.get("account_ref") if isinstance(metadata, dict) else None
    return {"account_ref": ref} if isinstance(ref, str) and _ACCOUNT_REF.match(ref) else {}


def message_metadata(page_metadata: object, client: str) -> dict[str, str]:
    """A message's metadata: the linked reference the client may give, and who the client is, which only the
    server knows ("ip:<address>" or "phone:<number>"; verification counts failures per client)."""
    return {**linked_metadata(page_metadata), "client": client}


@dataclass(frozen=True)
class Screened:
    text: str  # the cleaned message, to pass on when `rejection` is None
    rejection: str | None = None  # what to tell the sender instead


def screen(raw: object, offered: Collection[str] = ()) -> Screened:
    """The message cleaned for the assistant, or the reason it cannot be read (to say back to the sender).

    `offered` are the button payloads the assistant last offered in this conversation: a text starting with
    `/` passes on as a command only when it is exactly one of them, and never with entities (Rasa would set
    whatever a `{...}` after the intent names); any other loses its leading slashes and is read as words.
    """
    if not isinstance(raw, str):
        return Screened("", EMPTY_REPLY)
    # Lone UTF-16 surrogates (a JSON "\ud800") are not text and make the NLU pipeline raise.
    text = raw.encode("utf-8", "ignore").decode("utf-8")
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()
    if text.startswith(COMMAND_PREFIX) and (text not in offered or "{" in text):
        text = text.lstrip(COMMAND_PREFIX).strip()
    if not text:
        return Screened("", EMPTY_REPLY)
    if len(text) > MAX_MESSAGE_CHARS:
        return Screened("", TOO_LONG_REPLY)
    return Screened(text)


_ISSUED_ID = re.compile(r"^[0-9a-f]{32}$")


def loggable_conversation(conversation_id: str) -> str:
    """A conversation id as a log line may show it: an id we issued as is, a caller's name (a REST sender,
    which may hold a newline to forge a line, or a phone number) only as a short hash."""
    if _ISSUED_ID.match(conversation_id or ""):
        return conversation_id
    return "#" + hashlib.sha256((conversation_id or "").encode("utf-8", "replace")).hexdigest()[:12]
