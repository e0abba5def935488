"""What the channels remember of a conversation between messages, in the database so that it survives a
restart and holds across server processes: the button payloads the assistant last offered (the only texts
starting with `/` passed on as commands, and what a numbered SMS reply stands for), and the provider message
ids already handled (a redelivered webhook is handled once)."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot.storage.db import unit_of_work
from bot.storage.orm import InboundMessage, OfferedChoices


def offer(conversation_id: str, payloads: Sequence[str]) -> None:
    """Remember the payloads of the buttons just sent in this conversation, in place of any offered before."""
    payloads = [str(payload) for payload in payloads]
    try:
        _store(conversation_id, payloads)
    except IntegrityError:  # two offers at once in a new conversation: the later one wins
        _store(conversation_id, payloads)


def _store(conversation_id: str, payloads: list[str]) -> None:
    with unit_of_work() as session:
        row = session.get(OfferedChoices, conversation_id)
        if not payloads:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(OfferedChoices(conversation_id=conversation_id, payloads=payloads))
        else:
            row.payloads = payloads


def offered(conversation_id: str) -> list[str]:
    """The payloads of the buttons last offered in this conversation and not yet answered."""
    with unit_of_work() as session:
        row = session.get(OfferedChoices, conversation_id)
        return list(row.payloads) if row is not None else []


def take(conversation_id: str) -> list[str]:
    """The payloads last offered, spent by the debtor's next message whatever it says (as the widget's buttons
    are): a "2" typed much later must not pick the second of some old choice."""
    with unit_of_work() as session:
        row = session.get(OfferedChoices, conversation_id)
        if row is None:
            return []
        payloads = list(row.payloads)
        session.execute(delete(OfferedChoices).where(OfferedChoices.conversation_id == conversation_id))
        return payloads


def first_delivery(message_id: str) -> bool:
    """Record a provider's message id; False when it was recorded before (a webhook delivered again)."""
    key = message_id if len(message_id) <= 64 else hashlib.sha256(message_id.encode()).hexdigest()
    try:
        with unit_of_work() as session:
            session.add(InboundMessage(message_id=key))
        return True
    except IntegrityError:
        return False
