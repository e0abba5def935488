"""Texting with debtors: which conversation a number is, which accounts it reaches, and its consent.

An opt-out (STOP and its kin) covers the number on every debtor and account it is on file for (SPEC 7).
"""
from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.services import audit
from bot.storage.db import unit_of_work
from bot.storage.orm import Account, ContactPoint, PhoneConversation


def conversation_for(phone: str) -> str:
    """The conversation id of a number, issued on its first text."""
    with unit_of_work() as session:
        existing = session.scalars(select(PhoneConversation.conversation_id).where(PhoneConversation.phone == phone)).first()
        if existing:
            return existing
    try:
        with unit_of_work() as session:
            issued = PhoneConversation(phone=phone, conversation_id=uuid.uuid4().hex)
            session.add(issued)
        return issued.conversation_id
    except IntegrityError:  # two first texts at once: the other one issued it
        return conversation_for(phone)


def phone_of(conversation_id: str) -> str | None:
    """The number of an SMS conversation; None for any other conversation."""
    with unit_of_work() as session:
        return session.scalars(
            select(PhoneConversation.phone).where(PhoneConversation.conversation_id == conversation_id)).first()


def _points(session: Session, phone: str) -> list[ContactPoint]:
    return list(session.scalars(select(ContactPoint).where(ContactPoint.kind == "phone", ContactPoint.value == phone)))


def accounts_on(session: Session, phone: str) -> list[Account]:
    """Accounts whose debtor has this number on file, unless it was reported as reaching someone else."""
    return [account for point in _points(session, phone) if point.status != "wrong"
            for account in point.debtor.accounts]


def number_opted_out(session: Session, phone: str) -> bool:
    """Whether the number texted STOP: it covers the number on any debtor's record (SPEC 7)."""
    return any(point.sms_opt_out for point in _points(session, phone))


def is_opted_out(phone: str) -> bool:
    with unit_of_work() as session:
        return number_opted_out(session, phone)


def set_opt_out(phone: str, opted_out: bool, conversation_id: str | None) -> int:
    """Opt the number out of texts (or back in) wherever it is on file; returns how many accounts it covers."""
    with unit_of_work() as session:
        points = _points(session, phone)
        accounts = [account for point in points for account in point.debtor.accounts]
        for point in points:
            point.sms_opt_out = opted_out
        action = "sms_opt_out" if opted_out else "sms_opt_in"
        for account in accounts:
            audit.record(session, action, account=account, conversation_id=conversation_id, phone=phone)
        if not accounts:  # a number we do not know: the request is still kept
            audit.record(session, action, conversation_id=conversation_id, phone=phone)
        return len(accounts)
