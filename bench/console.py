"""The agent console under load: page and API times with 10,000 accounts and 1,000 open handoffs, and how long an
escalation takes to reach an agent's queue (Rasa's event broker -> the console -> server-sent events).

Goals (issue 12): pages under 300 ms; an escalation visible in the queue in under 2 s.

Usage:
  .venv/bin/python bench/console.py                      # both parts, on scratch SQLite databases
  .venv/bin/python bench/console.py --part pages         # only the pages (no Rasa needed)
  .venv/bin/python bench/console.py --database-url postgresql://...   # the pages on an empty PostgreSQL database
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.conversation_latency import percentile, scratch_database, scratch_stack  # noqa: E402
from bot.config import PROJECT_ROOT  # noqa: E402
from bot.sms.standin import free_port  # noqa: E402

ACCOUNTS, HANDOFFS, ROUNDS, ESCALATIONS = 10_000, 1_000, 40, 50
LOGIN, PASSWORD = "bench-agent", "bench-password-123"
REASONS = ("request_human", "complain", "settlement_below_authority", "attorney", "nlu_fallback")


def seed(url: str, directory: Path) -> list[int]:
    """10,000 more accounts through the real import, and 1,000 open handoffs (a third by SMS, half verified)."""
    from bot.services import imports, staff
    from bot.services.unit_of_work import SqlUnitOfWork
    from bot.storage.orm import Handoff, PhoneConversation, VerificationAttempt

    os.environ["DATABASE_URL"] = url
    path = directory / "accounts.csv"
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["account_ref", "creditor_id", "original_creditor", "debtor_name", "date_of_birth",
                         "postcode", "phone", "email", "timezone", "currency", "principal", "interest", "fees",
                         "placed_on"])
        for n in range(ACCOUNTS):
            writer.writerow([f"BN-{n:06d}", "ACME", "Acme Mobile", f"Debtor {n}", "1980-01-01", "60614",
                             f"+1555{n:07d}", f"d{n}@example.com", "America/Chicago", "USD",
                             f"{100 + n % 5000}.00", "12.34", "5.00", "2026-09-01"])
    started = time.perf_counter()
    with SqlUnitOfWork() as uow:
        imports.import_accounts(uow, path, date.today())
    print(f"imported {ACCOUNTS:,} accounts in {time.perf_counter() - started:.1f} s")
    now = datetime.now(UTC)
    with SqlUnitOfWork() as uow:
        staff.add_agent(uow, LOGIN, "supervisor", PASSWORD)
        rows = []
        for n in range(HANDOFFS):
            ref = f"BN-{random.randrange(ACCOUNTS):06d}"
            conversation = f"bench-{n}"
            if n % 3 == 0:
                uow.session.add(PhoneConversation(phone=f"+1555{9_000_000 + n:07d}", conversation_id=conversation))
            if n % 2 == 0:
                uow.session.add(VerificationAttempt(reference=ref, channel="twilio" if n % 3 == 0 else "socketio",
                                                    conversation_id=conversation, succeeded=True,
                                                    attempted_at=now - timedelta(minutes=n)))
            rows.append(Handoff(conversation_id=conversation, reason=REASONS[n % len(REASONS)], details={},
                                created_at=now - timedelta(seconds=n * 7)))
        uow.session.add_all(rows)
        uow.session.flush()
        ids = [row.id for row in rows]
        from bot.services import accounts

        for row, n in zip(rows, range(HANDOFFS), strict=True):
            if n % 2 == 1:
                row.account_id = accounts.get(uow.session, f"BN-{n * 7 % ACCOUNTS:06d}").id
    return ids


def logged_in(base: str) -> requests.Session:
    """A browser-like session: the login form, its CSRF token and the session cookie."""
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token is None:
        raise RuntimeError("the login page has no CSRF token")
    answer = session.post(f"{base}/login", data={"login": LOGIN, "password": PASSWORD, "csrf_token": token.group(1)},
                          allow_redirects=False, timeout=10)
    if answer.status_code != 303:
        raise RuntimeError(f"login failed: {answer.status_code}")
    return session


def timed(session: requests.Session, url: str) -> float:
    started = time.perf_counter()
    response = session.get(url, timeout=30)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:200]}")
    return elapsed


def report(name: str, values: list[float], goal: float) -> None:
    p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
    verdict = "ok" if p95 < goal else "OVER"
    print(f"{name:<44} median {p50:7.1f} ms   p95 {p95:7.1f} ms   ({verdict}: goal {goal:.0f} ms)")


def pages(url: str | None) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        database = scratch_database(directory, url)
        ids = seed(database, directory)
        port = free_port()
        env = {**os.environ, "DATABASE_URL": database, "RASA_URL": "http://127.0.0.1:9"}  # no Rasa: pages only
        console = subprocess.Popen([sys.executable, "-m", "bot.console", "--host", "127.0.0.1", "--port", str(port)],
                                   cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline or console.poll() is not None:
                    raise RuntimeError("the console did not start")
                time.sleep(0.2)
            session = logged_in(base)
            queue = session.get(f"{base}/api/queue", timeout=30).json()
            print(f"queue: {len(queue['items']):,} open handoffs over {ACCOUNTS:,} accounts "
                  f"({len(json.dumps(queue)) // 1024} KB of JSON)")
            sample = random.sample(ids, ROUNDS)
            report("GET / (the queue page)", [timed(session, f"{base}/") for _ in range(ROUNDS)], 300)
            report("GET /api/queue (1,000 handoffs)", [timed(session, f"{base}/api/queue") for _ in range(ROUNDS)],
                   300)
            report("GET /handoffs/{id} (the conversation page)",
                   [timed(session, f"{base}/handoffs/{i}") for i in sample], 300)
            report("GET /api/handoffs/{id} (its account panel)",
                   [timed(session, f"{base}/api/handoffs/{i}") for i in sample], 300)
        finally:
            console.terminate()
            console.wait(timeout=20)


def escalations() -> None:
    """Time from a debtor's "I want to speak to a person" to its handoff in an agent's server-sent events."""
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        with scratch_stack(directory) as stack:
            os.environ["DATABASE_URL"] = stack.settings.database_url
            from bot.services import staff
            from bot.services.unit_of_work import SqlUnitOfWork

            with SqlUnitOfWork() as uow:
                staff.add_agent(uow, LOGIN, "agent", PASSWORD)
            base = f"http://127.0.0.1:{stack.settings.console_port}"
            session = logged_in(base)
            seen: dict[str, float] = {}
            ready = threading.Event()

            def listen() -> None:
                with session.get(f"{base}/api/events", stream=True, timeout=(5, None)) as events:
                    ready.set()
                    for line in events.iter_lines(decode_unicode=True):
                        if line and line.startswith("data:") and "rest:bench-" in line:
                            for conversation in re.findall(r"rest:bench-[0-9a-f]+", line):
                                seen.setdefault(conversation, time.perf_counter())

            threading.Thread(target=listen, daemon=True).start()
            ready.wait(10)
            latencies, turns = [], []
            for _ in range(ESCALATIONS):
                sender = f"bench-{uuid.uuid4().hex[:12]}"
                started = time.perf_counter()
                requests.post(f"{stack.rasa_url}/webhooks/rest/webhook",
                              json={"sender": sender, "message": "I want to speak to a person"}, timeout=30)
                turns.append((time.perf_counter() - started) * 1000)
                deadline = time.monotonic() + 10
                while f"rest:{sender}" not in seen and time.monotonic() < deadline:
                    time.sleep(0.005)
                if f"rest:{sender}" not in seen:
                    raise RuntimeError(f"the escalation of {sender} never reached the queue")
                latencies.append((seen[f"rest:{sender}"] - started) * 1000)
            report("the bot's turn (REST, for reference)", turns, 2000)
            report(f"escalation -> agent's queue ({ESCALATIONS})", latencies, 2000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("pages", "escalations", "all"), default="all")
    parser.add_argument("--database-url", help="an empty database for the pages part (default: scratch SQLite)")
    args = parser.parse_args()
    if args.part in ("pages", "all"):
        pages(args.database_url)
    if args.part in ("escalations", "all"):
        escalations()


if __name__ == "__main__":
    main()
