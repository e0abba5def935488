"""Erasing a debtor's personal data (SPEC 10) and purging conversation texts past their retention.

What is kept after an erasure is what the law and the books need: the accounts and their amounts, the
agreements with their instalments, and the audit trail without its personal content. The audit log is
otherwise append-only; an erasure is the one change made to past entries, and it is itself audited.

Erasure is per debtor, not per account: the name, date of birth and contact points belong to the person, who
is the same on all their accounts, so every account of theirs loses its personal data together (the command
lists them).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from bot.config import event_broker_settings
from bot.domain.verification import normalise_reference
from bot.services import accounts, audit
from bot.storage.db import RASA_EVENTS, rasa_events_exist
from bot.storage.orm import (
    AccountFlag,
    AuditEvent,
    Call,
    CallUtterance,
    ContactPoint,
    Dispute,
    Handoff,
    OfferedChoices,
    PhoneConversation,
    VerificationAttempt,
)
from bot.storage.tracker_store import delete_broker_events

if TYPE_CHECKING:
    from bot.services.unit_of_work import SqlUnitOfWork

ERASED = "[erased]"
# Verification only reads dates of birth from 1900 on, so no answer can ever match an erased debtor's.
ERASED_DATE_OF_BIRTH = date.min
# Audit and case details that say what happened without saying anything about the person: amounts, ids,
# outcomes, counts. Every other key (phones, words, circumstances, contacts, references given, notes, texts,
# clients, and any key added later) is erased: an allow-list, so a new personal field is never missed.
IMPERSONAL_DETAILS = frozenset({
    "balance", "kind", "id", "tier", "terms", "reference", "reason", "repeated", "method", "line", "changed",
    "contact_points_marked", "message_sid", "sent_at", "account_refs", "creditor_id", "policy", "later_reasons",
    "last_offer", "assistant_last_offer", "problems", "channel", "failures", "locked", "count", "counts", "days",
    "before", "status", "outcome", "locked_until", "reference_failures", "client_failures", "reporter_verified",
    "decision", "decided_by", "confirmed_by", "conversation_id",
})
# Rasa's SQL tracker store: one row per event, `sender_id` being the conversation id, `timestamp` Unix seconds.


def scrubbed(details: dict[str, Any] | None) -> dict[str, Any]:
    """The details with every value that may describe the person replaced by a marker."""
    return {key: value if key in IMPERSONAL_DETAILS else ERASED for key, value in (details or {}).items()}


def _deleted(session: Session, statement: Any) -> int:
    """How many rows a DELETE removed."""
    return int(cast(CursorResult, session.execute(statement)).rowcount)


@dataclass(frozen=True)
class Erasure:
    """What an erasure removed, by count: what the operator and the audit log are told."""

    account_refs: list[str]
    conversations: int
    conversation_events_deleted: int
    contact_points_deleted: int
    audit_entries_scrubbed: int
    conversation_ids: tuple[str, ...] = ()  # for the event broker's copies (`forget_broker_copies`)

    def counts(self) -> dict[str, int]:
        """The counts, by name."""
        return {"conversations": self.conversations, "conversation_events_deleted": self.conversation_events_deleted,
                "contact_points_deleted": self.contact_points_deleted,
                "audit_entries_scrubbed": self.audit_entries_scrubbed}


def _scrub_rows(rows: Iterable[Any]) -> int:
    changed = 0
    for row in rows:
        clean = scrubbed(row.details)
        if clean != row.details:
            row.details = clean
            changed += 1
    return changed


def erase(uow: SqlUnitOfWork, account_ref: str, actor: str) -> Erasure:
    """Remove the personal data of the debtor behind `account_ref`, on all their accounts, in one transaction."""
    now, session = uow.now(), uow.session
    account = accounts.find(session, account_ref)
    if account is None:
        raise accounts.UnknownAccount(account_ref)
    debtor = account.debtor
    owned = list(debtor.accounts)
    account_ids = [a.id for a in owned]
    phones = [point.value for point in debtor.contact_points if point.kind == "phone"]
    conversations = set().union(*accounts.conversations_of(session, owned).values())

    # Consent is kept by number (SmsConsent), apart from any record: an opt-out outlives the erasure.
    contact_points = len(debtor.contact_points)
    for point in list(debtor.contact_points):
        session.delete(point)
    session.flush()
    # A number's conversation mapping goes with it, unless the number still reaches someone else.
    still_on_file = (set(session.scalars(select(ContactPoint.value).where(ContactPoint.value.in_(phones))))
                     if phones else set())
    gone = [phone for phone in phones if phone not in still_on_file]
    if gone:
        session.execute(delete(PhoneConversation).where(PhoneConversation.phone.in_(gone)))

    debtor.name = f"{ERASED} debtor {debtor.id}"  # unique: the identity constraint holds for many erasures
    debtor.date_of_birth = ERASED_DATE_OF_BIRTH
    debtor.postcode = ""

    for dispute in session.scalars(select(Dispute).where(Dispute.account_id.in_(account_ids))):
        dispute.details = ERASED if dispute.details else ""
        if dispute.resolution_note:
            dispute.resolution_note = ERASED
    _scrub_rows(session.scalars(select(AccountFlag).where(AccountFlag.account_id.in_(account_ids))))
    handoff_link = Handoff.account_id.in_(account_ids)
    audit_link = AuditEvent.account_id.in_(account_ids)
    if conversations:
        handoff_link = handoff_link | Handoff.conversation_id.in_(conversations)
        audit_link = audit_link | AuditEvent.conversation_id.in_(conversations)
    _scrub_rows(session.scalars(select(Handoff).where(handoff_link)))
    audit_entries = _scrub_rows(session.scalars(select(AuditEvent).where(audit_link)))

    # The verification attempts stay (they are the 24-hour lock), but not who made them (an IP or a phone).
    session.execute(update(VerificationAttempt).where(VerificationAttempt.reference.in_(
        [normalise_reference(a.account_ref) for a in owned])).values(client=None))

    # What was said on calls to the debtor is personal content: the texts go; who spoke, what it was read as and
    # the warnings stay (the call's structure is the record of how the law was kept).
    for call in session.scalars(select(Call).where(Call.account_id.in_(account_ids))):
        call.phone = ""
        for utterance in call.utterances:
            utterance.text = ERASED

    events_deleted = 0
    if conversations:
        session.execute(delete(OfferedChoices).where(OfferedChoices.conversation_id.in_(conversations)))
        if rasa_events_exist(session):
            events_deleted = _deleted(session, delete(RASA_EVENTS).where(
                RASA_EVENTS.c.sender_id.in_(conversations)))

    erasure = Erasure(sorted(a.account_ref for a in owned), len(conversations), events_deleted, contact_points,
                      audit_entries, tuple(sorted(conversations)))
    for owned_account in owned:
        audit.record(session, "personal_data_erased", actor=actor, account=owned_account, at=now,
                     account_refs=erasure.account_refs, counts=erasure.counts())
    return erasure


@dataclass(frozen=True)
class Purge:
    """What a purge removed (or would remove), by count."""

    before: datetime
    conversation_events: int
    verification_attempts: int
    offered_choices: int
    call_utterances: int = 0


def purge(uow: SqlUnitOfWork, days: int, actor: str, dry_run: bool = False) -> Purge:
    """Delete conversation texts (Rasa's events, and what was said on calls), verification attempts and offered
    choices older than `days` before `uow.now()`."""
    if days < 1:
        raise ValueError("the retention must be at least 1 day")
    now, session = uow.now(), uow.session
    before = now - timedelta(days=days)
    old_events = RASA_EVENTS.c.timestamp < before.timestamp()
    old_attempts = VerificationAttempt.attempted_at < before
    old_choices = OfferedChoices.offered_at < before
    old_utterances = CallUtterance.said_at < before
    has_events = rasa_events_exist(session)
    if dry_run:
        def count(source: Any, condition: ColumnElement[Any]) -> int:
            return int(session.scalar(select(func.count()).select_from(source).where(condition)) or 0)

        return Purge(before, count(RASA_EVENTS, old_events) if has_events else 0,
                     count(VerificationAttempt, old_attempts), count(OfferedChoices, old_choices),
                     count(CallUtterance, old_utterances))
    result = Purge(
        before,
        _deleted(session, delete(RASA_EVENTS).where(old_events)) if has_events else 0,
        _deleted(session, delete(VerificationAttempt).where(old_attempts)),
        _deleted(session, delete(OfferedChoices).where(old_choices)),
        _deleted(session, delete(CallUtterance).where(old_utterances)),
    )
    audit.record(session, "conversations_purged", actor=actor, at=now, days=days, before=before.isoformat(),
                 counts={"conversation_events": result.conversation_events,
                         "verification_attempts": result.verification_attempts,
                         "offered_choices": result.offered_choices, "call_utterances": result.call_utterances})
    return result


def forget_broker_copies(conversation_ids: Iterable[str] | None = None, before: datetime | None = None) -> int:
    """Delete the SQL event broker's copies of conversations (an erasure) or of old texts (a purge): the console's
    live feed keeps a copy of every event in a database of its own. RabbitMQ keeps none once the console has read
    them. Run after the erasure or purge committed; how many rows went."""
    settings = event_broker_settings()
    if settings.kind != "sql":
        return 0
    return delete_broker_events(settings.url, conversation_ids=conversation_ids,
                                before=before.timestamp() if before is not None else None)
