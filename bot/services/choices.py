"""What the channels remember of a conversation between messages, in the database so that it survives a
restart and holds across server processes: the button payloads the assistant last offered (the only texts
starting with `/` passed on as commands, and what a numbered SMS reply stands for), and the provider message
ids already handled (a redelivered webhook is handled once)."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from bot.storage.orm import Base, InboundMessage, OfferedChoices

if TYPE_CHECKING:
    from bot.services.unit_of_work import SqlUnitOfWork


def upsert(session: Session, model: type[Base], values: Mapping[str, Any], update: Sequence[str] = ()) -> bool:
    """Insert a row; where its key is taken, set the columns named in `update` instead (none: leave it as it is).

    One statement (INSERT ... ON CONFLICT), so two transactions writing the same new key at once do not fail:
    the second waits for the first, then updates or leaves its row. True when a row was inserted or updated.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(model).values(**values)
    keys = [column.name for column in model.__table__.primary_key.columns]  # type: ignore[attr-defined]
    if update:
        statement = statement.on_conflict_do_update(index_elements=keys, set_={name: values[name] for name in update})
    else:
        statement = statement.on_conflict_do_nothing()
    return bool(cast(CursorResult, session.execute(statement)).rowcount)


def offer(uow: SqlUnitOfWork, conversation_id: str, payloads: Sequence[str]) -> None:
    """Remember the payloads of the buttons just sent in this conversation, in place of any offered before."""
    kept = [str(payload) for payload in payloads]
    if not kept:
        uow.session.execute(delete(OfferedChoices).where(OfferedChoices.conversation_id == conversation_id))
        return
    # Two offers at once in a new conversation: the later one wins.
    upsert(uow.session, OfferedChoices, {"conversation_id": conversation_id, "payloads": kept, "offered_at": uow.now()},
           update=("payloads", "offered_at"))


def offered(uow: SqlUnitOfWork, conversation_id: str) -> list[str]:
    """The payloads of the buttons last offered in this conversation and not yet answered."""
    row = uow.session.get(OfferedChoices, conversation_id)
    return list(row.payloads) if row is not None else []


def take(uow: SqlUnitOfWork, conversation_id: str) -> list[str]:
    """The payloads last offered, spent by the debtor's next message whatever it says (as the widget's buttons
    are): a "2" typed much later must not pick the second of some old choice."""
    row = uow.session.get(OfferedChoices, conversation_id)
    if row is None:
        return []
    payloads = list(row.payloads)
    uow.session.execute(delete(OfferedChoices).where(OfferedChoices.conversation_id == conversation_id))
    return payloads


def first_delivery(uow: SqlUnitOfWork, message_id: str) -> bool:
    """Record a provider's message id; False when it was recorded before (a webhook delivered again)."""
    key = message_id if len(message_id) <= 64 else hashlib.sha256(message_id.encode()).hexdigest()
    return upsert(uow.session, InboundMessage, {"message_id": key, "received_at": uow.now()})
