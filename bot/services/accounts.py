"""Finding accounts, telling a verified debtor what they owe, and the account's state as JSON."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.accounts import FLAGS, Statement
from bot.domain.money import from_minor
from bot.services import audit, sms
from bot.storage.db import in_chunks
from bot.storage.orm import Account, AuditEvent, Handoff, Payment, PhoneConversation, utcnow

if TYPE_CHECKING:
    from bot.services.unit_of_work import SqlUnitOfWork


class UnknownAccount(LookupError):
    """No account has the reference given."""

    def __init__(self, account_ref: str):
        super().__init__(f"no account with reference {account_ref!r}")


def find(session: Session, account_ref: str | None) -> Account | None:
    """The account with this reference, in a caller's transaction; None if there is none.

    References are matched without regard to case: people type them as they like."""
    return session.scalars(
        select(Account).where(func.upper(Account.account_ref) == (account_ref or "").strip().upper())
    ).first()


def get(session: Session, account_ref: str) -> Account:
    """The account with this reference, in a caller's transaction; raises UnknownAccount."""
    account = find(session, account_ref)
    if account is None:
        raise UnknownAccount(account_ref)
    return account


def local_today(account: Account, now: datetime | None = None) -> date:
    """The date where the debtor lives at `now` (the use case's `uow.now()`): dates agreed with them are theirs.

    Without `now`, the real time (for callers not yet handed a unit of work).
    """
    return (now or utcnow()).astimezone(ZoneInfo(account.debtor.timezone)).date()


def phones_of(account: Account) -> list[str]:
    """The debtor's phone numbers on file (E.164), in the order they were added."""
    return list(dict.fromkeys(c.value for c in account.debtor.contact_points if c.kind == "phone"))


def statement_of(account: Account) -> Statement:
    """What the account amounts to, from its row."""

    def money(minor: int) -> Decimal:
        return from_minor(minor, account.currency)

    return Statement(
        account_ref=account.account_ref,
        creditor_name=account.creditor.name,
        original_creditor=account.original_creditor or account.creditor.name,
        currency=account.currency,
        principal=money(account.principal_minor),
        interest=money(account.interest_minor),
        fees=money(account.fees_minor),
        paid=money(account.paid_minor),
        placed_on=account.placed_on,
        validation_ends_on=account.validation_ends_on,
        written_off=money(account.written_off_minor),
    )


def disclose_statement(uow: SqlUnitOfWork, account_ref: str, conversation_id: str | None) -> Statement:
    """The statement for a debtor who has been verified; the disclosure goes in the audit log."""
    account = get(uow.session, account_ref)
    statement = statement_of(account)
    audit.record(uow.session, "balance_disclosed", account=account, conversation_id=conversation_id,
                 at=uow.now(), balance=str(statement.balance))
    return statement


@dataclass(frozen=True)
class Overview:
    """An account as the command line shows it to a person."""

    statement: Statement
    debtor_name: str
    status: str


def overview(uow: SqlUnitOfWork, account_ref: str) -> Overview:
    """The account's statement, debtor and status; raises UnknownAccount."""
    account = get(uow.session, account_ref)
    return Overview(statement_of(account), account.debtor.name, account.status)


def account_view(uow: SqlUnitOfWork, account_ref: str) -> dict[str, Any]:
    """The account JSON of SPEC section 5 (`view`), the verification lock shown at `uow.now()`; raises
    UnknownAccount."""
    return view(uow.session, get(uow.session, account_ref), uow.now())


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def view(session: Session, account: Account, now: datetime | None = None) -> dict[str, Any]:
    """The account JSON of SPEC section 5, in a caller's transaction: the contract integrations and acceptance
    tests read.

    `now` (default the real time) is the moment the verification lock is shown for.
    """
    from bot.services.identity import verification_status  # here: identity looks accounts up itself

    def money(minor: int) -> str:
        return str(from_minor(minor, account.currency))

    statement = statement_of(account)
    active_flags = {flag.flag for flag in account.flags if flag.cleared_at is None}
    phones = [c for c in account.debtor.contact_points if c.kind == "phone"]
    flags = {name: name in active_flags for name in FLAGS}
    # Consent is kept per number (services.sms, the one place): the debtor's numbers that texted STOP.
    opted_out = sms.opted_out_numbers(session, [c.value for c in phones])
    flags["sms_opt_out"] = bool(opted_out)
    return {
        "account_ref": account.account_ref,
        "status": account.status,
        "balance": str(statement.balance),
        "currency": account.currency,
        "principal": money(account.principal_minor),
        "interest": money(account.interest_minor),
        "fees": money(account.fees_minor),
        "paid": money(account.paid_minor),
        "written_off": money(account.written_off_minor),
        "payments": [
            {"amount": money(p.amount_minor), "paid_on": _iso(p.paid_on), "reference": p.reference}
            for p in session.scalars(select(Payment).where(Payment.account_id == account.id, Payment.applied.is_(True))
                                     .order_by(Payment.paid_on, Payment.id))
        ],
        "creditor": {"id": account.creditor.id, "name": account.creditor.name},
        "original_creditor": statement.original_creditor,
        "placed_on": _iso(account.placed_on),
        "validation_ends_on": _iso(account.validation_ends_on),
        "debtor": {"name": account.debtor.name, "timezone": account.debtor.timezone},
        "plans": [
            {
                "status": plan.status,
                "total": money(plan.total_minor),
                "authorized_by": plan.authorized_tier,
                "authorized_actor": plan.authorized_actor,
                "requested_by": plan.requested_by,
                "hardship": bool(plan.policy_snapshot.get("hardship")),
                "conversation_id": plan.conversation_id,
                "created_at": _iso(plan.created_at),
                "installments": [
                    {"due_on": _iso(i.due_on), "amount": money(i.amount_minor), "status": i.status,
                     "paid": money(i.paid_minor), "paid_on": _iso(i.paid_on)}
                    for i in plan.installments
                ],
                "ended_on": _iso(plan.ended_on),
                "end_reason": plan.end_reason,
            }
            for plan in account.plans
        ],
        "settlements": [
            {
                "amount": money(s.amount_minor),
                "discount_pct": str(Decimal(s.discount_basis_points).scaleb(-2)),
                "pay_by": _iso(s.pay_by),
                "status": s.status,
                "ended_on": _iso(s.ended_on),
                "authorized_by": s.authorized_tier,
                "authorized_actor": s.authorized_actor,
                "requested_by": s.requested_by,
                "conversation_id": s.conversation_id,
            }
            for s in account.settlements
        ],
        "promises": [
            {
                "amount": money(p.amount_minor),
                "pay_on": _iso(p.pay_on),
                "status": p.status,
                "ended_on": _iso(p.ended_on),
                "authorized_by": p.authorized_tier,
                "authorized_actor": p.authorized_actor,
                "requested_by": p.requested_by,
                "conversation_id": p.conversation_id,
            }
            for p in account.promises
        ],
        "disputes": [
            {"reason": d.reason, "status": d.status, "reference": d.reference, "details": d.details,
             "opened_at": _iso(d.opened_at)}
            for d in account.disputes
        ],
        "flags": flags,
        "verification": verification_status(session, account.account_ref, now or utcnow()),
        "contact_points": [
            {"kind": c.kind, "value": c.value, "source": c.source, "verified": c.verified, "status": c.status,
             "sms_opt_out": c.kind == "phone" and c.value in opted_out}
            for c in account.debtor.contact_points
        ],
        "handoffs": [
            {"reason": h.reason, "status": h.status, "conversation_id": h.conversation_id,
             "assigned_to": h.assigned_to, "disposition": h.disposition, "created_at": _iso(h.created_at),
             "closed_at": _iso(h.closed_at)}
            for h in account.handoffs
        ],
    }


def conversations_of(session: Session, accounts_: Sequence[Account]) -> dict[int, set[str]]:
    """Every conversation linked to each account, by account id: its audit log, agreements, disputes and
    handoffs, and the SMS conversations of its debtor's phones (what erasure removes, what a legal bundle
    transcribes)."""
    found: dict[int, set[str]] = defaultdict(set)
    for chunk in in_chunks([a.id for a in accounts_]):
        for model, id_column in ((AuditEvent, AuditEvent.account_id), (Handoff, Handoff.account_id)):
            for account_id, conversation_id in session.execute(
                    select(id_column, model.conversation_id).where(id_column.in_(chunk)).distinct()):
                if conversation_id:
                    found[account_id].add(conversation_id)
    phones: dict[str, set[int]] = defaultdict(set)
    for account in accounts_:
        named = [row.conversation_id for rows in (account.plans, account.settlements, account.promises,
                                                  account.disputes) for row in rows]
        found[account.id].update(conversation_id for conversation_id in named if conversation_id)
        for point in account.debtor.contact_points:
            if point.kind == "phone":
                phones[point.value].add(account.id)
    for some in in_chunks(list(phones)):
        for phone, conversation_id in session.execute(
                select(PhoneConversation.phone, PhoneConversation.conversation_id)
                .where(PhoneConversation.phone.in_(some))):
            for account_id in phones[phone]:
                found[account_id].add(conversation_id)
    return found
