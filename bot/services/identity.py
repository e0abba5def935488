"""Right-party verification against the accounts on file (SPEC 2.1), with the locks of bot.domain.verification.

Every attempt is kept (VerificationAttempt) and audited; a refused one is audited, never counted. A known
and an unknown reference take the same path (one account query, one attempts query, the same writes), so
neither the answer nor its timing says whether a reference exists.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session, joinedload

from bot.domain import verification as policy
from bot.domain.accounts import COLLECTING
from bot.domain.verification import Answer, AnswerKind, Attempt, normalise_reference, postcode_matches, read_answer
from bot.services import accounts, audit, sms
from bot.storage.db import as_utc
from bot.storage.orm import Account, VerificationAttempt

if TYPE_CHECKING:
    from bot.services.unit_of_work import SqlUnitOfWork

_NOBODY = date.min  # compared against when a reference is not on file, so both paths do the same work


class Outcome(Enum):
    """What came of an answer to the verification question."""

    VERIFIED = "verified"
    FAILED = "failed"  # an attempt that did not match: counted
    REFUSED = "refused"  # the reference, the number or the client is locked: not checked, not counted
    NOT_AN_ANSWER = "not_an_answer"  # no single date (or postcode): not an attempt, not counted


@dataclass(frozen=True)
class Verification:
    """The outcome of one answer, and what a person may be told of it."""

    outcome: Outcome
    account_ref: str | None = None  # the account verified on
    locked_until: datetime | None = None  # set when refused, or when this failure locked


def likely_reference(uow: SqlUnitOfWork, text: str, *, whole_message_may_be_ref: bool = False) -> str | None:
    """The reference a message most likely gives: one on file if any token names one.

    A reference always carries a digit, so small talk is never taken for one (`whole_message_may_be_ref`
    is accepted for older callers and changes nothing). Whether it is on file is never told to the person.
    """
    candidates = policy.reference_candidates(text)
    if not candidates:
        return None
    for candidate in candidates:
        account = accounts.find(uow.session, candidate)
        if account is not None:
            return account.account_ref
    return candidates[0]


def _until(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def verify(uow: SqlUnitOfWork, account_ref: str, answer: str, *, conversation_id: str | None = None,
           client: str | None = None, channel: str | None = None) -> Verification:
    """Check a date of birth against a reference at `uow.now()`, unless the reference or the client is locked.

    Runs in a locking unit of work (`SqlUnitOfWork(locking=True)`): attempts on one reference take turns.
    """
    now = uow.now()
    reading = read_answer(answer, now.date())
    if reading.kind is not AnswerKind.DATE:
        return Verification(Outcome.NOT_AN_ANSWER)
    key = normalise_reference(account_ref)
    session = uow.session
    _serialise(session, [key])
    account = session.scalars(select(Account).options(joinedload(Account.debtor))
                              .where(func.upper(Account.account_ref) == key)).first()
    attempts = _recent_attempts(session, [key], client, now)
    lock = policy.lock_on(attempts, references=[key], client=client, now=now)
    context: dict[str, Any] = dict(conversation_id=conversation_id, at=now, method="reference+date_of_birth",
                                   reference_given=key, client=client, channel=channel)
    if lock.locked:
        audit.record(session, "verification_refused", account=account, locked_until=_until(lock.until), **context)
        return Verification(Outcome.REFUSED, locked_until=lock.until)
    date_of_birth = account.debtor.date_of_birth if account is not None else _NOBODY
    verified = date_of_birth in reading.dates and account is not None
    attempt = _record(session, [key], client, channel, conversation_id, verified, now)
    audit.record(session, "identity_verified" if verified else "verification_failed", account=account, **context)
    if verified and account is not None:
        return Verification(Outcome.VERIFIED, account_ref=account.account_ref)
    after = policy.lock_on([*attempts, *attempt], references=[key], client=client, now=now)
    if after.locked:
        audit.record(session, "verification_locked", account=account, locked_until=_until(after.until),
                     reference_failures=after.reference_failures, client_failures=after.client_failures,
                     **context)
    return Verification(Outcome.FAILED, locked_until=after.until)


def verify_by_phone(uow: SqlUnitOfWork, phone: str | None, answer: str, *, conversation_id: str | None = None,
                    client: str | None = None, channel: str | None = "sms") -> Verification:
    """The account a texter is verified on (SPEC 2.1): the number is on file and the answer is the date of birth
    of exactly one debtor reachable at it; or their postcode, when only one debtor has the number, since a
    household shares a phone and a postcode. Where that debtor has several accounts, one still collecting first.

    The answer is tested against every account on the number, so a failure counts against each of their
    references, and a lock on any of them (or on the number) refuses the attempt: otherwise a refusal for one
    and "no match" for another would tell which date was right.

    Runs in a locking unit of work (`SqlUnitOfWork(locking=True)`), at `uow.now()`.
    """
    now = uow.now()
    reading = read_answer(answer, now.date(), postcode_allowed=True)
    if not reading.is_attempt:
        return Verification(Outcome.NOT_AN_ANSWER)
    client = client or (f"phone:{phone}" if phone else None)
    session = uow.session
    reachable = sms.accounts_on(session, phone) if phone else []
    audited: list[Account | None] = [*reachable] or [None]  # an unknown number's attempt is audited too
    keys = sorted({normalise_reference(account.account_ref) for account in reachable})
    _serialise(session, keys)
    attempts = _recent_attempts(session, keys, client, now)
    lock = policy.lock_on(attempts, references=keys, client=client, now=now)
    method = "phone+date_of_birth" if reading.kind is AnswerKind.DATE else "phone+postcode"
    context: dict[str, Any] = dict(conversation_id=conversation_id, at=now, method=method, client=client,
                                   channel=channel)
    if lock.locked:
        for each in audited:
            audit.record(session, "verification_refused", account=each, locked_until=_until(lock.until), **context)
        return Verification(Outcome.REFUSED, locked_until=lock.until)
    account = _account_answered(reachable, reading)
    tested: list[str | None] = [*keys] or [None]
    attempt = _record(session, tested, client, channel, conversation_id, account is not None, now)
    if account is not None:
        audit.record(session, "identity_verified", account=account, **context)
        return Verification(Outcome.VERIFIED, account_ref=account.account_ref)
    for each in audited:
        audit.record(session, "verification_failed", account=each, **context)
    after = policy.lock_on([*attempts, *attempt], references=keys, client=client, now=now)
    if after.locked:
        for each in audited:
            audit.record(session, "verification_locked", account=each, locked_until=_until(after.until),
                         reference_failures=after.reference_failures, client_failures=after.client_failures,
                         **context)
    return Verification(Outcome.FAILED, locked_until=after.until)


def _account_answered(reachable: list[Account], reading: Answer) -> Account | None:
    """The account the answer proves, if it names exactly one debtor at the number."""
    debtors = {account.debtor for account in reachable}
    if reading.kind is AnswerKind.DATE:
        matching = {debtor for debtor in debtors if debtor.date_of_birth in reading.dates}
    elif len(debtors) == 1:  # a postcode proves nothing between people who share a phone (a household)
        matching = {debtor for debtor in debtors if postcode_matches(debtor.postcode, reading.postcode)}
    else:
        matching = set()
    if len(matching) != 1:  # none; or two people at one number whom one date fits (03/12 read both ways)
        return None
    (debtor,) = matching
    theirs = [account for account in reachable if account.debtor is debtor]
    theirs.sort(key=lambda account: (account.status not in COLLECTING, -account.placed_on.toordinal()))
    return theirs[0]


def phone_identifies(uow: SqlUnitOfWork, phone: str | None) -> bool:
    """Whether a texter's number is on file, so that a date of birth or postcode can verify them."""
    if not phone:
        return False
    return bool(sms.accounts_on(uow.session, phone))


def verification_status(session: Session, account_ref: str, now: datetime) -> dict[str, object]:
    """What a person sees of a reference's lock (the account JSON): failures in the last 24 hours, and until
    when attempts on it are refused (null when they are not)."""
    key = normalise_reference(account_ref)
    lock = policy.lock_on(_recent_attempts(session, [key], None, now), references=[key], client=None, now=now)
    return {"failures_24h": lock.reference_failures, "locked_until": lock.until.isoformat() if lock.until else None}


def _recent_attempts(session: Session, keys: list[str], client: str | None, now: datetime) -> list[Attempt]:
    conditions = [VerificationAttempt.reference.in_(keys)] if keys else []
    if client is not None:
        conditions.append(VerificationAttempt.client == client)
    if not conditions:
        return []
    rows = session.scalars(select(VerificationAttempt).where(
        VerificationAttempt.attempted_at > now - policy.WINDOW, or_(*conditions)))
    return [Attempt(reference=row.reference, client=row.client, succeeded=row.succeeded, at=as_utc(row.attempted_at))
            for row in rows]


def _record(session: Session, keys: list[str | None], client: str | None, channel: str | None,
            conversation_id: str | None, succeeded: bool, now: datetime) -> list[Attempt]:
    """One attempt, kept once per reference it was tested against (all at the same moment: one attempt)."""
    for key in keys:
        session.add(VerificationAttempt(reference=key, client=client, channel=channel,
                                        conversation_id=conversation_id, succeeded=succeeded, attempted_at=now))
    return [Attempt(reference=key, client=client, succeeded=succeeded, at=now) for key in keys]


def _serialise(session: Session, keys: list[str]) -> None:
    """Attempts on one reference take turns, so two at once cannot both pass a limit's last place.

    SQLite: the unit of work holds the write lock from its start (locking=True). PostgreSQL: a transaction-level
    advisory lock per reference (there may be no row to lock: the reference need not be on file).
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(keys):
        digest = int.from_bytes(hashlib.sha256(f"verification:{key}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": digest})
