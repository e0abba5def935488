"""The unit of work a use case is handed: one transaction, the repositories it reads through, and the clock.

After cosmicpython's `service_layer/unit_of_work.py`: a service takes an `AbstractUnitOfWork`, so the same code
runs on SQLite and PostgreSQL (`SqlUnitOfWork`) and in unit tests on plain objects (`FakeUnitOfWork`). Leaving the
`with` block commits when it ends normally and rolls back on an exception, as `bot.storage.db.unit_of_work` does.
No service reads the wall clock: it asks `uow.now()`, which is the real time only in `SqlUnitOfWork`'s default.
"""
from __future__ import annotations

import abc
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any, Protocol, Self

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from bot.domain.accounts import Ended, Statement
from bot.domain.policy import Policy, parse_policy
from bot.services import accounts, audit, cases, handoffs
from bot.services.accounts import UnknownAccount
from bot.storage.db import unit_of_work
from bot.storage.orm import Account


@dataclass(frozen=True)
class Negotiable:
    """What a negotiation about an account works from; today is the debtor's today, in their zone."""

    account_ref: str  # as it is on file
    balance: Decimal
    currency: str
    policy: Policy
    today: date
    hold: cases.Hold | None = None  # set when collection is paused or stopped: nothing may be negotiated


class AccountRepository(Protocol):
    """Accounts as use cases read them: plain snapshots, never rows to change behind the service's back."""

    def negotiable(self, account_ref: str) -> Negotiable:
        """The account's negotiation snapshot; raises UnknownAccount."""

    def statement(self, account_ref: str) -> Statement:
        """What a verified debtor is told about the account; raises UnknownAccount."""

    def take_news(self, account_ref: str) -> Ended | None:
        """The latest agreement broken since the debtor was last told of one, marked told; None if there is none."""


class HandoffRepository(Protocol):
    def open(self, conversation_id: str, reason: str, account_ref: str | None, **details: Any) -> int:
        """Open a handoff (or add to the conversation's open one) in this transaction; its id."""


class AuditLog(Protocol):
    def record(self, action: str, *, account_ref: str | None, conversation_id: str | None,
               actor: str = audit.ASSISTANT, **details: Any) -> None:
        """Append an event, stamped with the unit of work's clock."""


class AbstractUnitOfWork(abc.ABC):
    """One transaction of one use case, or of several a caller runs together.

    Re-entrant: a use case opens its `with uow:`; a caller that opened the same unit of work first (to run two
    use cases in one transaction) keeps it open, and only the outermost `with` commits or rolls back.
    """

    accounts: AccountRepository
    handoffs: HandoffRepository
    audit: AuditLog
    _depth = 0

    def __enter__(self) -> Self:
        if self._depth == 0:
            self._begin()
        self._depth += 1
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._end(kind, error, traceback)

    @abc.abstractmethod
    def _begin(self) -> None:
        """Start the transaction (the outermost `with`)."""

    def _end(self, kind: type[BaseException] | None, error: BaseException | None,
             traceback: TracebackType | None) -> None:
        """End the transaction: commit, or roll back on an error."""
        if error is None:
            self.commit()
        else:
            self.rollback()

    @abc.abstractmethod
    def commit(self) -> None:
        """Make everything written so far durable."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """Discard everything written since the last commit."""

    @abc.abstractmethod
    def now(self) -> datetime:
        """The time (UTC) this use case runs at."""


def utcnow() -> datetime:
    """The real time: the default clock, at the edge where a process starts a use case."""
    return datetime.now(UTC)


# ---- SQL: the database every process shares ------------------------------------------------------

class SqlAccounts:
    """Accounts from the database, each read once per unit of work (one query, creditor and debtor joined)."""

    def __init__(self, session: Session, now: Callable[[], datetime]):
        self._session, self._now, self._rows = session, now, dict[str, Account]()

    def row(self, account_ref: str) -> Account:
        key = (account_ref or "").strip().upper()
        if key not in self._rows:
            account = self._session.scalars(
                select(Account).options(joinedload(Account.creditor), joinedload(Account.debtor))
                .where(func.upper(Account.account_ref) == key)).first()
            if account is None:
                raise UnknownAccount(account_ref)
            self._rows[key] = account
        return self._rows[key]

    def negotiable(self, account_ref: str) -> Negotiable:
        account = self.row(account_ref)
        return Negotiable(account.account_ref, accounts.statement_of(account).balance, account.currency,
                          parse_policy(account.creditor.policy), accounts.local_today(account, self._now()),
                          cases.hold_of(account))

    def statement(self, account_ref: str) -> Statement:
        return accounts.statement_of(self.row(account_ref))

    def take_news(self, account_ref: str) -> Ended | None:
        account = self.row(account_ref)
        broken = [row for rows in (account.plans, account.settlements, account.promises) for row in rows
                  if row.status == "broken" and row.told_at is None and row.ended_on is not None]
        if not broken:
            return None
        for row in broken:
            row.told_at = self._now()
        latest = max(broken, key=lambda row: row.ended_on or date.min)
        return Ended(str(latest.__tablename__)[:-1], latest.ended_on or date.min, latest.end_reason or "")


class SqlHandoffs:
    """Handoffs in the unit of work's transaction, opened at its clock."""

    def __init__(self, session: Session, now: Callable[[], datetime]):
        self._session, self._now = session, now

    def open(self, conversation_id: str, reason: str, account_ref: str | None, **details: Any) -> int:
        return handoffs.open_in(self._session, conversation_id, reason, account_ref, at=self._now(), **details)


class SqlAudit:
    """The audit log in the unit of work's transaction, stamped with its clock."""

    def __init__(self, session: Session, accounts_: SqlAccounts, now: Callable[[], datetime]):
        self._session, self._accounts, self._now = session, accounts_, now

    def record(self, action: str, *, account_ref: str | None, conversation_id: str | None,
               actor: str = audit.ASSISTANT, **details: Any) -> None:
        account = self._accounts.row(account_ref) if account_ref else None
        audit.record(self._session, action, actor=actor, account=account, conversation_id=conversation_id,
                     at=self._now(), **details)


class SqlUnitOfWork(AbstractUnitOfWork):
    """A transaction on the database (`url`, default DATABASE_URL), on `bot.storage.db.unit_of_work`.

    `locking`: the use case reads, then writes what depends on what it read (SQLite: BEGIN IMMEDIATE for the
    whole transaction; PostgreSQL: the use case locks its rows with FOR UPDATE). `clock`: the real time, unless a
    caller (a test, a run planned for a given moment) hands another.
    """

    session: Session

    def __init__(self, url: str | None = None, *, locking: bool = False, clock: Callable[[], datetime] = utcnow):
        self._url, self._locking, self._clock = url, locking, clock

    def _begin(self) -> None:
        self._stack = ExitStack()
        self.session = self._stack.enter_context(unit_of_work(self._url, locking=self._locking))
        sql_accounts = SqlAccounts(self.session, self.now)
        self.accounts, self.handoffs = sql_accounts, SqlHandoffs(self.session, self.now)
        self.audit = SqlAudit(self.session, sql_accounts, self.now)

    def _end(self, kind: type[BaseException] | None, error: BaseException | None,
             traceback: TracebackType | None) -> None:
        self._stack.__exit__(kind, error, traceback)  # commits, or rolls back on an error, and closes

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def now(self) -> datetime:
        return self._clock()


# ---- in memory: for unit tests of the services ---------------------------------------------------

class FakeAccounts:
    def __init__(self, negotiables: Iterable[Negotiable], statements: Iterable[Statement]):
        self.negotiables = {n.account_ref.upper(): n for n in negotiables}
        self.statements = {s.account_ref.upper(): s for s in statements}
        self.reads = 0  # how many times a use case asked: a turn should read its account once
        self.news: dict[str, Ended] = {}  # broken agreements not yet told, by reference

    def negotiable(self, account_ref: str) -> Negotiable:
        self.reads += 1
        try:
            return self.negotiables[(account_ref or "").strip().upper()]
        except KeyError:
            raise UnknownAccount(account_ref) from None

    def statement(self, account_ref: str) -> Statement:
        self.reads += 1
        try:
            return self.statements[(account_ref or "").strip().upper()]
        except KeyError:
            raise UnknownAccount(account_ref) from None

    def take_news(self, account_ref: str) -> Ended | None:
        return self.news.pop((account_ref or "").strip().upper(), None)


@dataclass(frozen=True)
class OpenedHandoff:
    id: int
    conversation_id: str
    reason: str
    account_ref: str | None
    details: dict[str, Any]


@dataclass
class FakeHandoffs:
    opened: list[OpenedHandoff] = field(default_factory=list)

    def open(self, conversation_id: str, reason: str, account_ref: str | None, **details: Any) -> int:
        self.opened.append(OpenedHandoff(len(self.opened) + 1, conversation_id, reason, account_ref, details))
        return len(self.opened)


@dataclass(frozen=True)
class AuditedEvent:
    action: str
    account_ref: str | None
    conversation_id: str | None
    actor: str
    at: datetime
    details: dict[str, Any]


class FakeAudit:
    def __init__(self, now: Callable[[], datetime]):
        self._now, self.events = now, list[AuditedEvent]()

    def record(self, action: str, *, account_ref: str | None, conversation_id: str | None,
               actor: str = audit.ASSISTANT, **details: Any) -> None:
        self.events.append(AuditedEvent(action, account_ref, conversation_id, actor, self._now(), details))


class FakeUnitOfWork(AbstractUnitOfWork):
    """Plain objects in memory at a fixed moment; `commits` counts the transactions that completed.

    Writes are visible at once and kept on rollback: a unit test asserts what a use case wrote, and that it
    committed (`commits`), not the database's atomicity.
    """

    def __init__(self, now: datetime, negotiables: Iterable[Negotiable] = (), statements: Iterable[Statement] = ()):
        self._moment = now
        self.accounts: FakeAccounts = FakeAccounts(negotiables, statements)
        self.handoffs: FakeHandoffs = FakeHandoffs()
        self.audit: FakeAudit = FakeAudit(self.now)
        self.commits = self.rollbacks = 0

    def _begin(self) -> None:
        pass  # plain objects: nothing to start

    def commit(self) -> None:
        self.commits += 1

    def rollback(self) -> None:
        self.rollbacks += 1

    def now(self) -> datetime:
        return self._moment
