"""The append-only audit log: who did what, when, on which account and conversation."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.storage.db import as_utc
from bot.storage.orm import Account, AuditEvent, utcnow

if TYPE_CHECKING:
    from bot.services.unit_of_work import SqlUnitOfWork

ASSISTANT = "assistant"


def record(
    session: Session,
    action: str,
    *,
    actor: str = ASSISTANT,
    account: Account | None = None,
    conversation_id: str | None = None,
    at: datetime | None = None,
    **details: Any,
) -> None:
    """Append an event in the caller's transaction; `at` is when it happened (the use case's `uow.now()`)."""
    session.add(
        AuditEvent(
            occurred_at=at or utcnow(),
            actor=actor,
            action=action,
            account_id=account.id if account else None,
            conversation_id=conversation_id,
            details=details,
        )
    )


def events_for(session: Session, account: Account) -> list[AuditEvent]:
    """An account's events in the order they were written, inside a caller's transaction."""
    return list(session.scalars(select(AuditEvent).where(AuditEvent.account_id == account.id).order_by(AuditEvent.id)))


@dataclass(frozen=True)
class Entry:
    """One event of an account's audit log, as people read it."""

    occurred_at: datetime  # UTC
    actor: str
    action: str
    conversation_id: str | None
    details: dict[str, Any]


def log_of(uow: SqlUnitOfWork, account_ref: str) -> list[Entry]:
    """An account's audit log, oldest first; raises UnknownAccount."""
    from bot.services.accounts import UnknownAccount  # here: accounts records through this module

    account = uow.session.scalars(select(Account).where(
        func.upper(Account.account_ref) == (account_ref or "").strip().upper())).first()
    if account is None:
        raise UnknownAccount(account_ref)
    return [Entry(as_utc(event.occurred_at), event.actor, event.action, event.conversation_id,
                  dict(event.details or {})) for event in events_for(uow.session, account)]
