"""The demo portfolio's generated history on a real database (both backends): every outcome and every figure of the
report is there, and the same seed writes the same history."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.cli import DEMO
from bot.demo import history
from bot.services import accounts, imports, reports
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage import migrate
from bot.storage.orm import AuditEvent, Payment
from tests.support.database import in_transaction

TODAY = date(2026, 12, 1)
START = TODAY - timedelta(days=history.DAYS)
LOOKED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# What each kind of agreement must show, however small the portfolio: kept, broken, still in force, replaced.
OUTCOMES = {
    "plan": {"active", "completed", "broken", "superseded"},
    "settlement": {"pending", "paid", "broken"},
    "promise": {"pending", "kept", "broken", "cancelled"},
}


@pytest.fixture
def demo(db: str) -> str:
    in_transaction(imports.import_policies, DEMO / "policies.yml", now=datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    in_transaction(imports.import_accounts, DEMO / "accounts.csv", date(2026, 11, 23),
                   now=datetime(2026, 11, 23, 12, 0, tzinfo=UTC))
    return db


def test_the_history_has_every_outcome_and_fills_every_figure_of_the_report(demo):
    lines: list[str] = []
    summary = history.generate(SqlUnitOfWork, today=TODAY, accounts=30, progress=lines.append)

    assert summary.accounts == 30
    assert (summary.first_day, summary.last_day) == (START, TODAY - timedelta(days=1))
    for kind, statuses in OUTCOMES.items():
        missing = {s for s in statuses if not summary.agreements[kind].get(s)}
        assert not missing, f"no {kind} {missing}: {summary}"
    assert summary.payments > 0 and summary.unmatched >= 1
    assert set(summary.collected) == {"USD", "GBP"} and all(v > 0 for v in summary.collected.values())
    months = sorted({f"{START + timedelta(days=n):%Y-%m}" for n in range(history.DAYS)})
    assert [line.split(":")[0] for line in lines] == [f"history {month}" for month in months]  # a line a month

    dollars = reports.figures(SqlUnitOfWork(), START, TODAY, "USD")
    pounds = reports.figures(SqlUnitOfWork(), START, TODAY, "GBP")
    assert [creditor for creditor, *_ in dollars.recovery_rate] == ["Acme Telecom Ltd"]
    assert [creditor for creditor, *_ in pounds.recovery_rate] == ["Bright Bank plc"]
    for figures in (dollars, pounds):
        assert len({month for month, _creditor, _amount in figures.collected_by_month_and_creditor}) >= 4
        assert figures.agreements_by_channel and figures.agreements_by_tier and figures.commission
        assert figures.average_discount_pct > 0 and figures.days_to_first_agreement
    both = (dollars, pounds)
    for kind in ("plan", "promise"):  # kept, broken and still running, over both currencies
        rows = [(kept, broken, pending) for f in both for name, kept, broken, pending, _rate in f.kept_rates
                if name == kind]
        assert all(sum(column) for column in zip(*rows, strict=True)), (kind, rows)
    assert {channel for f in both for channel, _kind, _n in f.agreements_by_channel} == {
        "web", "sms", "rest", "call", "console"}
    assert {tier for f in both for tier, _kind, _n in f.agreements_by_tier} == {"bot", "agent", "supervisor"}
    assert {login for f in both for login, *_ in f.commission} == {"alex", "sam", "casey"}


def test_the_history_is_what_the_daily_run_and_the_imports_would_have_written(demo):
    history.generate(SqlUnitOfWork, today=TODAY, accounts=30)

    with SqlUnitOfWork(clock=lambda: LOOKED_AT) as uow:
        views = [accounts.account_view(uow, f"DEMO-{n:04d}") for n in range(1, 31)]
        actors = set(uow.session.scalars(select(AuditEvent.actor)))
        latest = uow.session.scalar(select(AuditEvent.occurred_at).order_by(AuditEvent.occurred_at.desc()).limit(1))
    assert {"operations", "assistant", "alex", "sam", "casey", "daily", "payments-import"} <= actors
    assert latest is not None and latest.date() < TODAY  # nothing is dated today or later
    for view in views:
        paid = sum((Decimal(p["amount"]) for p in view["payments"]), Decimal(0))
        assert Decimal(view["paid"]) == paid
        assert all(p["paid_on"] >= view["placed_on"] for p in view["payments"])
        plans = view["plans"]
        if any(plan["status"] == "completed" for plan in plans):
            assert view["status"] == "paid" and Decimal(view["balance"]) == 0
        if any(s["status"] == "paid" for s in view["settlements"]):
            assert view["status"] == "settled" and Decimal(view["written_off"]) > 0
        for plan in plans:
            if plan["status"] == "broken":
                assert any(i["status"] == "missed" for i in plan["installments"])
            if plan["requested_by"]:
                assert (plan["authorized_by"], plan["authorized_actor"]) == ("supervisor", "casey")


def test_the_history_is_written_once(demo):
    history.generate(SqlUnitOfWork, today=TODAY, accounts=3)
    with pytest.raises(ValueError, match="already"):
        history.generate(SqlUnitOfWork, today=TODAY, accounts=3)


def _fresh_demo(path: Path) -> Callable[..., SqlUnitOfWork]:
    url = f"sqlite:///{path}"
    migrate.upgrade(url)

    def units(**options: Any) -> SqlUnitOfWork:
        return SqlUnitOfWork(url, **options)

    with units() as uow:
        imports.import_policies(uow, DEMO / "policies.yml")
    return units


def _contents(units: Callable[..., SqlUnitOfWork]) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    with units(clock=lambda: LOOKED_AT) as uow:
        views = [accounts.account_view(uow, f"DEMO-{n:04d}") for n in range(1, 31)]
        paid = [tuple(row) for row in uow.session.execute(
            select(Payment.reference, Payment.account_ref_given, Payment.amount_minor, Payment.paid_on, Payment.status)
            .order_by(Payment.reference))]
    return views, paid


def test_the_same_seed_writes_the_same_history(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'missing' / 'none.db'}")  # nothing may use another
    first, second = (_fresh_demo(tmp_path / f"{name}.db") for name in ("first", "second"))
    history.generate(first, today=TODAY, seed=7, accounts=30)
    history.generate(second, today=TODAY, seed=7, accounts=30)

    views, paid = _contents(first)
    assert len(paid) > 30 and any(plan["installments"] for view in views for plan in view["plans"])
    assert (views, paid) == _contents(second)


def test_the_history_needs_the_demo_policies(db):
    with pytest.raises(ValueError, match="policies"):
        history.generate(SqlUnitOfWork, today=TODAY, accounts=3)
