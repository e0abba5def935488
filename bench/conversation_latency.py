"""Per-turn latency of scripted conversations (verification + balance; a full negotiation; the same by SMS
through signed Twilio webhooks, replies sent through the twilio library to the local stand-in), and training time.

Usage:
  .venv/bin/python bench/conversation_latency.py                 # starts its own stack on a scratch database
  .venv/bin/python bench/conversation_latency.py --url http://127.0.0.1:5005   # against a running stack
  .venv/bin/python bench/conversation_latency.py --train         # also times a full `rasa train`
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import PROJECT_ROOT  # noqa: E402
from bot.launcher import Stack, StackSettings  # noqa: E402
from bot.sms.standin import free_port  # noqa: E402

SCRIPTS = {
    "verification + balance": ["hi", "ACC-1001", "12 March 1985", "how much do I owe?", "thanks"],
    "negotiation": ["hi", "ACC-1001", "12 March 1985", "could you take less to settle it", "600", "friday",
                    "I can do 1100", "1100", "yes", "can I pay 150 a month instead", "the 15th", "yes"],
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def converse(url: str, script: list[str], conversations: int) -> list[float]:
    latencies = []
    for number in range(conversations):
        sender = f"bench-{uuid.uuid4().hex[:10]}"
        for message in script:
            started = time.perf_counter()
            response = requests.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message},
                                     timeout=60)
            latencies.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
        print(f"\r  conversation {number + 1}/{conversations}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return latencies


def converse_by_sms(stack: Stack, script: list[str], conversations: int) -> list[float]:
    """Webhook round trips: signature check, the turn, and every reply texted to the stand-in."""
    from bot.sms.standin import inbound_sms, signed_headers

    webhook, latencies = f"{stack.rasa_url}/webhooks/twilio/webhook", []
    for number in range(conversations):
        phone = f"+1555{uuid.uuid4().int % 10_000_000:07d}"  # a number not on file: reference and date of birth
        for message in script:
            params = inbound_sms(stack.twilio.settings, phone, message)
            headers = signed_headers(stack.twilio.settings, webhook, params)
            started = time.perf_counter()
            response = requests.post(webhook, data=params, headers=headers, timeout=60)
            latencies.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
        print(f"\r  conversation {number + 1}/{conversations}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return latencies


def cpu_seconds(*pids: int) -> float:
    """CPU time (user and system) the processes have used so far (Linux: /proc/PID/stat); what a turn costs in CPU
    depends less on what else the machine is doing than its latency does."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14 and 15 of proc(5))
    return total


def report(name: str, latencies: list[float]) -> None:
    print(f"{name}: {len(latencies)} turns; per-turn latency ms: median {statistics.median(latencies):.1f},"
          f" p95 {percentile(latencies, 0.95):.1f}, max {max(latencies):.1f}")


def scratch_database(directory: Path, url: str | None = None, wal: bool = False) -> str:
    """A database with the demo portfolio: a new SQLite file in `directory` unless `url` names one.

    `wal`: the SQLite file in write-ahead-log mode (it stays so for every connection), an experiment: each commit
    then syncs the disk once instead of several times.
    """
    url = url or f"sqlite:///{directory / 'bench.db'}"
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "bot", "prepare"], cwd=PROJECT_ROOT, env=env, check=True,
                   capture_output=True)
    if wal:
        import sqlite3

        from sqlalchemy.engine import make_url

        with sqlite3.connect(make_url(url).database) as connection:
            connection.execute("PRAGMA journal_mode=WAL")
    return url


def scratch_stack(directory: Path, url: str | None = None, stack_class: type[Stack] = Stack, wal: bool = False
                  ) -> Stack:
    """The whole stack on a scratch database, on free ports (other benches and tests may be running)."""
    return stack_class(StackSettings(rasa_port=free_port(), action_port=free_port(), web_port=free_port(),
                                     twilio_standin_port=free_port(),
                                     database_url=scratch_database(directory, url, wal), log_dir=directory))


def time_training() -> float:
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rasa", "train", "--force", "--out", out], cwd=PROJECT_ROOT,
                       check=True, capture_output=True)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running Rasa server (with the demo portfolio imported)")
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--train", action="store_true", help="also time a full training run")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        stack = nullcontext() if args.url else scratch_stack(Path(scratch))
        with stack as running:
            url = args.url or running.rasa_url
            for name, script in SCRIPTS.items():
                print(f"{name}: warming up, then {args.conversations} conversations of {len(script)} turns"
                      f" against {url}", file=sys.stderr)
                converse(url, script, 1)
                report(name, converse(url, script, args.conversations))
            if running is not None:  # SMS needs the stand-in this script starts
                script = SCRIPTS["verification + balance"]
                print(f"SMS: {args.conversations} conversations of {len(script)} texts", file=sys.stderr)
                report("SMS verification + balance", converse_by_sms(running, script, args.conversations))
    if args.train:
        print("training (rasa train --force)...", file=sys.stderr)
        print(f"training time s: {time_training():.0f}")


if __name__ == "__main__":
    main()
