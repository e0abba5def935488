"""Protective cases on an account: disputes, flags that stop collection, hardship, contact details, wrong parties.

Each change and its audit event are written in one transaction; the account's status follows its cases.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.accounts import COLLECTING, FINISHED, STOPPING_FLAGS, AccountStatus
from bot.domain.cases import (
    DEATH_REPORT_DECISIONS,
    DEATH_REPORTED,
    DECEASED,
    DISPUTE_REASONS,
    collection_status,
)
from bot.domain.phones import region_of_timezone, to_e164
from bot.services import accounts, audit, handoffs
from bot.storage.orm import Account, AccountFlag, ContactPoint, Dispute

if TYPE_CHECKING:
    from bot.services.unit_of_work import SqlUnitOfWork

DISPUTE_OUTCOMES = ("upheld", "rejected")
# Crockford's base32: no I, L, O or U to misread when a debtor reads a reference out on the phone.
_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REFERENCE_TRIES = 5


class UnknownDispute(LookupError):
    """No dispute has the reference given."""


def _agreement_status(account: Account) -> AccountStatus:
    if any(plan.status == "active" for plan in account.plans):
        return AccountStatus.PLAN_ACTIVE
    if any(s.status == "pending" for s in account.settlements):
        return AccountStatus.SETTLEMENT_PENDING
    if any(p.status == "pending" for p in account.promises):
        return AccountStatus.PROMISE_PENDING
    return AccountStatus.OPEN


def active_flags(account: Account) -> set[str]:
    """The account's flags not cleared."""
    return {flag.flag for flag in account.flags if flag.cleared_at is None}


def open_dispute_of(account: Account) -> Dispute | None:
    """The account's open dispute, if it has one (at most one is open)."""
    return next((d for d in account.disputes if d.status == "open"), None)


def refresh_status(account: Account) -> None:
    """Set the account's status from its agreements, dispute and flags, unless it is finished."""
    if account.status not in FINISHED and account.status != AccountStatus.LEGAL.value:  # a person's decisions
        agreement = _agreement_status(account)
        disputed = open_dispute_of(account) is not None
        account.status = collection_status(agreement, open_dispute=disputed, stopping_flags=active_flags(account)).value


@dataclass(frozen=True)
class Hold:
    """Why the assistant may not ask for payment on an account."""

    status: str  # disputed | ceased | paid | settled | closed
    dispute_reference: str | None


def hold_of(account: Account) -> Hold | None:
    """Why collection is paused or stopped on the account; None while it is collecting."""
    if account.status in COLLECTING:
        return None
    dispute = open_dispute_of(account)
    return Hold(account.status, dispute.reference if dispute else None)


def hold_on(uow: SqlUnitOfWork, account_ref: str) -> Hold | None:
    """`hold_of` the account with this reference; raises UnknownAccount."""
    return hold_of(accounts.get(uow.session, account_ref))


def new_dispute_reference() -> str:
    """DSP- and 12 random base32 characters (60 bits): among ten million disputes, a collision has a chance of
    about 4 in 100,000 (n squared over 2 to the 61); one that happens anyway is retried."""
    code = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(12))
    return f"DSP-{code[:4]}-{code[4:8]}-{code[8:]}"


def _unused_reference(session: Session) -> str:
    for _ in range(_REFERENCE_TRIES):
        reference = new_dispute_reference()
        if session.scalars(select(Dispute.id).where(Dispute.reference == reference)).first() is None:
            return reference
    raise RuntimeError(f"no unused dispute reference in {_REFERENCE_TRIES} tries: is the generator random?")


@dataclass(frozen=True)
class DisputeRecord:
    reference: str
    reason: str
    new: bool  # False when the account already had an open dispute, which is returned instead


def open_dispute(uow: SqlUnitOfWork, account_ref: str, reason: str, details: str, conversation_id: str | None,
                 actor: str = audit.ASSISTANT) -> DisputeRecord:
    """Record a dispute and pause collection; an account has at most one open dispute at a time."""
    if reason not in DISPUTE_REASONS:
        raise ValueError(f"dispute reason must be one of {', '.join(DISPUTE_REASONS)}, got {reason!r}")
    session = uow.session
    account = accounts.get(session, account_ref)
    existing = open_dispute_of(account)
    if existing is not None:
        if details and details not in existing.details:
            existing.details = f"{existing.details}\n{details}".strip()
        return DisputeRecord(existing.reference, existing.reason, new=False)
    # Its status set here, not left to the column default: the account's status is read from it before a flush.
    dispute = Dispute(account_id=account.id, reference=_unused_reference(session), reason=reason, status="open",
                      details=details[:4000], conversation_id=conversation_id, opened_at=uow.now())
    account.disputes.append(dispute)
    refresh_status(account)
    audit.record(session, "dispute_opened", actor=actor, account=account, conversation_id=conversation_id,
                 at=uow.now(), reference=dispute.reference, reason=reason)
    return DisputeRecord(dispute.reference, reason, new=True)


def resolve_dispute(uow: SqlUnitOfWork, reference: str, outcome: str, actor: str, note: str = "") -> tuple[str, str]:
    """Upheld closes the account (nothing is owed); rejected, with validation sent, resumes collection.

    Returns (account reference, the account's status now).
    """
    if outcome not in DISPUTE_OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(DISPUTE_OUTCOMES)}, got {outcome!r}")
    session = uow.session
    dispute = session.scalars(select(Dispute).where(Dispute.reference == reference.strip().upper())).first()
    if dispute is None:
        raise UnknownDispute(f"no dispute with reference {reference!r}")
    if dispute.status != "open":
        raise ValueError(f"dispute {dispute.reference} was already resolved: {dispute.status}")
    account = session.get(Account, dispute.account_id)
    if account is None:  # the foreign key forbids it
        raise UnknownDispute(f"dispute {dispute.reference} has no account")
    dispute.status, dispute.resolved_at, dispute.resolution_note = outcome, uow.now(), note
    if outcome == "upheld":
        for row in [*account.plans, *account.settlements, *account.promises]:
            if row.status in ("active", "pending"):
                row.status = "cancelled"
        account.status = AccountStatus.CLOSED.value
    else:
        refresh_status(account)
    audit.record(session, f"dispute_{outcome}", actor=actor, account=account, at=uow.now(),
                 reference=dispute.reference, note=note)
    return account.account_ref, account.status


def raise_flag(uow: SqlUnitOfWork, account_ref: str, flag: str, conversation_id: str | None,
               actor: str = audit.ASSISTANT, **details: Any) -> bool:
    """Set a stopping flag (cease, attorney, bankruptcy); True when it was not already set.

    Not `deceased`: a death is reported (`report_death`) and only a person confirms it (`decide_death_report`).
    """
    if flag not in STOPPING_FLAGS or flag == DECEASED:
        allowed = [name for name in STOPPING_FLAGS if name != DECEASED]
        raise ValueError(f"flag must be one of {', '.join(allowed)}, got {flag!r}"
                         + (" (a death is reported with report_death and confirmed by a person)" if flag == DECEASED
                            else ""))
    details = {key: value for key, value in details.items() if value}
    account = accounts.get(uow.session, account_ref)
    existing = _active_flag(account, flag)
    if existing is not None:
        existing.details = {**existing.details, **details}
    else:
        account.flags.append(AccountFlag(flag=flag, details=details, set_at=uow.now()))
    refresh_status(account)
    audit.record(uow.session, f"flag_{flag}", actor=actor, account=account, conversation_id=conversation_id,
                 at=uow.now(), repeated=existing is not None, **details)
    return existing is None


def _active_flag(account: Account, flag: str) -> AccountFlag | None:
    return next((f for f in account.flags if f.flag == flag and f.cleared_at is None), None)


def report_death(uow: SqlUnitOfWork, account_ref: str | None, conversation_id: str, estate_contact: str,
                 reporter_verified: bool) -> None:
    """Someone tells us the debtor died: collection pauses and a person takes the conversation; nothing more.

    Nobody is taken at their word, verified or not: a verified reporter proved they know the reference and the
    date of birth, which the family (or anyone wanting collection stopped) may well know, and by what they say
    they are not the debtor. So the account is only `deceased_reported` until a person confirms it
    (`decide_death_report`). The reporter learns nothing: an unknown reference is handled the same way.
    """
    session = uow.session  # the handoff and the pause commit together, or neither does
    account = accounts.find(session, account_ref) if account_ref else None
    handoffs.open_in(session, conversation_id, "deceased", account.account_ref if account else None, at=uow.now(),
                     estate_contact=estate_contact, reporter_verified=reporter_verified)
    if account is None:
        return
    details = {key: value for key, value in {"estate_contact": estate_contact[:4000],
                                             "conversation_id": conversation_id}.items() if value}
    confirmed = _active_flag(account, DECEASED) is not None
    reported = _active_flag(account, DEATH_REPORTED)
    if reported is not None:
        reported.details = {**reported.details, **details}
    elif not confirmed:
        account.flags.append(AccountFlag(flag=DEATH_REPORTED, set_at=uow.now(),
                                         details={**details, "reporter_verified": reporter_verified}))
    refresh_status(account)
    audit.record(session, "death_reported", account=account, conversation_id=conversation_id, at=uow.now(),
                 reporter_verified=reporter_verified, repeated=reported is not None or confirmed,
                 estate_contact=estate_contact[:4000])


def decide_death_report(uow: SqlUnitOfWork, account_ref: str, decision: str, actor: str, note: str = "") -> str:
    """A person's decision: `confirm` sets `deceased` (collection stops for good), `reject` clears the pause.

    Confirming needs no earlier report (a person may learn of a death by letter); rejecting needs one.
    Returns the account's status now.
    """
    if decision not in DEATH_REPORT_DECISIONS:
        raise ValueError(f"decision must be one of {', '.join(DEATH_REPORT_DECISIONS)}, got {decision!r}")
    if not actor.strip() or actor.strip() == audit.ASSISTANT:
        raise ValueError("a death report is decided by a person: give their login as the actor")
    account = accounts.get(uow.session, account_ref)
    reported = _active_flag(account, DEATH_REPORTED)
    if reported is None and decision == "reject":
        raise ValueError(f"account {account.account_ref} has no reported death awaiting a decision")
    if reported is not None:
        reported.cleared_at = uow.now()
        reported.details = {**reported.details, "decision": decision, "decided_by": actor}
    if decision == "confirm" and _active_flag(account, DECEASED) is None:
        account.flags.append(AccountFlag(flag=DECEASED, set_at=uow.now(), details={
            **(reported.details if reported is not None else {}), "confirmed_by": actor, "note": note}))
    refresh_status(account)
    audit.record(uow.session, "death_confirmed" if decision == "confirm" else "death_report_rejected", actor=actor,
                 account=account, at=uow.now(), note=note)
    return account.status


def note_hardship(uow: SqlUnitOfWork, account_ref: str, circumstances: str, conversation_id: str | None) -> None:
    """Keep what the debtor says of their circumstances (the audit log), for the person who reviews the case."""
    account = accounts.get(uow.session, account_ref)
    audit.record(uow.session, "hardship_noted", account=account, conversation_id=conversation_id, at=uow.now(),
                 circumstances=circumstances[:4000])


@dataclass(frozen=True)
class ContactUpdate:
    """What came of the contact details a debtor gave: each value as stored (phones in E.164) or as typed."""

    added: tuple[str, ...]
    known: tuple[str, ...]  # already on file
    unreadable: tuple[str, ...]  # phones that are not possible numbers, as typed: nothing was kept of them


def add_contact_points(uow: SqlUnitOfWork, account_ref: str, details: list[tuple[str, str]],
                       conversation_id: str | None) -> ContactUpdate:
    """New phones, emails or addresses from the debtor, kept unverified.

    Phones are kept in E.164, a number typed without its country code read in the debtor's country (from
    their time zone), so that it is the number an opt-out or a wrong-party report names; what is not a
    possible phone number is not kept (the audit event counts it).
    """
    account = accounts.get(uow.session, account_ref)
    region = region_of_timezone(account.debtor.timezone)
    given = [(kind, typed, to_e164(typed, region) if kind == "phone" else typed) for kind, typed in details]
    on_file = {(c.kind, c.value) for c in account.debtor.contact_points}
    readable = list(dict.fromkeys((kind, value) for kind, _typed, value in given if value is not None))
    new = [(kind, value) for kind, value in readable if (kind, value) not in on_file]
    for kind, value in new:
        account.debtor.contact_points.append(
            ContactPoint(kind=kind, value=value[:320], source="debtor", verified=False, created_at=uow.now()))
    unreadable = tuple(typed for _kind, typed, value in given if value is None)
    counted: dict[str, Any] = {"unreadable_phones": len(unreadable)} if unreadable else {}
    audit.record(uow.session, "contact_updated", account=account, conversation_id=conversation_id, at=uow.now(),
                 added=[{"kind": kind, "value": value} for kind, value in new], **counted)
    return ContactUpdate(added=tuple(value for _kind, value in new),
                         known=tuple(value for kind, value in readable if (kind, value) in on_file),
                         unreadable=unreadable)


def report_wrong_party(uow: SqlUnitOfWork, conversation_id: str, addresses: list[str],
                       account_ref: str | None = None) -> int:
    """Whoever answered is not the debtor: mark the contact points they were reached on as wrong.

    A phone is matched by its E.164 form (read in the account's country if one is named), so the number
    marked is the one stored, texted and opted out, however it was written; other addresses as given.
    """
    session = uow.session
    account = accounts.find(session, account_ref) if account_ref else None
    region = region_of_timezone(account.debtor.timezone) if account else None
    values = list(dict.fromkeys(to_e164(address, region) or address for address in addresses))
    marked = list(session.scalars(select(ContactPoint).where(ContactPoint.value.in_(values)))) if values else []
    for point in marked:
        point.status = "wrong"
    audit.record(session, "wrong_party_reported", account=account, conversation_id=conversation_id, at=uow.now(),
                 contact_points_marked=len(marked))
    return len(marked)
