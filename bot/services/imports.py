"""Importing creditors' policies and placed accounts: all of a file or none of it; re-imports update."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.money import to_minor
from bot.importing import AccountRecord, ImportRejected, Problem, read_accounts_csv, read_policies_yaml
from bot.services import accounts, audit
from bot.storage.orm import Account, ContactPoint, Creditor, Debtor

if TYPE_CHECKING:
    from bot.services.unit_of_work import SqlUnitOfWork

__all__ = ["OPERATIONS", "ImportRejected", "ImportSummary", "has_accounts", "import_accounts", "import_policies"]

OPERATIONS = "operations"


@dataclass(frozen=True)
class ImportSummary:
    """How many records an import created, changed and found as they were."""

    created: int
    updated: int
    unchanged: int

    def __str__(self) -> str:
        return f"{self.created} created, {self.updated} updated, {self.unchanged} unchanged"


def import_policies(uow: SqlUnitOfWork, path: Path) -> ImportSummary:
    """Creditors and their policies from a YAML file; raises ImportRejected (nothing imported)."""
    records = read_policies_yaml(path)
    created = updated = unchanged = 0
    session = uow.session
    for record in records:
        creditor = session.get(Creditor, record.id)
        if creditor is None:
            session.add(Creditor(id=record.id, name=record.name, policy=record.policy))
            created += 1
        elif (creditor.name, creditor.policy) != (record.name, record.policy):
            creditor.name, creditor.policy = record.name, record.policy
            updated += 1
        else:
            unchanged += 1
            continue
        audit.record(session, "policy_imported", actor=OPERATIONS, at=uow.now(), creditor_id=record.id,
                     policy=record.policy)
    return ImportSummary(created, updated, unchanged)


def _debtor_for(session: Session, record: AccountRecord) -> Debtor:
    debtor = session.scalars(
        select(Debtor).where(
            Debtor.name == record.debtor_name,
            Debtor.date_of_birth == record.date_of_birth,
            Debtor.postcode == record.postcode,
        )
    ).first()
    if debtor is None:
        debtor = Debtor(name=record.debtor_name, date_of_birth=record.date_of_birth, postcode=record.postcode,
                        timezone=record.timezone)
        session.add(debtor)
        session.flush()
    debtor.timezone = record.timezone
    for kind, value in (("phone", record.phone), ("email", record.email)):
        if value and not any(c.kind == kind and c.value == value for c in debtor.contact_points):
            debtor.contact_points.append(ContactPoint(kind=kind, value=value, source="import", verified=True))
    return debtor


def _placement(record: AccountRecord, creditor_id: str, debtor: Debtor) -> dict[str, Any]:
    return {
        "creditor_id": creditor_id,
        "debtor_id": debtor.id,
        "original_creditor": record.original_creditor,
        "currency": record.currency,
        "principal_minor": to_minor(record.principal, record.currency),
        "interest_minor": to_minor(record.interest, record.currency),
        "fees_minor": to_minor(record.fees, record.currency),
        "placed_on": record.placed_on,
        "validation_ends_on": record.validation_ends_on,
    }


def import_accounts(uow: SqlUnitOfWork, path: Path, today: date) -> ImportSummary:
    """Placed accounts from a CSV file, read as at `today`; raises ImportRejected (nothing imported)."""
    records = read_accounts_csv(path, today)
    created = updated = unchanged = 0
    session = uow.session
    known_creditors = {c.id for c in session.scalars(select(Creditor))}
    problems = [
        Problem(r.line, f"creditor_id {r.creditor_id} has no policy; import its policy first")
        for r in records
        if r.creditor_id not in known_creditors
    ]
    if problems:
        raise ImportRejected(problems)
    for record in records:
        debtor = _debtor_for(session, record)
        placement = _placement(record, record.creditor_id, debtor)
        account = accounts.find(session, record.account_ref)
        if account is None:
            account = Account(account_ref=record.account_ref, **placement)
            session.add(account)
            session.flush()
            created += 1
            audit.record(session, "account_placed", actor=OPERATIONS, account=account, at=uow.now(),
                         line=record.line)
            continue
        changes = {k: v for k, v in placement.items() if getattr(account, k) != v}
        if not changes:
            unchanged += 1
            continue
        for key, value in changes.items():
            setattr(account, key, value)
        updated += 1
        audit.record(session, "account_updated", actor=OPERATIONS, account=account, at=uow.now(),
                     line=record.line, changed=sorted(changes))
    return ImportSummary(created, updated, unchanged)


def has_accounts(uow: SqlUnitOfWork) -> bool:
    """Whether any account was placed: an empty database gets the demo portfolio."""
    return bool(uow.session.scalar(select(func.count(Account.id))))
