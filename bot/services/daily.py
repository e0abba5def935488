"""The daily run (`python -m bot daily`): what payments did to every agreement in force, then the messages it calls
for (SPEC section 9).

Two steps, each safe to run again for the same day:
1. `apply` (one transaction): instalments paid in order, plans completed or broken after the policy's
   `grace_days`, settlements paid (the account settled, the rest written off) or broken, promises kept or broken,
   accounts paid; each change audited with why. The rules are `bot.domain.payments`; an agreement's payments are
   those made since the day it was agreed. Reading is in bulk (one query per table), so 100,000 accounts take
   seconds, not an ORM object each.
2. `send_follow_ups`: thanks, a reminder for a late instalment, one before each due date; each goes through the
   one outbound check (`contact.outbound_verdict`: hours, opt-outs, holds) with a limited-content text (nothing
   of a debt in an SMS anyone may read), and is recorded by its key so it goes once. A message refused for the
   hour is not recorded: the next run sends it; refused for good (opted out, stopped), it is recorded withheld.

The whole run holds the `daily` run lock.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, insert, select, update

from bot.domain import payments as rules
from bot.domain.accounts import COLLECTING, AccountStatus
from bot.domain.policy import parse_policy
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage.db import as_utc, run_lock
from bot.storage.orm import (
    Account,
    AuditEvent,
    Creditor,
    Debtor,
    Installment,
    Payment,
    Plan,
    Promise,
    Settlement,
)

RUN_LOCK = "daily"
ACTOR = "daily"


@dataclass
class DailyReport:
    as_of: date | None
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (account ref, what, why)
    follow_ups: list[tuple[int, rules.FollowUp]] = field(default_factory=list)  # (account id, message due)

    def count(self, what: str) -> int:
        return sum(1 for _ref, change, _why in self.changes if change == what)


@dataclass(frozen=True)
class _AccountFacts:
    ref: str
    status: str
    zone: str
    owed_minor: int  # principal + interest + fees
    paid_minor: int
    written_off_minor: int
    grace_days: int
    lead_days: int


def _local_day(moment: datetime, zone: str) -> date:
    return as_utc(moment).astimezone(ZoneInfo(zone)).date()


def _facts(session: Any, account_ids: set[int]) -> dict[int, _AccountFacts]:
    policies: dict[str, tuple[int, int]] = {}
    for creditor_id, raw in session.execute(select(Creditor.id, Creditor.policy)):
        policy = parse_policy(raw)
        policies[creditor_id] = (policy.grace_days, policy.reminder_lead_days)
    found: dict[int, _AccountFacts] = {}
    query = (select(Account.id, Account.account_ref, Account.status, Debtor.timezone, Account.principal_minor,
                    Account.interest_minor, Account.fees_minor, Account.paid_minor, Account.written_off_minor,
                    Account.creditor_id).join(Debtor, Debtor.id == Account.debtor_id))
    for row in session.execute(query):
        if row.id in account_ids or row.status in COLLECTING:
            grace, lead = policies[row.creditor_id]
            found[row.id] = _AccountFacts(row.account_ref, row.status, row.timezone,
                                          row.principal_minor + row.interest_minor + row.fees_minor, row.paid_minor,
                                          row.written_off_minor, grace, lead)
    return found


def apply(uow: SqlUnitOfWork, as_of: date | None = None,
          progress: Callable[[str], None] | None = None) -> DailyReport:
    """Step 1: decide every agreement in force at `as_of` (default: each debtor's own today) and write what
    changed, in one transaction."""
    report = DailyReport(as_of)
    with uow:
        session, now = uow.session, uow.now()
        plans = session.execute(select(Plan.id, Plan.account_id, Plan.created_at).where(Plan.status == "active")).all()
        settlements = session.execute(select(Settlement.id, Settlement.account_id, Settlement.created_at,
                                             Settlement.amount_minor, Settlement.pay_by)
                                      .where(Settlement.status == "pending")).all()
        promises = session.execute(select(Promise.id, Promise.account_id, Promise.created_at, Promise.amount_minor,
                                          Promise.pay_on).where(Promise.status == "pending")).all()
        instalments: dict[int, list[Any]] = defaultdict(list)
        for row in session.execute(select(Installment.id, Installment.plan_id, Installment.sequence,
                                          Installment.due_on, Installment.amount_minor, Installment.status,
                                          Installment.paid_minor, Installment.paid_on)
                                   .join(Plan, Plan.id == Installment.plan_id).where(Plan.status == "active")):
            instalments[row.plan_id].append(row)
        in_force = {row.account_id for row in (*plans, *settlements, *promises)}
        facts = _facts(session, in_force)
        paid: dict[int, list[rules.Paid]] = defaultdict(list)
        for account_id, amount, paid_on in session.execute(
                select(Payment.account_id, Payment.amount_minor, Payment.paid_on).where(Payment.applied.is_(True))):
            if account_id in in_force:
                paid[account_id].append(rules.Paid(amount, paid_on))
        if progress:
            progress(f"{len(plans)} plans, {len(settlements)} settlements and {len(promises)} promises in force")

        def today(account_id: int) -> date:
            return as_of or now.astimezone(ZoneInfo(facts[account_id].zone)).date()

        def since(account_id: int, agreed: datetime) -> list[rules.Paid]:
            first = _local_day(agreed, facts[account_id].zone)
            return [p for p in paid[account_id] if p.paid_on >= first]

        changes = _Changes(report, facts, now)
        for plan_id, account_id, created_at in plans:
            account = facts[account_id]
            outcome = rules.plan_outcome(
                [rules.Due(i.sequence, i.due_on, i.amount_minor) for i in instalments[plan_id]],
                since(account_id, created_at), today(account_id), account.grace_days)
            for row, state in zip(sorted(instalments[plan_id], key=lambda i: i.sequence), outcome.instalments,
                                  strict=True):
                if (row.status, row.paid_minor, row.paid_on) != (state.status, state.paid_minor, state.paid_on):
                    changes.instalments.append({"iid": row.id, "status": state.status, "paid_minor": state.paid_minor,
                                                "paid_on": state.paid_on})
                    if state.status == "paid" and row.status != "paid":
                        changes.event(account_id, "installment_paid", plan=plan_id, sequence=state.sequence,
                                      due_on=state.due_on.isoformat())
            if outcome.status != "active":
                changes.agreement(Plan, plan_id, account_id, outcome.status, outcome.reason, today(account_id))
            report.follow_ups.extend((account_id, f) for f in rules.plan_follow_ups(
                plan_id, outcome, today(account_id), account.lead_days))
        for settlement_id, account_id, created_at, amount, pay_by in settlements:
            lump = rules.lump_outcome(amount, pay_by, since(account_id, created_at), today(account_id), kept="paid")
            if lump.status != "pending":
                changes.agreement(Settlement, settlement_id, account_id, lump.status, lump.reason, today(account_id))
        for promise_id, account_id, created_at, amount, pay_on in promises:
            lump = rules.lump_outcome(amount, pay_on, since(account_id, created_at), today(account_id), kept="kept")
            if lump.status != "pending":
                changes.agreement(Promise, promise_id, account_id, lump.status, lump.reason, today(account_id))
            report.follow_ups.extend((account_id, f) for f in rules.promise_follow_ups(
                promise_id, lump, pay_on, today(account_id), facts[account_id].lead_days))
        changes.accounts_paid()
        changes.write(session)
    return report


class _Changes:
    """What the run changes, gathered, then written in bulk."""

    def __init__(self, report: DailyReport, facts: dict[int, _AccountFacts], now: datetime):
        self.report, self.facts, self.now = report, facts, now
        self.instalments: list[dict[str, Any]] = []
        self.ended: dict[type[Plan] | type[Settlement] | type[Promise], list[dict[str, Any]]] = defaultdict(list)
        self.statuses: dict[int, str] = {}
        self.written_off: dict[int, int] = {}
        self.events: list[dict[str, Any]] = []

    def event(self, account_id: int, action: str, **details: Any) -> None:
        self.events.append({"occurred_at": self.now, "actor": ACTOR, "action": action, "account_id": account_id,
                            "conversation_id": None, "details": details})

    def agreement(self, table: type[Plan] | type[Settlement] | type[Promise], row_id: int, account_id: int,
                  status: str, reason: str | None, day: date) -> None:
        kind = str(table.__tablename__)[:-1]  # plans -> plan
        self.ended[table].append({"rid": row_id, "status": status, "ended_on": day, "end_reason": reason})
        self.event(account_id, f"{kind}_{status}", id=row_id, why=reason or status, on=day.isoformat())
        self.report.changes.append((self.facts[account_id].ref, f"{kind}_{status}", reason or ""))
        account = self.facts[account_id]
        if account.status not in COLLECTING:
            return  # disputed, ceased, in legal hands: the payment counts, the status is a person's to change
        if status == "broken":
            self.statuses.setdefault(account_id, AccountStatus.OPEN.value)
        elif kind == "settlement":
            self.statuses[account_id] = AccountStatus.SETTLED.value
            self.written_off[account_id] = max(0, account.owed_minor - account.paid_minor)
        elif account.owed_minor - account.paid_minor <= 0:
            self.statuses[account_id] = AccountStatus.PAID.value
        else:
            self.statuses.setdefault(account_id, AccountStatus.OPEN.value)

    def accounts_paid(self) -> None:
        """Any collecting account now fully paid is paid, with or without an agreement."""
        for account_id, account in self.facts.items():
            owed = account.owed_minor - account.paid_minor - account.written_off_minor
            settled = self.statuses.get(account_id) == AccountStatus.SETTLED.value
            if account.status in COLLECTING and owed <= 0 and not settled:
                self.statuses[account_id] = AccountStatus.PAID.value

    def write(self, session: Any) -> None:
        if self.instalments:
            session.execute(update(Installment).where(Installment.id == bindparam("iid"))
                            .values(status=bindparam("status"), paid_minor=bindparam("paid_minor"),
                                    paid_on=bindparam("paid_on")).execution_options(synchronize_session=False),
                            self.instalments)
        for table, rows in self.ended.items():
            session.execute(update(table).where(table.id == bindparam("rid"))
                            .values(status=bindparam("status"), ended_on=bindparam("ended_on"),
                                    end_reason=bindparam("end_reason")).execution_options(synchronize_session=False),
                            rows)
        changed = [(account_id, status) for account_id, status in self.statuses.items()
                   if status != self.facts[account_id].status]
        if changed:
            session.execute(update(Account).where(Account.id == bindparam("aid"))
                            .values(status=bindparam("new_status"), written_off_minor=bindparam("off"))
                            .execution_options(synchronize_session=False),
                            [{"aid": account_id, "new_status": status,
                              "off": self.written_off.get(account_id, self.facts[account_id].written_off_minor)}
                             for account_id, status in changed])
            for account_id, status in changed:
                self.event(account_id, f"account_{status}", was=self.facts[account_id].status)
                self.report.changes.append((self.facts[account_id].ref, f"account_{status}", ""))
        if self.events:
            session.execute(insert(AuditEvent), self.events)


def run(as_of: date | None = None, units: Callable[[], SqlUnitOfWork] | None = None, gateway: Any = None,
        progress: Callable[[str], None] | None = None) -> DailyReport:
    """The whole daily run under its lock: apply, then the follow-ups (only when a gateway is given)."""
    from bot.services import follow_ups  # the messages read the accounts this step has just changed

    make = units or SqlUnitOfWork
    with run_lock(RUN_LOCK):
        report = apply(make(), as_of, progress)
        if gateway is not None:
            follow_ups.send(report, gateway, make, progress)
    return report
