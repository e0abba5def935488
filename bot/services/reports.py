"""The figures of the operations report (`python -m bot report`, the console's report page), from the database.

One currency per report (accounts in others are left out and counted). Definitions:
- collected: payments applied to accounts, by the month they were paid, per creditor;
- recovery rate: everything collected up to the period's end over the balance placed (principal, interest, fees)
  of the accounts placed by then;
- agreements by channel (web, sms, rest, call, console: where they were agreed) and by tier, agreed in the period;
- kept rates: of the plans and promises agreed in the period, kept (completed / kept) against broken, with
  those still running;
- average discount: of the settlements agreed in the period;
- time to first agreement: for accounts whose first agreement fell in the period, days since placement;
- commission: each payment in the period goes to the agreement in force on its day (the latest agreed on or
  before it); when a person made it (the agent who asked for it, if a supervisor approved it), they earn their
  creditor's `commission_pct` of it.
"""
from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from bot.domain.money import from_minor
from bot.domain.policy import parse_policy
from bot.reports.render import ReportFigures
from bot.services.handoffs import REST, SMS, WEB_CHAT, channels_of
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage.orm import Account, Creditor, Payment, Plan, Promise, Settlement

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class _Agreed:
    account_id: int
    created_at: datetime
    status: str
    authorized_tier: str
    authorized_actor: str
    requested_by: str | None
    conversation_id: str | None
    discount_basis_points: int
_CHANNEL = {WEB_CHAT: "web", SMS: "sms", REST: "rest"}


def _channel(conversation_id: str | None, channels: dict[str, str]) -> str:
    if not conversation_id:
        return "console"
    if conversation_id.startswith("call-"):
        return "call"
    return _CHANNEL.get(channels.get(conversation_id, ""), "console")


def _rate(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole).quantize(Decimal("0.0001")) if whole else Decimal(0)


def figures(uow: SqlUnitOfWork, date_from: date, date_to: date, currency: str = "USD") -> ReportFigures:
    """The report's figures for [date_from, date_to] in `currency`."""
    if date_to < date_from:
        raise ValueError("the period ends before it starts")
    with uow:
        session = uow.session
        creditors = {cid: (name, parse_policy(policy)) for cid, name, policy in
                     session.execute(select(Creditor.id, Creditor.name, Creditor.policy))}
        accounts = {row.id: row for row in session.execute(
            select(Account.id, Account.creditor_id, Account.placed_on, Account.principal_minor,
                   Account.interest_minor, Account.fees_minor).where(Account.currency == currency))}

        def money(minor: int) -> Decimal:
            return from_minor(minor, currency)

        payments = [p for p in session.execute(select(Payment.account_id, Payment.amount_minor, Payment.paid_on)
                                               .where(Payment.applied.is_(True), Payment.paid_on <= date_to))
                    if p.account_id in accounts]
        agreements: list[tuple[str, _Agreed]] = []
        for kind, table in (("plan", Plan), ("settlement", Settlement), ("promise", Promise)):
            discount = Settlement.discount_basis_points if table is Settlement else None
            columns = [table.account_id, table.created_at, table.status, table.authorized_tier,
                       table.authorized_actor, table.requested_by, table.conversation_id]
            for row in session.execute(select(*columns, *([discount] if discount is not None else []))):
                if row[0] in accounts:
                    agreements.append((kind, _Agreed(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                                                     row[7] if discount is not None else 0)))
        conversations = sorted({row.conversation_id for _kind, row in agreements
                                if row.conversation_id and not row.conversation_id.startswith("call-")})
        channels = channels_of(session, conversations) if conversations else {}

    def agreed_on(row: Any) -> date:
        day: date = row.created_at.date()
        return day

    in_period = [(kind, row) for kind, row in agreements if date_from <= agreed_on(row) <= date_to]

    collected: Counter[tuple[str, str]] = Counter()
    for payment in payments:
        if payment.paid_on >= date_from:
            collected[(payment.paid_on.strftime("%Y-%m"), creditors[accounts[payment.account_id].creditor_id][0])] += \
                payment.amount_minor

    placed: Counter[str] = Counter()
    for account in accounts.values():
        if account.placed_on <= date_to:
            placed[account.creditor_id] += account.principal_minor + account.interest_minor + account.fees_minor
    recovered: Counter[str] = Counter()
    for payment in payments:
        recovered[accounts[payment.account_id].creditor_id] += payment.amount_minor

    by_channel = Counter((_channel(row.conversation_id, channels), kind) for kind, row in in_period)
    by_tier = Counter((row.authorized_tier, kind) for kind, row in in_period)

    kept_rates = []
    for kind, kept_status in (("plan", "completed"), ("promise", "kept")):
        statuses = Counter(row.status for k, row in in_period if k == kind)
        kept, broken = statuses[kept_status], statuses["broken"]
        running = statuses["active"] + statuses["pending"]
        kept_rates.append((kind, kept, broken, running, _rate(Decimal(kept), Decimal(kept + broken))))

    discounts = [Decimal(row.discount_basis_points) / HUNDRED for kind, row in in_period if kind == "settlement"]
    average_discount = (sum(discounts, Decimal(0)) / len(discounts)).quantize(Decimal("0.01")) if discounts \
        else Decimal(0)

    first: dict[int, date] = {}
    for _kind, agreed in agreements:
        day = agreed_on(agreed)
        if agreed.account_id not in first or day < first[agreed.account_id]:
            first[agreed.account_id] = day
    waits: dict[str, list[int]] = defaultdict(list)
    for account_id, day in first.items():
        if date_from <= day <= date_to:
            account = accounts[account_id]
            waits[creditors[account.creditor_id][0]].append((day - account.placed_on).days)
    days_to_first = [(name, (Decimal(sum(days)) / len(days)).quantize(Decimal("0.1")))
                     for name, days in sorted(waits.items())]

    by_account: dict[int, list[tuple[date, str | None]]] = defaultdict(list)
    for _kind, agreed in agreements:
        person = agreed.requested_by or (agreed.authorized_actor if agreed.authorized_tier != "bot" else None)
        by_account[agreed.account_id].append((agreed_on(agreed), person))
    earned: Counter[tuple[str, str]] = Counter()
    for payment in payments:
        if payment.paid_on < date_from:
            continue
        history = sorted(by_account.get(payment.account_id, []), key=lambda item: item[0])
        index = bisect_right([day for day, _who in history], payment.paid_on) - 1
        collector = history[index][1] if index >= 0 else None
        if collector:
            earned[(collector, accounts[payment.account_id].creditor_id)] += payment.amount_minor
    commission = []
    for (login, creditor_id), minor in sorted(earned.items()):
        name, policy = creditors[creditor_id]
        rate = policy.commission_pct
        commission.append((login, name, money(minor), rate, (money(minor) * rate / HUNDRED).quantize(Decimal("0.01"))))

    return ReportFigures(
        date_from=date_from, date_to=date_to, currency=currency,
        collected_by_month_and_creditor=[(month, name, money(minor))
                                         for (month, name), minor in sorted(collected.items())],
        recovery_rate=[(creditors[cid][0], money(recovered[cid]), money(total),
                        _rate(money(recovered[cid]), money(total))) for cid, total in sorted(placed.items())],
        agreements_by_channel=[(channel, kind, n) for (channel, kind), n in sorted(by_channel.items())],
        agreements_by_tier=[(tier, kind, n) for (tier, kind), n in sorted(by_tier.items())],
        kept_rates=kept_rates, average_discount_pct=average_discount, days_to_first_agreement=days_to_first,
        commission=commission,
    )
