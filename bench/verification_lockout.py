"""Verification lockout: what an attacker gets per reference, a real run against a locked reference, and whether
a locked known reference answers in the same time as a locked unknown one (figures; not a test).

Usage:
  .venv/bin/python bench/verification_lockout.py                  # own stack on free ports, scratch SQLite
  .venv/bin/python bench/verification_lockout.py --samples 60     # more timed turns per reference

The run spreads the attacker over many addresses (X-Forwarded-For, believed because this stack is started
with SANIC_PROXIES_COUNT=1 as it would be behind one reverse proxy), so that what stops it is the
per-reference limit, not the per-client one.
"""
from __future__ import annotations

import argparse
import calendar
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from conversation_latency import percentile  # noqa: E402

from bot.config import PROJECT_ROOT  # noqa: E402
from bot.domain.verification import CLIENT_FAILURE_LIMIT, REFERENCE_FAILURE_LIMIT, WINDOW  # noqa: E402
from bot.launcher import Stack, StackSettings  # noqa: E402
from bot.sms.standin import free_port  # noqa: E402
from bot.storage.db import unit_of_work  # noqa: E402
from bot.storage.orm import VerificationAttempt  # noqa: E402

KNOWN, UNKNOWN, RIGHT_DATE = "ACC-1001", "ZZ-404040", "12 March 1985"
FIRST_YEAR, LAST_YEAR = 1940, 2008  # plausible years of birth of a debtor


def attempts_to_cover(first_year: int, last_year: int) -> tuple[int, int]:
    """(dates, attempts): every date in the years, and the answers needed to try them all, an all-numeric
    answer such as 03/12/1985 trying both of its readings (the most one answer may try)."""
    dates = attempts = 0
    for year in range(first_year, last_year + 1):
        for month in range(1, 13):
            for day in range(1, calendar.monthrange(year, month)[1] + 1):
                dates += 1
                swapped_is_a_date = day <= 12 and day != month
                if not swapped_is_a_date or (month, day) < (day, month):  # a pair is tried by one answer
                    attempts += 1
    return dates, attempts


def arithmetic() -> None:
    dates, attempts = attempts_to_cover(FIRST_YEAR, LAST_YEAR)
    window_hours = WINDOW.total_seconds() / 3600
    per_day = REFERENCE_FAILURE_LIMIT * 24 / window_hours
    expected_attempts = attempts / 2
    print(f"limits: {REFERENCE_FAILURE_LIMIT} failures per reference and {CLIENT_FAILURE_LIMIT} per client "
          f"within {window_hours:.0f} h; 3 per conversation")
    print(f"plausible dates of birth {FIRST_YEAR}-{LAST_YEAR}: {dates:,}; answers to try them all (both readings "
          f"of an all-numeric date in one answer): {attempts:,}")
    print(f"attempts an attacker gets per reference per day, over any number of conversations, channels and "
          f"addresses: {per_day:.0f}")
    print(f"expected attempts to find one date of birth: {expected_attempts:,.0f}; expected time: "
          f"{expected_attempts / per_day:,.0f} days ({expected_attempts / per_day / 365.25:.1f} years); "
          f"chance within a year: {min(1.0, per_day * 365 / attempts):.1%}")
    print("before (5e1d85d): 3 tries per conversation, new conversations free, ~150 dates per 1,000-character "
          f"answer: {dates / 150:,.0f} messages to try them all, minutes of work")


def say(url: str, sender: str, message: str, address: str) -> tuple[str, float]:
    started = time.perf_counter()
    response = requests.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message},
                             headers={"X-Forwarded-For": address}, timeout=60)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return "\n".join(m.get("text", "") for m in response.json()), elapsed


def attempt(url: str, reference: str, date_text: str, address: str) -> tuple[str, float]:
    """One attempt from a new conversation: the reference, then the date (the turn timed)."""
    sender = f"attacker-{uuid.uuid4().hex[:12]}"
    say(url, sender, reference, address)
    return say(url, sender, date_text, address)


def outcome(reply: str) -> str:
    if "debt collector" in reply:
        return "VERIFIED"
    if "too many attempts" in reply:
        return "refused"
    if "couldn't match" in reply or "couldn't confirm" in reply:
        return "failed"
    return f"other: {reply[:60]!r}"


def live(url: str, database: str, samples: int) -> None:
    addresses = (f"198.51.100.{n}" for n in range(1, 255))
    print("\nattack through the real stack over HTTP (REST), each attempt a new conversation from a new address:")
    for number in range(1, REFERENCE_FAILURE_LIMIT + 6):
        date_text = RIGHT_DATE if number == REFERENCE_FAILURE_LIMIT + 5 else f"{number} January 1970"
        reply, _ = attempt(url, KNOWN, date_text, next(addresses))
        print(f"  attempt {number:2d} on {KNOWN} with {date_text!r:>18}: {outcome(reply)}")
    shown = subprocess.run([sys.executable, "-m", "bot", "account", KNOWN, "--json"], cwd=PROJECT_ROOT,
                           env={**os.environ, "DATABASE_URL": database}, capture_output=True, text=True, check=True)
    print(f"  account JSON: \"verification\": {json.dumps(json.loads(shown.stdout)['verification'])}")
    with unit_of_work(database) as session:
        clients = session.scalar(select(func.count(func.distinct(VerificationAttempt.client))))
    print(f"  clients the server saw among the counted attempts: {clients} (the per-client limit never applied)")

    for number in range(REFERENCE_FAILURE_LIMIT):  # the unknown reference locked the same way
        attempt(url, UNKNOWN, f"{number + 1} January 1970", next(addresses))
    print(f"\nanswer time of a refused attempt (the date-of-birth turn), {samples} each, alternating, "
          f"right date of birth of {KNOWN}:")
    for reference in (KNOWN, UNKNOWN):  # warm up both paths
        attempt(url, reference, RIGHT_DATE, "203.0.113.1")
    timings: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
    replies: dict[str, set[str]] = {KNOWN: set(), UNKNOWN: set()}
    for number in range(samples):
        for reference in ((KNOWN, UNKNOWN) if number % 2 == 0 else (UNKNOWN, KNOWN)):
            reply, elapsed = attempt(url, reference, RIGHT_DATE, f"203.0.113.{2 + number % 250}")
            timings[reference].append(elapsed)
            replies[reference].add(outcome(reply))
    for reference, label in ((KNOWN, "known"), (UNKNOWN, "unknown")):
        values = timings[reference]
        print(f"  locked {label:7s} reference {reference:10s}: outcomes {sorted(replies[reference])}; "
              f"median {statistics.median(values):.1f} ms, p95 {percentile(values, 0.95):.1f} ms")
    difference = statistics.median(timings[KNOWN]) - statistics.median(timings[UNKNOWN])
    spread = statistics.median([abs(a - b) for a, b in zip(timings[KNOWN], timings[UNKNOWN], strict=True)])
    print(f"  difference of medians (known - unknown): {difference:+.1f} ms; median |difference| of paired "
          f"turns: {spread:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=40, help="timed refused attempts per reference")
    args = parser.parse_args()
    arithmetic()
    with tempfile.TemporaryDirectory() as scratch:
        database = f"sqlite:///{Path(scratch) / 'bench.db'}"
        env = {**os.environ, "DATABASE_URL": database}
        subprocess.run([sys.executable, "-m", "bot", "prepare"], cwd=PROJECT_ROOT, env=env, check=True,
                       capture_output=True)
        os.environ["SANIC_PROXIES_COUNT"] = "1"  # the stack believes one proxy's X-Forwarded-For
        settings = StackSettings(rasa_port=free_port(), action_port=free_port(), web_port=free_port(),
                                 database_url=database, log_dir=Path(scratch))
        print("\nstarting a stack on a scratch database...", file=sys.stderr)
        with Stack(settings) as running:
            live(running.rasa_url, database, args.samples)


if __name__ == "__main__":
    main()
