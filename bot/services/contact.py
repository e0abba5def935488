"""Outbound contact: every path that reaches out to a debtor asks `outbound_verdict` first (SPEC section 7)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.compliance import ContactRules, ContactSituation, Verdict, may_contact, rule_set
from bot.services import accounts
from bot.services.cases import active_flags
from bot.services.sms import number_opted_out
from bot.storage.db import as_utc
from bot.storage.orm import Account, AuditEvent

if TYPE_CHECKING:
    from bot.services.unit_of_work import SqlUnitOfWork

CALL_ATTEMPTED, PHONE_CONVERSATION = "call_attempted", "phone_conversation"


def _times(session: Session, account: Account, action: str) -> list[datetime]:
    """When the audit log saw `action` on the account, in UTC (SQLite hands times back without a zone)."""
    times = session.scalars(select(AuditEvent.occurred_at).where(
        AuditEvent.account_id == account.id, AuditEvent.action == action))
    return [as_utc(t) for t in times]


def contact_verdict(uow: SqlUnitOfWork, account_ref: str, channel: str, address: str,
                    rules: ContactRules | None = None) -> Verdict:
    """`outbound_verdict` at `uow.now()` for the account with this reference; raises UnknownAccount."""
    return outbound_verdict(uow.session, accounts.get(uow.session, account_ref), channel, address, uow.now(), rules)


def outbound_verdict(session: Session, account: Account, channel: str, address: str, now: datetime,
                     rules: ContactRules | None = None) -> Verdict:
    """May we contact this account's debtor at `address` on `channel` at `now`? Opt-outs and wrong numbers count
    too. In a caller's transaction."""
    points = [c for c in account.debtor.contact_points if c.value == address]
    if not points:
        return Verdict(False, f"{address} is not a contact point of this debtor")
    if any(c.status == "wrong" for c in points):
        return Verdict(False, f"{address} was reported as reaching the wrong person")
    # An opt-out covers the number wherever it is on file, not only on this debtor's record.
    opted_out = frozenset({"sms"} if number_opted_out(session, address) else ())
    conversations = _times(session, account, PHONE_CONVERSATION)
    situation = ContactSituation(
        channel=channel, debtor_timezone=account.debtor.timezone, account_status=account.status,
        flags=frozenset(active_flags(account)), opted_out_channels=opted_out,
        call_attempts=_times(session, account, CALL_ATTEMPTED),
        last_phone_conversation=max(conversations) if conversations else None,
    )
    return may_contact(situation, now, rules or rule_set())
