"""Protective cases on an account: disputes, flags that stop collection, hardship, contact details, wrong parties.

Each change and its audit event are written in one transaction; the account's status follows its cases.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.domain.accounts import COLLECTING, FINISHED, AccountStatus
from bot.domain.cases import DISPUTE_REASONS, STOPPING_FLAGS, collection_status
from bot.services import accounts, audit
from bot.storage.db import unit_of_work
from bot.storage.orm import Account, AccountFlag, ContactPoint, Dispute, utcnow

DISPUTE_OUTCOMES = ("upheld", "rejected")


class UnknownDispute(LookupError):
    pass


def _agreement_status(account: Account) -> AccountStatus:
    if any(plan.status == "active" for plan in account.plans):
        return AccountStatus.PLAN_ACTIVE
    if any(s.status == "pending" for s in account.settlements):
        return AccountStatus.SETTLEMENT_PENDING
    if any(p.status == "pending" for p in account.promises):
        return AccountStatus.PROMISE_PENDING
    return AccountStatus.OPEN


def active_flags(account: Account) -> set[str]:
    return {flag.flag for flag in account.flags if flag.cleared_at is None}


def open_dispute_of(account: Account) -> Dispute | None:
    return next((d for d in account.disputes if d.status == "open"), None)


def refresh_status(account: Account) -> None:
    if account.status not in FINISHED:
        account.status = collection_status(_agreement_status(account), open_dispute=open_dispute_of(account) is not None,
                                           stopping_flags=active_flags(account)).value


@dataclass(frozen=True)
class Hold:
    """Why the assistant may not ask for payment on an account."""

    status: str  # disputed | ceased | paid | settled | closed
    dispute_reference: str | None


def hold_of(account: Account) -> Hold | None:
    if account.status in COLLECTING:
        return None
    dispute = open_dispute_of(account)
    return Hold(account.status, dispute.reference if dispute else None)


def hold_on(account_ref: str) -> Hold | None:
    with unit_of_work() as session:
        return hold_of(accounts.get(session, account_ref))


@dataclass(frozen=True)
class DisputeRecord:
    reference: str
    reason: str
    new: bool  # False when the account already had an open dispute, which is returned instead


def open_dispute(account_ref: str, reason: str, details: str, conversation_id: str | None,
                 actor: str = audit.ASSISTANT) -> DisputeRecord:
    """Record a dispute and pause collection; an account has at most one open dispute at a time."""
    if reason not in DISPUTE_REASONS:
        raise ValueError(f"dispute reason must be one of {', '.join(DISPUTE_REASONS)}, got {reason!r}")
    with unit_of_work() as session:
        account = accounts.get(session, account_ref)
        existing = open_dispute_of(account)
        if existing is not None:
            if details and details not in existing.details:
                existing.details = f"{existing.details}\n{details}".strip()
            return DisputeRecord(existing.reference, existing.reason, new=False)
        dispute = Dispute(account_id=account.id, reference=f"DSP-{secrets.token_hex(3).upper()}", reason=reason,
                          details=details[:4000], conversation_id=conversation_id)
        account.disputes.append(dispute)
        refresh_status(account)
        audit.record(session, "dispute_opened", actor=actor, account=account, conversation_id=conversation_id,
                     reference=dispute.reference, reason=reason)
        return DisputeRecord(dispute.reference, reason, new=True)


def resolve_dispute(reference: str, outcome: str, actor: str, note: str = "") -> tuple[str, str]:
    """Upheld closes the account (nothing is owed); rejected, with validation sent, resumes collection.

    Returns (account reference, the account's status now).
    """
    if outcome not in DISPUTE_OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(DISPUTE_OUTCOMES)}, got {outcome!r}")
    with unit_of_work() as session:
        dispute = session.scalars(select(Dispute).where(Dispute.reference == reference.strip().upper())).first()
        if dispute is None:
            raise UnknownDispute(f"no dispute with reference {reference!r}")
        if dispute.status != "open":
            raise ValueError(f"dispute {dispute.reference} was already resolved: {dispute.status}")
        account = session.get(Account, dispute.account_id)
        dispute.status, dispute.resolved_at, dispute.resolution_note = outcome, utcnow(), note
        if outcome == "upheld":
            for row in [*account.plans, *account.settlements, *account.promises]:
                if row.status in ("active", "pending"):
                    row.status = "cancelled"
            account.status = AccountStatus.CLOSED.value
        else:
            refresh_status(account)
        audit.record(session, f"dispute_{outcome}", actor=actor, account=account, reference=dispute.reference,
                     note=note)
        return account.account_ref, account.status


def raise_flag(account_ref: str, flag: str, conversation_id: str | None, actor: str = audit.ASSISTANT,
               **details: Any) -> bool:
    """Set a stopping flag (cease, attorney, bankruptcy, deceased); True when it was not already set."""
    if flag not in STOPPING_FLAGS:
        raise ValueError(f"flag must be one of {', '.join(STOPPING_FLAGS)}, got {flag!r}")
    details = {key: value for key, value in details.items() if value}
    with unit_of_work() as session:
        account = accounts.get(session, account_ref)
        existing = next((f for f in account.flags if f.flag == flag and f.cleared_at is None), None)
        if existing is not None:
            existing.details = {**existing.details, **details}
        else:
            account.flags.append(AccountFlag(flag=flag, details=details))
        refresh_status(account)
        audit.record(session, f"flag_{flag}", actor=actor, account=account, conversation_id=conversation_id,
                     repeated=existing is not None, **details)
        return existing is None


def note_hardship(account_ref: str, circumstances: str, conversation_id: str | None) -> None:
    with unit_of_work() as session:
        account = accounts.get(session, account_ref)
        audit.record(session, "hardship_noted", account=account, conversation_id=conversation_id,
                     circumstances=circumstances[:4000])


def add_contact_points(account_ref: str, details: list[tuple[str, str]], conversation_id: str | None) -> int:
    """New phones, emails or addresses from the debtor, kept unverified; returns how many were new."""
    with unit_of_work() as session:
        account = accounts.get(session, account_ref)
        known = {(c.kind, c.value) for c in account.debtor.contact_points}
        new = [(kind, value) for kind, value in dict.fromkeys(details) if (kind, value) not in known]
        for kind, value in new:
            account.debtor.contact_points.append(
                ContactPoint(kind=kind, value=value[:320], source="debtor", verified=False))
        audit.record(session, "contact_updated", account=account, conversation_id=conversation_id,
                     added=[{"kind": kind, "value": value} for kind, value in new])
        return len(new)


def report_wrong_party(conversation_id: str, addresses: list[str], account_ref: str | None = None) -> int:
    """Whoever answered is not the debtor: mark the contact points they were reached on as wrong."""
    with unit_of_work() as session:
        marked = list(session.scalars(select(ContactPoint).where(ContactPoint.value.in_(addresses)))) if addresses else []
        for point in marked:
            point.status = "wrong"
        account = accounts.find(session, account_ref) if account_ref else None
        audit.record(session, "wrong_party_reported", account=account, conversation_id=conversation_id,
                     contact_points_marked=len(marked))
        return len(marked)
