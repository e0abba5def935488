"""Outbound contact: every path that reaches out to a debtor asks `outbound_verdict` first (SPEC section 7)."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.calls import CONVERSATION
from bot.domain.compliance import ContactRules, ContactSituation, Verdict, may_contact, rule_set
from bot.services import accounts
from bot.services.cases import active_flags
from bot.services.sms import number_opted_out
from bot.storage.db import as_utc
from bot.storage.orm import Account, Call

if TYPE_CHECKING:
    from bot.services.unit_of_work import SqlUnitOfWork



def call_times(session: Session, account: Account, since: datetime | None = None,
               outcome: str | None = None) -> list[datetime]:
    """When calls to the account started (those with `outcome`, or every attempt), in UTC: what the call rules
    count (SQLite hands times back without a zone)."""
    query = select(Call.started_at).where(Call.account_id == account.id)
    if since is not None:
        query = query.where(Call.started_at > since)
    if outcome is not None:
        query = query.where(Call.outcome == outcome)
    return [as_utc(t) for t in session.scalars(query)]


def contact_verdict(uow: SqlUnitOfWork, account_ref: str, channel: str, address: str,
                    rules: ContactRules | None = None) -> Verdict:
    """`outbound_verdict` at `uow.now()` for the account with this reference; raises UnknownAccount."""
    return outbound_verdict(uow.session, accounts.get(uow.session, account_ref), channel, address, uow.now(), rules)


def outbound_verdict(session: Session, account: Account, channel: str, address: str, now: datetime,
                     rules: ContactRules | None = None, *, service: bool = False) -> Verdict:
    """May we contact this account's debtor at `address` on `channel` at `now`? Opt-outs and wrong numbers count
    too. In a caller's transaction."""
    points = [c for c in account.debtor.contact_points if c.value == address]
    if not points:
        return Verdict(False, f"{address} is not a contact point of this debtor", rule="unknown_number")
    if any(c.status == "wrong" for c in points):
        return Verdict(False, f"{address} was reported as reaching the wrong person", rule="wrong_number")
    # An opt-out covers the number wherever it is on file, not only on this debtor's record.
    opted_out = frozenset({"sms"} if number_opted_out(session, address) else ())
    rules = rules or rule_set()
    since = now - max(rules.attempt_window, rules.quiet_after_conversation)  # nothing older counts
    conversations = call_times(session, account, since, outcome=CONVERSATION)
    situation = ContactSituation(
        channel=channel, debtor_timezone=account.debtor.timezone, account_status=account.status,
        flags=frozenset(active_flags(account)), opted_out_channels=opted_out,
        call_attempts=call_times(session, account, since),
        last_phone_conversation=max(conversations) if conversations else None, service=service,
    )
    return may_contact(situation, now, rules)
