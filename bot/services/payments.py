"""Payments received: importing the creditor's or the bank's file, and assigning what matched no account.

An import is one transaction and idempotent on the payment's reference: a file imported twice records each payment
once. A payment is matched when its account reference is on file and it is in the account's currency; anything
else is kept unmatched, with why, for a person to assign from the console (a payment in another currency is
refused there, never converted). Every row of the file is in the report: matched, already had, unmatched, or
unreadable. Matched payments are added to the account's paid total at once; what they do to its agreements is
the daily run's (`bot.services.daily`).

Built for files of 100,000 rows: references and accounts are looked up in batches, rows inserted in bulk.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from bot.domain.console import Staff
from bot.domain.money import MoneyError, to_minor
from bot.domain.verification import normalise_reference
from bot.payments_files import PaymentRow, read_payments
from bot.services import accounts, audit
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage.orm import Account, AuditEvent, Payment

BATCH = 500  # ids in one IN (...) list
ACTOR = "payments-import"


@dataclass(frozen=True)
class RowResult:
    line: int
    reference: str
    outcome: str  # matched | already_had | unmatched | unreadable
    account_ref: str | None = None
    why: str = ""


@dataclass
class ImportReport:
    """What an import did with every row of the file."""

    source: str
    rows: list[RowResult] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(row.outcome for row in self.rows)


def _batches(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start:start + BATCH]


def _known_references(session: Session, references: Sequence[str]) -> set[str]:
    known: set[str] = set()
    for batch in _batches(references):
        known.update(session.scalars(select(Payment.reference).where(Payment.reference.in_(batch))))
    return known


def _accounts_by_reference(session: Session, refs: Sequence[str]) -> dict[str, tuple[int, str, str]]:
    """Normalised reference -> (account id, reference as stored, currency)."""
    found: dict[str, tuple[int, str, str]] = {}
    for batch in _batches(refs):
        for account_id, ref, currency in session.execute(select(Account.id, Account.account_ref, Account.currency)
                                                         .where(func.upper(Account.account_ref).in_(batch))):
            found[normalise_reference(ref)] = (account_id, ref, currency)
    return found


def _decide(row: PaymentRow, account: tuple[int, str, str] | None) -> tuple[str, str]:
    """matched or unmatched, and why not."""
    if row.account_ref is None:
        return "unmatched", "no account reference in the payment"
    if account is None:
        return "unmatched", f"no account {row.account_ref}"
    currency = account[2]
    if row.currency and row.currency.upper() != currency:
        return "unmatched", f"paid in {row.currency.upper()}, the account is in {currency}: refused, not converted"
    return "matched", ""


def import_payments(uow: SqlUnitOfWork, path: Path, source: str | None = None,
                    progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import a CSV or camt.053 file (PaymentFileError for a file that is neither) in one transaction."""
    rows, problems = read_payments(path)
    kind = _format_of(path)
    report = ImportReport(source or path.name)
    report.rows.extend(RowResult(p.line, "", "unreadable", why=p.reason) for p in problems)
    with uow:
        session, now = uow.session, uow.now()
        known = _known_references(session, sorted({row.reference for row in rows}))
        wanted = sorted({normalise_reference(row.account_ref) for row in rows if row.account_ref})
        by_ref = _accounts_by_reference(session, wanted)
        new: list[dict[str, Any]] = []
        paid_by_account: Counter[int] = Counter()
        events: list[dict[str, Any]] = []
        seen: set[str] = set()
        for done, row in enumerate(rows, start=1):
            if row.reference in known or row.reference in seen:
                report.rows.append(RowResult(row.line, row.reference, "already_had", row.account_ref))
                continue
            seen.add(row.reference)
            account = by_ref.get(normalise_reference(row.account_ref)) if row.account_ref else None
            outcome, why = _decide(row, account)
            currency = account[2] if account else (row.currency or "USD")
            try:
                minor = to_minor(row.amount, currency)
            except MoneyError as error:
                report.rows.append(RowResult(row.line, row.reference, "unreadable", row.account_ref, str(error)))
                continue
            account_id = account[0] if account is not None and outcome == "matched" else None
            new.append({"reference": row.reference, "account_id": account_id,
                        "amount_minor": minor, "currency": row.currency, "paid_on": row.paid_on,
                        "account_ref_given": (row.account_ref or "")[:64] or None,
                        "remittance": row.remittance[:2000], "source": kind,
                        "status": outcome, "unmatched_reason": why or None, "imported_at": now,
                        "assigned_by": None, "applied": account_id is not None})
            if account_id is not None:
                paid_by_account[account_id] += minor
                events.append({"occurred_at": now, "actor": ACTOR, "action": "payment_received",
                               "account_id": account_id, "conversation_id": None,
                               "details": {"reference": row.reference, "amount": str(row.amount),
                                           "paid_on": row.paid_on.isoformat()}})
            report.rows.append(RowResult(row.line, row.reference, outcome, account[1] if account else row.account_ref,
                                         why))
            if progress and done % 5000 == 0:
                progress(done, len(rows))
        for batch in _batches(new):
            session.execute(insert(Payment), list(batch))
        for batch in _batches(events):
            session.execute(insert(AuditEvent), list(batch))
        if paid_by_account:  # one executemany, not an UPDATE per account
            session.execute(update(Account).where(Account.id == bindparam("aid"))
                            .values(paid_minor=Account.paid_minor + bindparam("add"))
                            .execution_options(synchronize_session=False),
                            [{"aid": account_id, "add": minor} for account_id, minor in paid_by_account.items()])
        counts = report.counts
        audit.record(session, "payments_imported", actor=ACTOR, at=now, file=report.source,
                     counts=dict(counts))
    report.rows.sort(key=lambda r: r.line)
    return report


def _format_of(path: Path) -> str:
    """camt053 (XML) or csv, as `read_payments` tells them apart: by content."""
    with path.open("rb") as file:
        head = file.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "camt053" if head.startswith(b"<") else "csv"


def unmatched(uow: SqlUnitOfWork) -> list[dict[str, Any]]:
    """The payments no account took, oldest first: for a person to assign."""
    with uow:
        rows = uow.session.scalars(select(Payment).where(Payment.status == "unmatched")
                                   .order_by(Payment.paid_on, Payment.id)).all()
        return [{"id": p.id, "reference": p.reference, "amount_minor": p.amount_minor, "currency": p.currency,
                 "paid_on": p.paid_on.isoformat(), "account_ref_given": p.account_ref_given,
                 "remittance": p.remittance, "why": p.unmatched_reason} for p in rows]


class PaymentError(ValueError):
    """A payment that cannot be assigned as asked."""


def assign(uow: SqlUnitOfWork, payment_id: int, account_ref: str, staff: Staff) -> dict[str, Any]:
    """A person matches an unmatched payment to an account (in the account's currency only); audited."""
    with uow:
        session, now = uow.session, uow.now()
        payment = session.get(Payment, payment_id)
        if payment is None or payment.status != "unmatched":
            raise PaymentError(f"no unmatched payment {payment_id}")
        account = accounts.get(session, account_ref)
        if payment.currency and payment.currency.upper() != account.currency:
            raise PaymentError(f"the payment is in {payment.currency}, the account in {account.currency}:"
                               " it cannot be assigned (return it to the payer)")
        payment.account_id, payment.status, payment.applied = account.id, "matched", True
        payment.assigned_by, payment.unmatched_reason = staff.login, None
        account.paid_minor += payment.amount_minor
        audit.record(session, "payment_assigned", actor=staff.login, account=account, at=now,
                     reference=payment.reference, amount_minor=payment.amount_minor)
        return {"id": payment.id, "account_ref": account.account_ref, "status": payment.status}

