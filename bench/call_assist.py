"""Call-assist, measured: the warnings on held-out call transcripts, and utterance-to-suggestion latency.

1. Warnings: every call of the sets in tests/data, replayed through the rules, each utterance read by the
   trained model through the Rasa server's /model/parse, as the console reads it, then all the sets together.
   call_transcripts.yml is the development set the phrase cues were first written against; each later set was
   written by someone who had seen neither the data nor the code, measured once blind (the honest figure, in
   the README), then used to extend the cues: _heldout, _final, _fourth, _fifth (the newest, blind when its
   figure was taken). Goals (issue 13): recall >= 0.95 and precision >= 0.9 for dispute, attorney, cease,
   bankruptcy, deceased, wrong_person; every agent slip caught.
2. Latency: `POST /api/assist` on the console with a personal token (the NLU parse, the database transaction, the
   offers and the suggestions), from 1 and from 10 calls at once, each call a scripted mix of debtor and agent
   utterances at the pace of speech (one every PACE seconds per call, each call starting at a random moment).
   Goal: p95 under 150 ms. For the ceiling, the same with no pause at all (every call firing back to back), which
   no phone call does.

Usage: .venv/bin/python bench/call_assist.py [--part warnings|latency|all] [--rounds N]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.conversation_latency import percentile, scratch_stack  # noqa: E402
from bot.config import PROJECT_ROOT  # noqa: E402
from bot.launcher import Stack  # noqa: E402
from bot.sms.standin import free_port  # noqa: E402

PACE = 1.5  # seconds between utterances on one call: brisk for speech (a turn is usually 2-5 s)
SETS = ("call_transcripts_fifth.yml", "call_transcripts_fourth.yml", "call_transcripts_final.yml",
        "call_transcripts_heldout.yml", "call_transcripts.yml")
PROTECTIVE = ("dispute", "attorney", "cease", "bankruptcy", "deceased", "wrong_person")
SCRIPT = [
    ("agent", "Hi, this is Sam from Northgate Services, am I speaking with the account holder?"),
    ("debtor", "yeah this is me what's this about"),
    ("agent", "Northgate Services is a debt collector, this is an attempt to collect a debt"),
    ("debtor", "I lost my job in March and money is really tight"),
    ("debtor", "could I maybe do like 80 a month"),
    ("agent", "I can set that up today, can you make the first payment on Friday?"),
    ("debtor", "honestly I don't think this is even mine, I never had that account"),
    ("debtor", "ok fine what would you take to settle it, like 700"),
]


def parser_of(stack: Stack):
    session = requests.Session()

    def parse(text: str) -> tuple[str | None, float]:
        answer = session.post(f"{stack.rasa_url}/model/parse", headers=stack.api_headers(), json={"text": text},
                              timeout=30)
        answer.raise_for_status()
        intent = answer.json()["intent"]
        return intent.get("name"), float(intent.get("confidence") or 0.0)

    return parse


def warnings(stack: Stack) -> None:
    from bot.evaluation import WarningScores, score_call_warnings

    parse = parser_of(stack)
    total = WarningScores()
    for name in SETS:
        path = PROJECT_ROOT / "tests" / "data" / name
        document = yaml.safe_load(path.read_text())
        utterances = sum(1 for call in document["calls"] for turn in call["turns"] if "event" not in turn)
        scores = score_call_warnings(document, parse)
        print(f"\n{name}: {len(document['calls'])} calls, {utterances} utterances")
        print(scores.table())
        short = [c for c in PROTECTIVE if scores.recall(c) < 0.95 or scores.precision(c) < 0.9]
        slips = [c for c in ("not_verified", "no_disclosure", "outside_hours") if scores.recall(c) < 1.0]
        print("goals met" if not short and not slips else f"goals NOT met: {', '.join(short + slips)}")
        total.add(scores)
    print(f"\nall {len(SETS)} sets together\n{total.table()}")


def _calls(count: int) -> list[tuple[str, str]]:
    """`count` verified calls on demo accounts, made directly (the bench's clock may be outside anyone's contact
    hours; what is timed is what happens on a call)."""
    from bot.services.unit_of_work import SqlUnitOfWork
    from bot.storage.orm import Account, Call

    with SqlUnitOfWork() as uow:
        portfolio = uow.session.query(Account).order_by(Account.id).all()
        accounts = [portfolio[n % len(portfolio)] for n in range(count)]  # the demo has a few: calls share them
        now = datetime.now(UTC)
        made = [Call(account_id=a.id, agent="bench-agent", phone="+15550000000", started_at=now, verified_at=now)
                for a in accounts]
        uow.session.add_all(made)
        uow.session.flush()
        return [(str(call.id), account.account_ref) for call, account in zip(made, accounts, strict=True)]


def latency(stack: Stack, rounds: int) -> None:
    from bot.services import staff
    from bot.services.unit_of_work import SqlUnitOfWork

    os.environ["DATABASE_URL"] = stack.settings.database_url
    with SqlUnitOfWork() as uow:
        staff.add_agent(uow, "bench-agent", "agent", "bench-password-123")
    with SqlUnitOfWork() as uow:
        token = staff.issue_token(uow, "bench-agent")
    headers = {"Authorization": f"Bearer {token}"}
    for concurrent, pace in ((1, PACE), (10, PACE), (10, 0.0)):
        calls = _calls(concurrent)
        times: list[float] = []
        lock = threading.Lock()

        def talk(call_id: str, ref: str, pace: float = pace, times: list[float] = times,
                 lock: threading.Lock = lock) -> None:
            session = requests.Session()
            time.sleep(random.uniform(0, pace))
            for _ in range(rounds):
                for speaker, text in SCRIPT:
                    started = time.perf_counter()
                    answer = session.post(f"{stack.console_url}/api/assist", headers=headers, timeout=30,
                                          json={"call_id": call_id, "account_ref": ref, "speaker": speaker,
                                                "text": text})
                    elapsed = (time.perf_counter() - started) * 1000
                    answer.raise_for_status()
                    with lock:
                        times.append(elapsed)
                    time.sleep(max(0.0, pace - elapsed / 1000))

        threads = [threading.Thread(target=talk, args=call) for call in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
        verdict = "ok" if p95 < 150 else "OVER"
        how = f"one utterance every {pace:.1f} s per call" if pace else "back to back, no pause (the ceiling)"
        print(f"{concurrent:>2} concurrent call(s), {how}, {len(times)} utterances: median {p50:6.1f} ms   "
              f"p95 {p95:6.1f} ms   ({verdict}: goal 150 ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=("warnings", "latency", "all"), default="all")
    parser.add_argument("--rounds", type=int, default=5, help="times each call says the script (latency)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        stack = scratch_stack(Path(scratch))
        stack.settings = dataclasses.replace(stack.settings, console_port=free_port())
        with stack as running:
            if args.part in ("warnings", "all"):
                warnings(running)
            if args.part in ("latency", "all"):
                print("\nPOST /api/assist (the SQLite database; the console, Rasa and the model on this machine)")
                latency(running, args.rounds)


if __name__ == "__main__":
    main()
