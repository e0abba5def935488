"""Handing a conversation to a person: the record the agent console lists."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import accounts, audit
from bot.storage.db import unit_of_work
from bot.storage.orm import Handoff

def open_handoff(conversation_id: str, reason: str, account_ref: str | None = None, **details: Any) -> int:
    """Open a handoff, or add to the one already open for this conversation: one person, one conversation."""
    with unit_of_work() as session:
        return open_in(session, conversation_id, reason, account_ref, **details)


def open_in(session: Session, conversation_id: str, reason: str, account_ref: str | None = None,
            **details: Any) -> int:
    """`open_handoff` inside a use case's own transaction, so the handoff and what prompted it commit together."""
    account = accounts.find(session, account_ref) if account_ref else None
    existing = session.scalars(select(Handoff).where(
        Handoff.conversation_id == conversation_id, Handoff.status != "closed")).first()
    if existing is not None:
        existing.details = {**existing.details, "later_reasons": [*existing.details.get("later_reasons", []), reason]}
        if existing.account_id is None and account is not None:
            existing.account_id = account.id
        audit.record(session, "handoff_updated", account=account, conversation_id=conversation_id,
                     reason=reason, id=existing.id, **details)
        return existing.id
    handoff = Handoff(account_id=account.id if account else None, conversation_id=conversation_id, reason=reason,
                      details=details)
    session.add(handoff)
    session.flush()
    audit.record(session, "handoff_opened", account=account, conversation_id=conversation_id, reason=reason,
                 id=handoff.id, **details)
    return handoff.id


def is_open(conversation_id: str) -> bool:
    """A person has this conversation: the bot stays silent in it, even in a new session."""
    with unit_of_work() as session:
        return session.scalars(select(Handoff.id).where(
            Handoff.conversation_id == conversation_id, Handoff.status != "closed")).first() is not None
