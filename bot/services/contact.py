"""Outbound contact: every path that reaches out to a debtor asks `outbound_verdict` first (SPEC section 7)."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.compliance import ContactRules, ContactSituation, Verdict, may_contact, rule_set
from bot.services.cases import active_flags
from bot.storage.orm import Account, AuditEvent, ContactPoint

CALL_ATTEMPTED, PHONE_CONVERSATION = "call_attempted", "phone_conversation"


def _times(session: Session, account: Account, action: str) -> list[datetime]:
    """When the audit log saw `action` on the account, in UTC (SQLite hands times back without a zone)."""
    times = session.scalars(select(AuditEvent.occurred_at).where(
        AuditEvent.account_id == account.id, AuditEvent.action == action))
    return [t if t.tzinfo else t.replace(tzinfo=timezone.utc) for t in times]


def _opted_out_anywhere(session: Session, address: str) -> bool:
    return session.scalars(select(ContactPoint.id).where(
        ContactPoint.value == address, ContactPoint.sms_opt_out.is_(True))).first() is not None


def outbound_verdict(session: Session, account: Account, channel: str, address: str, now: datetime,
                     rules: ContactRules | None = None) -> Verdict:
    """May we contact this account's debtor at `address` on `channel` now? Opt-outs and wrong numbers count too."""
    points = [c for c in account.debtor.contact_points if c.value == address]
    if not points:
        return Verdict(False, f"{address} is not a contact point of this debtor")
    if any(c.status == "wrong" for c in points):
        return Verdict(False, f"{address} was reported as reaching the wrong person")
    # An opt-out covers the number wherever it is on file, not only on this debtor's record (SPEC 7).
    opted_out = frozenset({"sms"} if _opted_out_anywhere(session, address) else ())
    conversations = _times(session, account, PHONE_CONVERSATION)
    situation = ContactSituation(
        channel=channel, debtor_timezone=account.debtor.timezone, account_status=account.status,
        flags=frozenset(active_flags(account)), opted_out_channels=opted_out,
        call_attempts=_times(session, account, CALL_ATTEMPTED),
        last_phone_conversation=max(conversations) if conversations else None,
    )
    return may_contact(situation, now, rules or rule_set())
