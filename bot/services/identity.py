"""Right-party verification against the accounts on file (SPEC 2.1)."""
from __future__ import annotations

from datetime import date

from bot.domain.verification import date_of_birth_matches, reference_candidates
from bot.services import accounts, audit
from bot.storage.db import unit_of_work


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
