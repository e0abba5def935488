"""Texting with debtors: which conversation a number is, which accounts it reaches, and its consent.

Every function here takes a number as it came (Twilio's From, a stored contact point, a typed one) and
reads it as E.164 first (`bot.domain.phones`), so callers need not. A number that is not a possible
phone number has no conversation, reaches no account, and is never texted.

Consent is kept per number in `SmsConsent`, the one place it is kept: an opt-out (STOP and its kin)
covers the number on every debtor and account it is on file for, now or later (SPEC 7), even when
nobody had the number on file when the STOP came. (`ContactPoint.sms_opt_out` is no longer used.)
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.phones import to_e164
from bot.services import audit
from bot.services.choices import upsert
from bot.storage.orm import Account, ContactPoint, PhoneConversation, SmsConsent

if TYPE_CHECKING:
    from bot.services.unit_of_work import SqlUnitOfWork


class NotAPhoneNumber(ValueError):
    """What was given as a phone number is not one: nothing is stored for it or sent to it."""

    def __init__(self) -> None:
        super().__init__("not a phone number")  # the number itself is personal data: kept out of logs


def e164(phone: str | None) -> str | None:
    """The number in E.164 if it is one. Numbers reach this service with their country code (Twilio's
    From, stored contact points); numbers typed without one are read in the debtor's region before."""
    return to_e164(phone or "", None)


def _required(phone: str | None) -> str:
    number = e164(phone)
    if number is None:
        raise NotAPhoneNumber()
    return number


def conversation_for(uow: SqlUnitOfWork, phone: str) -> str:
    """The conversation id of a number, issued on its first text; NotAPhoneNumber for anything else."""
    number = _required(phone)
    query = select(PhoneConversation.conversation_id).where(PhoneConversation.phone == number)
    existing = uow.session.scalars(query).first()
    if existing:
        return str(existing)
    # Two first texts at once: the one that comes second issues nothing and reads the other's.
    upsert(uow.session, PhoneConversation, {"phone": number, "conversation_id": uuid.uuid4().hex})
    return str(uow.session.scalars(query).one())


def phone_of(uow: SqlUnitOfWork, conversation_id: str) -> str | None:
    """The number (E.164) of an SMS conversation; None for any other conversation."""
    return e164(uow.session.scalars(
        select(PhoneConversation.phone).where(PhoneConversation.conversation_id == conversation_id)).first())


def phone_of_conversations(session: Session, conversation_ids: Iterable[str]) -> dict[str, str]:
    """The numbers of these SMS conversations, by conversation id (others are left out)."""
    ids = list(set(conversation_ids))
    if not ids:
        return {}
    rows = session.execute(select(PhoneConversation.conversation_id, PhoneConversation.phone)
                           .where(PhoneConversation.conversation_id.in_(ids))).all()
    return {conversation_id: phone for conversation_id, phone in rows}


def _points(session: Session, number: str) -> list[ContactPoint]:
    return list(session.scalars(select(ContactPoint).where(ContactPoint.kind == "phone", ContactPoint.value == number)))


def accounts_on(session: Session, phone: str) -> list[Account]:
    """Accounts whose debtor has this number on file, unless it was reported as reaching someone else."""
    number = e164(phone)
    if number is None:
        return []
    return list(dict.fromkeys(account for point in _points(session, number) if point.status != "wrong"
                              for account in point.debtor.accounts))


def opted_out_numbers(session: Session, phones: Iterable[str]) -> set[str]:
    """Which of these numbers (as given) texted STOP and not START since."""
    numbers = {phone: e164(phone) for phone in phones}
    wanted = {number for number in numbers.values() if number}
    if not wanted:
        return set()
    out = set(session.scalars(select(SmsConsent.phone).where(SmsConsent.phone.in_(wanted),
                                                             SmsConsent.opted_out.is_(True))))
    return {phone for phone, number in numbers.items() if number in out}


def opted_out_on_file(session: Session, numbers: Iterable[str]) -> set[str]:
    """`opted_out_numbers` for numbers as we store them (E.164 already): no parsing, for long lists."""
    wanted = set(numbers)
    if not wanted:
        return set()
    return set(session.scalars(select(SmsConsent.phone).where(SmsConsent.phone.in_(wanted),
                                                              SmsConsent.opted_out.is_(True))))


def number_opted_out(session: Session, phone: str) -> bool:
    """Whether the number may not be texted: it texted STOP (SPEC 7), or it is not a phone number at all."""
    number = e164(phone)
    if number is None:
        return True
    consent = session.get(SmsConsent, number)
    return consent is not None and bool(consent.opted_out)


def is_opted_out(uow: SqlUnitOfWork, phone: str) -> bool:
    """`number_opted_out`, as a use case of its own."""
    return number_opted_out(uow.session, phone)


def set_opt_out(uow: SqlUnitOfWork, phone: str, opted_out: bool, conversation_id: str | None) -> int:
    """Opt the number out of texts (or back in), whether or not it is on file yet; returns how many accounts
    it covers now. A number first imported or added later is already covered. NotAPhoneNumber if not one."""
    number = _required(phone)
    session = uow.session
    # One statement whether or not the number has a row: its first STOP and START at once cannot collide.
    upsert(session, SmsConsent, {"phone": number, "opted_out": opted_out, "updated_at": uow.now()},
           update=("opted_out", "updated_at"))
    points = _points(session, number)
    accounts = list(dict.fromkeys(account for point in points for account in point.debtor.accounts))
    action = "sms_opt_out" if opted_out else "sms_opt_in"
    for account in accounts:
        audit.record(session, action, account=account, conversation_id=conversation_id, at=uow.now(), phone=number)
    if not accounts:  # a number we do not know (yet): the request is still kept, and audited
        audit.record(session, action, conversation_id=conversation_id, at=uow.now(), phone=number)
    return len(accounts)
