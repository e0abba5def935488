"""Handing a conversation to a person: the record the agent console lists."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.services import accounts, audit
from bot.storage.orm import Handoff

if TYPE_CHECKING:
    from bot.services.unit_of_work import SqlUnitOfWork


def open_handoff(uow: SqlUnitOfWork, conversation_id: str, reason: str, account_ref: str | None = None,
                 **details: Any) -> int:
    """Open a handoff, or add to the one already open for this conversation: one person, one conversation."""
    return open_in(uow.session, conversation_id, reason, account_ref, at=uow.now(), **details)


def open_in(session: Session, conversation_id: str, reason: str, account_ref: str | None = None, *,
            at: datetime | None = None, **details: Any) -> int:
    """`open_handoff` inside a use case's own transaction, so the handoff and what prompted it commit together.

    `at`: when it was opened (the use case's `uow.now()`; default the real time).
    """
    account = accounts.find(session, account_ref) if account_ref else None
    existing = session.scalars(select(Handoff).where(
        Handoff.conversation_id == conversation_id, Handoff.status != "closed")).first()
    if existing is not None:
        existing.details = {**existing.details, "later_reasons": [*existing.details.get("later_reasons", []), reason]}
        if existing.account_id is None and account is not None:
            existing.account_id = account.id
        audit.record(session, "handoff_updated", account=account, conversation_id=conversation_id, at=at,
                     reason=reason, id=existing.id, **details)
        return int(existing.id)
    handoff = Handoff(account_id=account.id if account else None, conversation_id=conversation_id, reason=reason,
                      details=details)
    if at is not None:
        handoff.created_at = at
    session.add(handoff)
    session.flush()
    audit.record(session, "handoff_opened", account=account, conversation_id=conversation_id, reason=reason, at=at,
                 id=handoff.id, **details)
    return int(handoff.id)


def is_open(uow: SqlUnitOfWork, conversation_id: str) -> bool:
    """A person has this conversation: the bot stays silent in it, even in a new session."""
    return uow.session.scalars(select(Handoff.id).where(
        Handoff.conversation_id == conversation_id, Handoff.status != "closed")).first() is not None
