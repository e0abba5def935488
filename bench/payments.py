"""Payments at scale (issue 14): `python -m bot import-payments` of 100,000 payments and `python -m bot daily` over
100,000 accounts, on SQLite and on PostgreSQL: wall seconds and peak memory of each command, run as an operator
runs it (a new process).

Goal: each under 60 s on 2 cores.

Setup (not timed against the goal): a scratch database is migrated, the demo policies imported, and the accounts
written. A thousand go through the real `import-accounts`, last, into the full portfolio (timed, with its rate per
account); the rest are bulk-inserted rows (debtors, contact points, accounts, their `account_placed` events), because
the real import of 100,000 takes far longer than what is measured (it looks each reference up with
upper(account_ref), which no index serves: tens of ms an account at 100,000). `--real-import 100000` sends them all
through it. Agreements are bulk-inserted too, valid as `bot.services.agreements.record` writes them: 30% of the
accounts on a six-instalment plan, 15% with a settlement and 15% with a promise, all agreed in the past.

Then, timed: the payments file (unique references; 90% matching an account: instalments paid, some plans short
and some paid off, settlements and promises kept or not, balances paid in full; 10% unmatched), imported twice
(the second time everything is "already had"), and the daily run twice for the same day (the second changes
nothing).

Usage:
  nice .venv/bin/python bench/payments.py                          # both backends, 100,000 of each
  .venv/bin/python bench/payments.py --backend sqlite --accounts 10000 --payments 10000   # a quick look
  .venv/bin/python bench/payments.py --profile /tmp/prof           # the steps under cProfile (slower), top lines
  .venv/bin/python bench/payments.py --backend postgresql --postgres-url postgresql://postgres@127.0.0.1:5432/postgres

PostgreSQL: the server at --postgres-url, else TEST_POSTGRES_URL, else 127.0.0.1:5432, else a throwaway one
started as the tests do (tests/support/postgres.py); the scratch database is dropped afterwards unless --keep.
"""
from __future__ import annotations

import argparse
import csv
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import PROJECT_ROOT  # noqa: E402

GOAL_SECONDS = 60.0
POLICIES = PROJECT_ROOT / "bot" / "demo" / "policies.yml"
BATCH = 5_000  # rows per executemany
GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None
ACCOUNT_HEADER = ["account_ref", "creditor_id", "original_creditor", "debtor_name", "date_of_birth", "postcode",
                  "phone", "email", "timezone", "currency", "principal", "interest", "fees", "placed_on"]
ZONES = ("America/Chicago", "America/New_York", "America/Los_Angeles")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the portfolio: every figure follows from the account's number, so files and rows agree --------------------

@dataclass(frozen=True)
class Debt:
    number: int
    ref: str
    creditor: str
    currency: str
    zone: str
    principal: int  # minor units
    interest: int
    fees: int

    @property
    def owed(self) -> int:
        return self.principal + self.interest + self.fees

    @property
    def kind(self) -> str:
        """The agreement in force: plan (30%), settlement (15%), promise (15%) or none (40%)."""
        slot = self.number % 20
        return "plan" if slot < 6 else "settlement" if slot < 9 else "promise" if slot < 12 else "none"

    def instalments(self) -> list[int]:
        base = self.owed // 6
        return [base] * 5 + [self.owed - 5 * base]


def debt(number: int) -> Debt:
    bright = number % 10 == 9  # a tenth with the second demo creditor, in pounds
    return Debt(number, f"BN-{number:06d}", "BRIGHTBANK" if bright else "ACME", "GBP" if bright else "USD",
                "Europe/London" if bright else ZONES[number % 3], 10_000 + (number % 5_000) * 100, 1_234, 500)


@dataclass(frozen=True)
class Calendar:
    """The dates, all relative to the day the daily run decides for."""

    as_of: date

    def day(self, offset: int) -> date:
        return self.as_of + timedelta(days=offset)

    def moment(self, offset: int) -> datetime:  # 15:00 UTC: the same calendar day from London to Los Angeles
        return datetime.combine(self.day(offset), clock(15), tzinfo=UTC)

    @property
    def placed_on(self) -> date:
        return self.day(-180)

    def due_dates(self) -> list[date]:  # -77, -47, -17 (missed after 10 days' grace), +13, +43, +73
        return [self.day(-77 + 30 * k) for k in range(6)]


def original_creditor(item: Debt) -> str:
    return "Acme Mobile" if item.creditor == "ACME" else "Bright Card"


def money(minor: int) -> str:
    return str(Decimal(minor).scaleb(-2))


def payments_for(item: Debt, cal: Calendar) -> list[tuple[int, date]]:
    """(amount, paid_on) of what this account paid: about 0.9 payment an account on average."""
    third = item.number // 20 % 3  # which variant of its kind
    if item.kind == "plan":
        dues = list(zip(item.instalments(), cal.due_dates(), strict=True))
        if third == 0:  # up to date: the three instalments due so far, each a day early
            return [(amount, due - timedelta(days=1)) for amount, due in dues[:3]]
        if third == 1:  # two paid, the third missed: broken
            return [(amount, due - timedelta(days=1)) for amount, due in dues[:2]]
        return [(item.owed, cal.day(-85))]  # paid off before the first date: completed, the account paid
    if item.kind == "settlement":
        return [] if third == 2 else [(item.owed * 7 // 10, cal.day(-16))]
    if item.kind == "promise":
        return [] if third == 2 else [(5_000, cal.day(-6))]
    if item.number % 4 == 0:  # without an agreement: one in four pays something, half of them everything
        return [(item.owed if item.number % 8 == 0 else 2_500, cal.day(-3))]
    return []


def write_payments(path: Path, accounts: int, wanted: int, cal: Calendar) -> Counter[str]:
    """The payments file: `wanted` rows, 90% from `payments_for`, the rest matching no account."""
    made: Counter[str] = Counter()
    matched = wanted * 9 // 10
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["account_ref", "amount", "paid_on", "reference", "remittance"])
        number = 0
        while made["matching"] < matched and number < accounts:
            item = debt(number)
            for amount, paid_on in payments_for(item, cal):
                if made["matching"] == matched:
                    break
                made["matching"] += 1
                writer.writerow([item.ref.lower() if number % 7 == 0 else item.ref, money(amount),
                                 paid_on.isoformat(), f"PAY-{sum(made.values()):08d}", f"{item.kind} {item.ref}"])
            number += 1
        while sum(made.values()) < wanted:  # an account we never had, or none named at all
            made["unmatched"] += 1
            ref = f"ZZ-{made['unmatched']:06d}" if made["unmatched"] % 2 else ""
            writer.writerow([ref, "12.50", cal.day(-2).isoformat(), f"PAY-{sum(made.values()):08d}", "no idea"])
    return made


def write_accounts(path: Path, numbers: range, cal: Calendar) -> None:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(ACCOUNT_HEADER)
        for n in numbers:
            item = debt(n)
            writer.writerow([item.ref, item.creditor, original_creditor(item),
                             f"Debtor {n}", "1980-01-01", f"{60000 + n % 1000}", f"+1555{n:07d}",
                             f"d{n}@example.com", item.zone, item.currency, money(item.principal),
                             money(item.interest), money(item.fees), cal.placed_on.isoformat()])


# --- setup: rows written directly, valid as the services would write them -----------------------------------------

def _insert(session: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    from sqlalchemy import insert

    for start in range(0, len(rows), BATCH):
        session.execute(insert(table), rows[start:start + BATCH])


def bulk_accounts(url: str, numbers: range, cal: Calendar) -> None:
    """Debtors, their phone and email, the accounts and their `account_placed` events, as the import writes them."""
    from sqlalchemy import func, select

    from bot.services.unit_of_work import SqlUnitOfWork
    from bot.storage.orm import Account, AuditEvent, ContactPoint, Debtor

    os.environ["DATABASE_URL"] = url
    with SqlUnitOfWork() as uow:
        session, now = uow.session, uow.now()
        first_debtor = (session.scalar(select(func.max(Debtor.id))) or 0) + 1
        first_account = (session.scalar(select(func.max(Account.id))) or 0) + 1
        debtors, points, rows, events = [], [], [], []
        for offset, n in enumerate(numbers):
            item, debtor_id, account_id = debt(n), first_debtor + offset, first_account + offset
            debtors.append({"id": debtor_id, "name": f"Debtor {n}", "date_of_birth": date(1980, 1, 1),
                            "postcode": f"{60000 + n % 1000}", "timezone": item.zone, "created_at": now})
            for kind, value in (("phone", f"+1555{n:07d}"), ("email", f"d{n}@example.com")):
                points.append({"debtor_id": debtor_id, "kind": kind, "value": value, "source": "import",
                               "verified": True, "status": "active", "sms_opt_out": False, "created_at": now})
            rows.append({"id": account_id, "account_ref": item.ref, "creditor_id": item.creditor,
                         "debtor_id": debtor_id, "original_creditor": original_creditor(item),
                         "currency": item.currency,
                         "principal_minor": item.principal, "interest_minor": item.interest,
                         "fees_minor": item.fees, "paid_minor": 0, "written_off_minor": 0,
                         "placed_on": cal.placed_on, "validation_ends_on": cal.placed_on + timedelta(days=35),
                         "status": "open", "created_at": now, "updated_at": now})
            events.append({"occurred_at": now, "actor": "operations", "action": "account_placed",
                           "account_id": account_id, "conversation_id": None, "details": {"line": offset + 2}})
        for table, batch in ((Debtor, debtors), (ContactPoint, points), (Account, rows), (AuditEvent, events)):
            _insert(session, table, batch)


def bulk_agreements(url: str, cal: Calendar) -> Counter[str]:
    """A plan, settlement or promise in force on 60% of the accounts (whatever their number, the same kind)."""
    from sqlalchemy import bindparam, select, update

    from bot.services.unit_of_work import SqlUnitOfWork
    from bot.storage.orm import Account, Creditor, Installment, Plan, Promise, Settlement

    os.environ["DATABASE_URL"] = url
    made: Counter[str] = Counter()
    with SqlUnitOfWork() as uow:
        session = uow.session
        policies: dict[str, Any] = {row.id: row.policy for row in session.execute(select(Creditor.id, Creditor.policy))}
        plans: list[dict[str, Any]] = []
        instalments: list[dict[str, Any]] = []
        settlements: list[dict[str, Any]] = []
        promises: list[dict[str, Any]] = []
        statuses: list[dict[str, Any]] = []
        for account_id, ref in session.execute(select(Account.id, Account.account_ref)):
            item = debt(int(ref.split("-")[1]))
            common = {"account_id": account_id, "authorized_tier": "bot", "authorized_actor": "assistant",
                      "policy_snapshot": {"tier": "bot", "policy": policies[item.creditor],
                                          "balance": money(item.owed), "hardship": False},
                      "conversation_id": f"bench:{ref}", "request_key": None, "requested_by": None}
            if item.kind == "plan":
                plan_id = len(plans) + 1
                plans.append({"id": plan_id, "status": "active", "total_minor": item.owed,
                              "created_at": cal.moment(-91), **common})
                instalments.extend({"plan_id": plan_id, "sequence": k + 1, "due_on": due, "amount_minor": amount,
                                    "status": "scheduled", "paid_minor": 0, "paid_on": None}
                                   for k, (amount, due) in enumerate(zip(item.instalments(), cal.due_dates(),
                                                                         strict=True)))
                statuses.append({"aid": account_id, "new_status": "plan_active"})
            elif item.kind == "settlement":
                settlements.append({"status": "pending", "amount_minor": item.owed * 7 // 10,
                                    "discount_basis_points": 3_000, "pay_by": cal.day(-11),
                                    "created_at": cal.moment(-30), **common})
                statuses.append({"aid": account_id, "new_status": "settlement_pending"})
            elif item.kind == "promise":
                promises.append({"status": "pending", "amount_minor": 5_000, "pay_on": cal.day(-6),
                                 "created_at": cal.moment(-21), **common})
                statuses.append({"aid": account_id, "new_status": "promise_pending"})
        for table, rows in ((Plan, plans), (Installment, instalments), (Settlement, settlements),
                            (Promise, promises)):
            _insert(session, table, rows)
            made[table.__tablename__] = len(rows)
        session.execute(update(Account).where(Account.id == bindparam("aid")).values(status=bindparam("new_status"))
                        .execution_options(synchronize_session=False), statuses)
    return made


def advance_sequences(url: str) -> None:
    """PostgreSQL: rows written with their ids leave the id sequences behind; move them past the rows."""
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import text

    from bot.services.unit_of_work import SqlUnitOfWork

    os.environ["DATABASE_URL"] = url
    with SqlUnitOfWork() as uow:
        for table in ("debtors", "accounts", "plans"):
            uow.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                                     f" (SELECT coalesce(max(id), 1) FROM {table}))"))


# --- the timed commands --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    name: str
    seconds: float
    peak_mb: float
    result: str
    goal: bool = True  # measured against the 60 s goal (setup is not)


def run_bot(url: str, args: list[str], out: Path, profile: Path | None = None) -> tuple[float, float, str]:
    """`python -m bot ARGS` as a new process: wall seconds, its peak resident memory in MB, its last stdout line.

    The peak comes from GNU time (`%M`) when it is installed, else from wait4's rusage. GNU time is the better
    witness: Linux starts a child's ru_maxrss at its parent's resident size when it forks (and keeps it through
    exec), so a bench that has built 100,000 rows would show its own size for every command it starts; time is a
    small process.
    """
    command = [sys.executable, *(["-m", "cProfile", "-o", str(profile)] if profile else []), "-m", "bot", *args]
    measured = out.with_suffix(".time")
    if GNU_TIME:
        command = [GNU_TIME, "-f", "%M", "-o", str(measured), *command]
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(PROJECT_ROOT)}
    with out.open("w") as stdout:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=stdout)
        _pid, status, usage = os.wait4(process.pid, 0)  # this child's own rusage, not every child's so far
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"python -m bot {' '.join(args)} failed ({process.returncode}); see {out}")
    peak_kb = int(measured.read_text().split()[-1]) if GNU_TIME else usage.ru_maxrss  # Linux: both in KB
    lines = out.read_text().splitlines()
    return seconds, peak_kb / 1024, lines[-1] if lines else ""


def database_counts(url: str) -> str:
    """What is in the database now: payments by status, agreements and accounts by status."""
    from sqlalchemy import func, select

    from bot.services.unit_of_work import SqlUnitOfWork
    from bot.storage.orm import Account, Payment, Plan, Promise, Settlement

    os.environ["DATABASE_URL"] = url
    parts = []
    with SqlUnitOfWork() as uow:
        for table in (Payment, Plan, Settlement, Promise, Account):
            counts: dict[str, int] = {status: count for status, count in uow.session.execute(
                select(table.status, func.count()).group_by(table.status))}
            parts.append(f"{table.__tablename__} " + ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items())))
    return "; ".join(parts)


def show_profile(path: Path, lines: int = 14) -> None:
    print(f"  profile {path} (cumulative, top {lines}):")
    stats = pstats.Stats(str(path), stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(lines)


def bench(url: str, backend: str, directory: Path, options: argparse.Namespace) -> list[Step]:
    cal = Calendar(options.as_of)
    steps: list[Step] = []
    profile = Path(options.profile) if options.profile else None

    def timed(name: str, args: list[str], goal: bool = True) -> None:
        say(f"[{backend}] {name} ...")
        prof = profile / f"{backend}-{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}.prof" if profile else None
        seconds, peak, last = run_bot(url, args, directory / f"{len(steps)}.out", prof)
        steps.append(Step(name, seconds, peak, last, goal))
        say(f"[{backend}] {name}: {seconds:.1f} s, {peak:.0f} MB: {last}")
        if prof:
            show_profile(prof)

    timed("migrate", ["migrate"], goal=False)
    timed("import-policies (demo)", ["import-policies", str(POLICIES)], goal=False)
    real = min(options.real_import, options.accounts)
    bulk = range(0, options.accounts - real)
    started = time.perf_counter()
    bulk_accounts(url, bulk, cal)
    advance_sequences(url)
    steps.append(Step(f"setup: {len(bulk):,} accounts bulk-inserted", time.perf_counter() - started, 0.0,
                      "debtors, contact points, accounts, placement events", False))
    say(f"[{backend}] {steps[-1].name} in {steps[-1].seconds:.1f} s")
    if real:
        write_accounts(directory / "accounts.csv", range(len(bulk), options.accounts), cal)
        timed(f"import-accounts ({real:,})", ["import-accounts", str(directory / "accounts.csv")], goal=False)
        rate = steps[-1].seconds / real * 1000
        say(f"[{backend}] {rate:.1f} ms an account through the import, with {len(bulk):,} already on file"
            " (its lookups scan the accounts: the rate grows with them)")
    started = time.perf_counter()
    made = bulk_agreements(url, cal)
    advance_sequences(url)
    steps.append(Step("setup: agreements bulk-inserted", time.perf_counter() - started, 0.0,
                      ", ".join(f"{k} {v:,}" for k, v in made.items()), False))
    say(f"[{backend}] {steps[-1].name}: {steps[-1].result} in {steps[-1].seconds:.1f} s")
    file = directory / "payments.csv"
    wrote = write_payments(file, options.accounts, options.payments, cal)
    say(f"[{backend}] payments file: {sum(wrote.values()):,} rows ({wrote['matching']:,} for accounts on file,"
        f" {wrote['unmatched']:,} not), {file.stat().st_size / 1e6:.1f} MB")
    timed(f"import-payments ({sum(wrote.values()):,} rows)", ["import-payments", str(file)])
    timed("import-payments again (idempotent)", ["import-payments", str(file)])
    say(f"[{backend}] database: {database_counts(url)}")
    day = cal.as_of.isoformat()
    timed(f"daily --as-of {day} --no-messages", ["daily", "--as-of", day, "--no-messages"])
    timed("daily again, the same day", ["daily", "--as-of", day, "--no-messages"])
    after = database_counts(url)
    say(f"[{backend}] database: {after}")
    print_table(backend, options.accounts, steps)
    print(f"  after: {after}")
    return steps


def print_table(backend: str, accounts: int, steps: list[Step]) -> None:
    print(f"\n{backend}: {accounts:,} accounts")
    print(f"  {'step':<44} {'seconds':>8} {'peak MB':>8}  {'goal 60 s':<9}  rows changed / result")
    for step in steps:
        verdict = ("ok" if step.seconds < GOAL_SECONDS else "OVER") if step.goal else "-"
        peak = f"{step.peak_mb:8.0f}" if step.peak_mb else f"{'-':>8}"
        print(f"  {step.name:<44} {step.seconds:8.1f} {peak}  {verdict:<9}  {step.result}")
    sys.stdout.flush()


# --- scratch databases -------------------------------------------------------------------------------------------

@contextmanager
def sqlite_database(directory: Path, keep: bool) -> Iterator[str]:
    path = (Path(tempfile.mkdtemp(prefix="bench-payments-")) if keep else directory) / "bench.db"
    yield f"sqlite:///{path}"
    if keep:
        say(f"kept {path}")


@contextmanager
def postgres_database(admin_url: str | None, keep: bool) -> Iterator[str]:
    """A new database on the server the tests use (tests/support/postgres.py), dropped afterwards."""
    import psycopg2
    from sqlalchemy.engine import make_url

    from tests.support.postgres import server

    if admin_url:
        os.environ["TEST_POSTGRES_URL"] = admin_url
    with server() as (admin, where):
        say(f"PostgreSQL: {where}")
        name = f"bench_payments_{uuid.uuid4().hex[:10]}"
        connection = psycopg2.connect(admin, connect_timeout=5)
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        url = make_url(admin).set(database=name).render_as_string(hide_password=False)
        try:
            yield url
        finally:
            from bot.storage.db import engine_for

            engine_for(url).dispose()
            if keep:
                say(f"kept {url}")
            else:
                with connection.cursor() as cursor:
                    cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--payments", type=int, default=100_000)
    parser.add_argument("--real-import", type=int, default=1_000, metavar="N",
                        help="accounts sent through `import-accounts` (timed); the rest are bulk-inserted")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date.today(),
                        help="the day the daily run decides for (default today); the data's dates follow it")
    parser.add_argument("--postgres-url", help="an admin URL of a PostgreSQL server (default: as the tests find one)")
    parser.add_argument("--profile", metavar="DIR", help="run each step under cProfile, .prof files in DIR")
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases (their URLs are printed)")
    options = parser.parse_args()
    if options.profile:
        Path(options.profile).mkdir(parents=True, exist_ok=True)
    print(f"bench/payments.py: {options.accounts:,} accounts, {options.payments:,} payments, as of {options.as_of},"
          f" {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    over = False
    for backend in ("sqlite", "postgresql"):
        if options.backend not in (backend, "both"):
            continue
        with tempfile.TemporaryDirectory() as scratch:
            directory = Path(scratch)
            database = (sqlite_database(directory, options.keep) if backend == "sqlite"
                        else postgres_database(options.postgres_url, options.keep))
            with database as url:
                steps = bench(url, backend, directory, options)
        over = over or any(step.goal and step.seconds >= GOAL_SECONDS for step in steps)
    sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
