"""The append-only audit log: who did what, when, on which account and conversation."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.orm import Account, AuditEvent, utcnow

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
    """Append an event; `at` is when it happened (the caller's clock), now by default."""
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
    return list(session.scalars(select(AuditEvent).where(AuditEvent.account_id == account.id).order_by(AuditEvent.id)))
