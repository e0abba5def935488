"""Recording agreements: authorised by the one check, written whole in one transaction, never twice."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.accounts import AccountStatus
from bot.domain.money import to_minor
from bot.domain.negotiation import (
    PlanTerms,
    PromiseTerms,
    SettlementTerms,
    Terms,
    authorise,
    discount_pct,
    terms_to_dict,
)
from bot.domain.policy import parse_policy
from bot.services import accounts, audit, cases
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage.orm import Account, Installment, Plan, Promise, Settlement


@dataclass(frozen=True)
class Actor:
    tier: str  # bot | agent | supervisor
    name: str  # "assistant", or a collector's login


ASSISTANT = Actor("bot", "assistant")


class CollectionPaused(Exception):
    """The account takes no new agreement (disputed, ceased, closed or already paid); `hold` says why."""

    def __init__(self, account_ref: str, hold: cases.Hold):
        super().__init__(f"account {account_ref} is {hold.status}: no new agreement")
        self.hold = hold


@dataclass(frozen=True)
class Recorded:
    """What was recorded, with everything a reply about it needs, read in the same transaction."""

    kind: str
    id: int
    duplicate: bool  # True when this exact agreement had been recorded before
    account_ref: str  # as it is on file
    currency: str
    terms: Terms


def _request_key(conversation_id: str | None, account_ref: str, terms: Terms) -> str | None:
    """Same conversation, same account, same terms: the same request, however often it arrives."""
    if not conversation_id:
        return None
    return hashlib.sha256(f"{conversation_id}|{account_ref.upper()}|{terms!r}".encode()).hexdigest()


def _row_for(terms: Terms, account: Account, balance: Decimal, common: dict[str, Any]) -> Plan | Settlement | Promise:
    def minor(amount: Decimal) -> int:
        return to_minor(amount, account.currency)

    if isinstance(terms, PlanTerms):
        return Plan(status="active", total_minor=minor(terms.total), **common, installments=[
            Installment(sequence=n + 1, due_on=i.due_on, amount_minor=minor(i.amount))
            for n, i in enumerate(terms.installments)
        ])
    if isinstance(terms, SettlementTerms):
        return Settlement(status="pending", amount_minor=minor(terms.amount), pay_by=terms.pay_by,
                          discount_basis_points=int(discount_pct(balance, terms.amount) * 100), **common)
    return Promise(status="pending", amount_minor=minor(terms.amount), pay_on=terms.pay_on, **common)


Table = type[Plan] | type[Settlement] | type[Promise]
_KIND: dict[type, tuple[str, Table, AccountStatus]] = {  # terms -> (name, table, the account's status once agreed)
    PlanTerms: ("plan", Plan, AccountStatus.PLAN_ACTIVE),
    SettlementTerms: ("settlement", Settlement, AccountStatus.SETTLEMENT_PENDING),
    PromiseTerms: ("promise", Promise, AccountStatus.PROMISE_PENDING),
}


def _supersede(uow: SqlUnitOfWork, account: Account, actor: Actor, conversation_id: str | None) -> None:
    """A new agreement replaces whatever was in force, explicitly and in the audit log."""
    rows: list[Plan | Settlement | Promise] = [*account.plans, *account.settlements, *account.promises]
    for row in rows:
        if row.status in ("active", "pending"):
            row.status = "superseded" if isinstance(row, Plan) else "cancelled"
            audit.record(uow.session, "agreement_superseded", actor=actor.name, account=account, at=uow.now(),
                         conversation_id=conversation_id, kind=type(row).__name__.lower(), id=row.id)


def _locked_account(session: Session, account_ref: str) -> Account:
    """The account, its row locked until the transaction ends (SELECT ... FOR UPDATE; SQLite's unit of work
    holds the database's write lock instead), and read again after the lock: a confirmation racing another
    waits here, then sees the agreement the other one wrote."""
    account = accounts.get(session, account_ref)
    locked: Account = session.scalars(select(Account).where(Account.id == account.id).with_for_update()
                                      .execution_options(populate_existing=True)).one()
    return locked


def record(uow: SqlUnitOfWork, account_ref: str, terms: Terms, actor: Actor, conversation_id: str | None, *,
           requested_by: str | None = None) -> Recorded:
    """Authorise and write an agreement; raises NotAuthorised, CollectionPaused or UnknownAccount.

    `requested_by`: the agent whose request beyond their tier a supervisor (`actor`) approved.

    One transaction, the account locked before anything in force is read (`uow` is a locking unit of work:
    `SqlUnitOfWork(locking=True)`): two confirmations at once end with one agreement in force, the later
    superseding the earlier. Any failure inside writes nothing. The debtor's today is the unit of work's clock
    in their zone.
    """
    kind, table, status = _KIND[type(terms)]
    key = _request_key(conversation_id, account_ref, terms)
    try:
        with uow:
            session = uow.session
            account = _locked_account(session, account_ref)

            def recorded(row: Plan | Settlement | Promise, duplicate: bool) -> Recorded:
                return Recorded(kind, row.id, duplicate, account.account_ref, account.currency, terms)

            if key:
                existing = session.scalars(select(table).where(table.request_key == key)).first()
                if existing is not None:
                    return recorded(existing, True)
            hold = cases.hold_of(account)
            if hold is not None:
                raise CollectionPaused(account.account_ref, hold)
            policy = parse_policy(account.creditor.policy)
            balance = accounts.statement_of(account).balance
            authorise(terms, balance, policy, actor.tier, accounts.local_today(account, uow.now()), account.currency)
            _supersede(uow, account, actor, conversation_id)
            row = _row_for(terms, account, balance, {
                "account_id": account.id, "authorized_tier": actor.tier, "authorized_actor": actor.name,
                "policy_snapshot": {"tier": actor.tier, "policy": account.creditor.policy, "balance": str(balance),
                                    "hardship": isinstance(terms, PlanTerms) and terms.hardship},
                "conversation_id": conversation_id, "request_key": key, "created_at": uow.now(),
                "requested_by": requested_by,
            })
            session.add(row)
            account.status = status.value
            session.flush()
            audit.record(session, f"{kind}_agreed", actor=actor.name, account=account, at=uow.now(),
                         conversation_id=conversation_id, tier=actor.tier, id=row.id, terms=terms_to_dict(terms),
                         **({"requested_by": requested_by} if requested_by else {}))
            return recorded(row, False)
    except IntegrityError:
        # The same request raced itself in: the first one won; report it rather than a second agreement. The
        # racing transaction rolled back; this reads in a new one.
        with uow:
            existing = uow.session.scalars(select(table).where(table.request_key == key)).first() if key else None
            if existing is None:
                raise
            winner = uow.session.get(Account, existing.account_id)
            if winner is None:  # pragma: no cover - an agreement's account is never deleted under it
                raise
            return Recorded(kind, existing.id, True, winner.account_ref, winner.currency, terms)
