"""Handing a conversation to a person: the record the agent console lists, and its queue.

A handoff goes open -> assigned (to one login) -> closed (with a disposition); SPEC section 8.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from bot.domain.console import holds_shown
from bot.domain.money import from_minor
from bot.services import accounts, audit
from bot.storage.db import as_utc
from bot.storage.orm import (
    Account,
    AccountFlag,
    Debtor,
    Dispute,
    Handoff,
    PhoneConversation,
    VerificationAttempt,
)

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


# --- the console's queue ------------------------------------------------------------------------------

WEB_CHAT, SMS, REST = "socketio", "twilio", "rest"  # Rasa's names of the input channels (output_channel=...)
VERIFIED_BY = {SMS: "phone and date of birth or postcode"}  # any other channel: reference and date of birth
_BY_REFERENCE = "reference and date of birth"


class HandoffError(Exception):
    """A console action on a handoff that cannot be done; `status` is the HTTP status that says so."""

    status = 409


class UnknownHandoff(HandoffError):
    status = 404

    def __init__(self, handoff_id: int):
        super().__init__(f"no handoff {handoff_id}")


class AlreadyTaken(HandoffError):
    def __init__(self, by: str):
        super().__init__(f"{by} has already taken this conversation")
        self.by = by


class HandoffClosed(HandoffError):
    def __init__(self) -> None:
        super().__init__("this handoff is closed")


@dataclass(frozen=True)
class Verification:
    """How the debtor in a conversation was verified, if they were: it travels with the handoff."""

    verified: bool
    by: str | None  # VERIFIED_BY's wording
    account_ref: str | None  # the reference they were verified on


def channel_of(session: Session, conversation_id: str) -> str:
    """The channel a conversation happens on (`channels_of` for one)."""
    return channels_of(session, [conversation_id])[conversation_id]


def channels_of(session: Session, conversation_ids: Iterable[str]) -> dict[str, str]:
    """The channels of conversations: an SMS conversation is on file by number; REST ids say so."""
    ids = list(set(conversation_ids))
    by_phone = set(session.scalars(select(PhoneConversation.conversation_id).where(
        PhoneConversation.conversation_id.in_(ids)))) if ids else set()
    return {c: SMS if c in by_phone else REST if c.startswith("rest:") else WEB_CHAT for c in ids}


def _verifications(session: Session, conversation_ids: Iterable[str]) -> dict[str, Verification]:
    ids = list(set(conversation_ids))
    rows = session.execute(select(VerificationAttempt.conversation_id, VerificationAttempt.channel,
                                  VerificationAttempt.reference)
                           .where(VerificationAttempt.conversation_id.in_(ids), VerificationAttempt.succeeded)
                           .order_by(VerificationAttempt.id)).all() if ids else []
    found: dict[str, Verification] = {}
    for conversation_id, channel, reference in rows:
        found.setdefault(conversation_id, Verification(True, VERIFIED_BY.get(channel or "", _BY_REFERENCE),
                                                       reference))
    return found


def verification_of(session: Session, conversation_id: str) -> Verification:
    """Whether the debtor in this conversation passed verification, and how."""
    return _verifications(session, [conversation_id]).get(conversation_id, Verification(False, None, None))


@dataclass(frozen=True)
class _AccountLine:
    """What a queue item shows of an account, read as plain columns: a queue of a thousand handoffs builds no ORM
    account (bench/console.py)."""

    account_ref: str
    debtor_name: str
    currency: str
    balance: Decimal
    holds: list[str]


def _account_lines(session: Session, account_ids: set[int], refs: set[str]) -> tuple[dict[int, _AccountLine],
                                                                                    dict[str, _AccountLine]]:
    if not account_ids and not refs:
        return {}, {}
    rows = session.execute(
        select(Account.id, Account.account_ref, Debtor.name, Account.currency, Account.principal_minor,
               Account.interest_minor, Account.fees_minor, Account.paid_minor)
        .join(Debtor, Debtor.id == Account.debtor_id)
        .where(or_(Account.id.in_(account_ids), func.upper(Account.account_ref).in_(refs)))).all()
    ids = [row[0] for row in rows]
    flags: dict[int, set[str]] = {}
    for account_id, flag in session.execute(select(AccountFlag.account_id, AccountFlag.flag).where(
            AccountFlag.account_id.in_(ids), AccountFlag.cleared_at.is_(None))):
        flags.setdefault(account_id, set()).add(flag)
    disputed = set(session.scalars(select(Dispute.account_id).where(Dispute.account_id.in_(ids),
                                                                    Dispute.status == "open")))
    by_id = {}
    for account_id, ref, name, currency, principal, interest, fees, paid in rows:
        # Statement.balance, in minor units: principal + interest + fees - paid.
        balance = from_minor(principal + interest + fees - paid, currency)
        by_id[account_id] = _AccountLine(ref, name, currency, balance,
                                         holds_shown(flags.get(account_id, ()), account_id in disputed))
    return by_id, {line.account_ref.upper(): line for line in by_id.values()}


def _item(handoff: Handoff, account: _AccountLine | None, channel: str, verification: Verification,
          opted_out: bool) -> dict[str, Any]:
    holds = list(account.holds) if account is not None else []
    if opted_out:
        holds.append("sms_opt_out")
    return {
        "id": handoff.id, "conversation_id": handoff.conversation_id, "reason": handoff.reason,
        "later_reasons": list(handoff.details.get("later_reasons", [])), "channel": channel,
        "status": handoff.status, "assigned_to": handoff.assigned_to,
        "created_at": as_utc(handoff.created_at).isoformat(),
        "callback_at": as_utc(handoff.callback_at).isoformat() if handoff.callback_at else None,
        "verified": verification.verified, "verified_by": verification.by,
        "account_ref": account.account_ref if account is not None else None,
        "debtor_name": account.debtor_name if account is not None else None,
        "balance": str(account.balance) if account is not None else None,
        "currency": account.currency if account is not None else None,
        "holds": holds,
    }


def _items(session: Session, rows: list[Handoff]) -> list[dict[str, Any]]:
    """Queue items for handoffs, in a fixed number of queries however many there are."""
    from bot.services.sms import opted_out_on_file, phone_of_conversations

    ids = [h.conversation_id for h in rows]
    channels, verifications = channels_of(session, ids), _verifications(session, ids)
    by_id, by_ref = _account_lines(session, {h.account_id for h in rows if h.account_id is not None},
                                   {v.account_ref.upper() for v in verifications.values() if v.account_ref})
    phones = phone_of_conversations(session, [c for c, channel in channels.items() if channel == SMS])
    opted_out = opted_out_on_file(session, phones.values())
    unverified = Verification(False, None, None)
    items = []
    for handoff in rows:
        verification = verifications.get(handoff.conversation_id, unverified)
        account = by_id.get(handoff.account_id) if handoff.account_id is not None else None
        if account is None and verification.account_ref:
            account = by_ref.get(verification.account_ref.upper())
        items.append(_item(handoff, account, channels[handoff.conversation_id], verification,
                           phones.get(handoff.conversation_id) in opted_out))
    return items


def queue(uow: SqlUnitOfWork) -> list[dict[str, Any]]:
    """Open and assigned handoffs, oldest first: the console's queue (see `_item` for an item's keys)."""
    with uow:
        rows = list(uow.session.scalars(select(Handoff).where(Handoff.status != "closed")
                                        .order_by(Handoff.created_at, Handoff.id)))
        return _items(uow.session, rows)


def item(session: Session, handoff: Handoff) -> dict[str, Any]:
    """One handoff as a queue item, in a caller's transaction."""
    return _items(session, [handoff])[0]


def handoff_row(session: Session, handoff_id: int) -> Handoff:
    """The handoff; raises UnknownHandoff."""
    handoff = session.get(Handoff, handoff_id)
    if handoff is None:
        raise UnknownHandoff(handoff_id)
    return handoff


def account_of(session: Session, handoff: Handoff) -> Account | None:
    """The handoff's account: the one it was opened on, else the one the debtor was verified on."""
    if handoff.account_id is not None:
        return session.get(Account, handoff.account_id)
    reference = verification_of(session, handoff.conversation_id).account_ref
    return accounts.find(session, reference) if reference else None


def take(uow: SqlUnitOfWork, handoff_id: int, login: str) -> dict[str, Any]:
    """Assign an open handoff to `login`, atomically: of two people taking it at once, exactly one gets it and
    the other is told who has it (AlreadyTaken). Taking one's own again is harmless."""
    with uow:
        session = uow.session
        claim = (update(Handoff).where(Handoff.id == handoff_id, Handoff.status == "open")
                 .values(status="assigned", assigned_to=login, assigned_at=uow.now())
                 .execution_options(synchronize_session=False))
        taken = cast(CursorResult, session.execute(claim))
        handoff = handoff_row(session, handoff_id)
        session.refresh(handoff)
        if not taken.rowcount:
            if handoff.status == "closed":
                raise HandoffClosed()
            if handoff.assigned_to != login:
                raise AlreadyTaken(handoff.assigned_to or "someone")
            return item(session, handoff)
        audit.record(session, "handoff_taken", actor=login, account=account_of(session, handoff),
                     conversation_id=handoff.conversation_id, at=uow.now(), id=handoff.id)
        return item(session, handoff)


def assign(uow: SqlUnitOfWork, handoff_id: int, by: str, to_login: str) -> dict[str, Any]:
    """A supervisor gives a handoff to a person (`to_login`, an active login; the caller checks the role)."""
    from bot.storage.orm import Agent

    with uow:
        session = uow.session
        handoff = handoff_row(session, handoff_id)
        if handoff.status == "closed":
            raise HandoffClosed()
        person = session.get(Agent, to_login)
        if person is None or not person.active:
            raise UnknownLogin(to_login)
        previous = handoff.assigned_to
        handoff.status, handoff.assigned_to, handoff.assigned_at = "assigned", to_login, uow.now()
        audit.record(session, "handoff_assigned", actor=by, account=account_of(session, handoff),
                     conversation_id=handoff.conversation_id, at=uow.now(), id=handoff.id, to=to_login,
                     previously=previous)
        return item(session, handoff)


class UnknownLogin(HandoffError):
    status = 400

    def __init__(self, login: str):
        super().__init__(f"no active login {login!r}")


def close(session: Session, handoff: Handoff, by: str, disposition: str, note: str, callback_at: datetime | None,
          at: datetime) -> None:
    """Close a handoff with its disposition, in a caller's transaction (the hand back's)."""
    handoff.status, handoff.closed_at = "closed", at
    handoff.disposition, handoff.note, handoff.callback_at = disposition, note or None, callback_at
    audit.record(session, "handoff_closed", actor=by, account=account_of(session, handoff),
                 conversation_id=handoff.conversation_id, at=at, id=handoff.id, disposition=disposition,
                 **({"callback_at": callback_at.isoformat()} if callback_at else {}))


def reopen_due_callbacks(uow: SqlUnitOfWork) -> list[int]:
    """Put back in the queue every conversation whose callback time has come: a new handoff, reason callback,
    once (the closed handoff's callback is then spent). Returns the new handoffs' ids."""
    with uow:
        session = uow.session
        due = list(session.scalars(select(Handoff).where(
            Handoff.status == "closed", Handoff.callback_at.is_not(None), Handoff.callback_at <= uow.now())))
        opened = []
        for handoff in due:
            handoff.callback_at = None
            account = session.get(Account, handoff.account_id) if handoff.account_id is not None else None
            opened.append(open_in(session, handoff.conversation_id, "callback",
                                  account.account_ref if account else None, at=uow.now(), after=handoff.id))
        return opened
