"""Right-party verification against the accounts on file (SPEC 2.1)."""
from __future__ import annotations

from datetime import date

from bot.domain.accounts import COLLECTING
from bot.domain.verification import date_of_birth_matches, postcode_matches, reference_candidates
from bot.services import accounts, audit, sms
from bot.storage.db import unit_of_work
from bot.storage.orm import Debtor


def likely_reference(text: str, *, whole_message_may_be_ref: bool) -> str | None:
    """The reference a message most likely gives: one on file if any token names one.

    Whether it is on file is never told to the person, so this reveals nothing.
    """
    candidates = reference_candidates(text)
    if not whole_message_may_be_ref:
        candidates = [c for c in candidates if any(ch.isdigit() for ch in c)]
    if not candidates:
        return None
    with unit_of_work() as session:
        for candidate in candidates:
            account = accounts.find(session, candidate)
            if account is not None:
                return account.account_ref
    return candidates[0]


def verify(account_ref: str, date_of_birth_text: str, conversation_id: str | None, today: date) -> bool:
    """True when the reference is on file and the date of birth is the debtor's; both outcomes audited."""
    with unit_of_work() as session:
        account = accounts.find(session, account_ref)
        verified = account is not None and date_of_birth_matches(account.debtor.date_of_birth, date_of_birth_text, today)
        audit.record(
            session,
            "identity_verified" if verified else "verification_failed",
            account=account,
            conversation_id=conversation_id,
            method="reference+date_of_birth",
            reference_given=account_ref,
        )
        return verified


def verify_by_phone(phone: str, answer: str, conversation_id: str | None, today: date) -> str | None:
    """The account a texter is verified on: the number is on file and the answer is the debtor's date of birth
    or postcode (SPEC 2.1). Where the number reaches several accounts that match, one still collecting first."""
    with unit_of_work() as session:
        matches = [(account, method) for account in sms.accounts_on(session, phone)
                   if (method := _answer_matches(account.debtor, answer, today))]
        matches.sort(key=lambda match: (match[0].status not in COLLECTING, -match[0].placed_on.toordinal()))
        account, method = matches[0] if matches else (None, None)
        audit.record(session, "identity_verified" if account else "verification_failed", account=account,
                     conversation_id=conversation_id, method=f"phone+{method}" if method else "phone")
        return account.account_ref if account else None


def _answer_matches(debtor: Debtor, answer: str, today: date) -> str | None:
    if date_of_birth_matches(debtor.date_of_birth, answer, today):
        return "date_of_birth"
    if postcode_matches(debtor.postcode, answer):
        return "postcode"
    return None


def phone_identifies(phone: str | None) -> bool:
    """Whether a texter's number is on file, so that a date of birth or postcode can verify them."""
    if not phone:
        return False
    with unit_of_work() as session:
        return bool(sms.accounts_on(session, phone))
