"""This assistant side by side with a stock `rasa init` bot, in one run: per-turn latency one turn at a time
(median, p95) and throughput with concurrent conversations (turns per second), both bots over their REST
channel with the same client, and the ratios issue 11 sets as goals (p95 at most 2 times the stock bot's,
throughput at least 60 % of it).

The stock bot is made here: `rasa init --no-prompt --init-dir <scratch>` writes Rasa's starter project and trains
it (timed), and `rasa run` serves it with the same Python and Rasa as ours (its own defaults: in-memory tracker
store, no action server). Ours is the whole stack as `make run` starts it, on a scratch database with the demo
portfolio. Both run at once; the measurements alternate between them, round after round, so that a machine
getting busier or quieter weighs on both; each round's figures are printed, and the figures over all rounds.

Usage:
  .venv/bin/python bench/stock_bot.py                        # 2 rounds: 10 conversations of each script, then
                                                             # 10 concurrent conversations for 30 s, per bot
  .venv/bin/python bench/stock_bot.py --stock-dir DIR         # reuse (or make once) the stock bot in DIR
  .venv/bin/python bench/stock_bot.py --rounds 3 --seconds 60 --concurrency 10
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from conversation_latency import SCRIPTS, cpu_seconds, percentile, scratch_stack  # noqa: E402

from bot.sms.standin import free_port  # noqa: E402

# The same kind of traffic for the stock bot (its intents: greet, mood, affirm, deny, bot challenge, goodbye), in
# conversations as long as ours (5 and 12 turns).
STOCK_SCRIPTS = {
    "greeting and mood": ["hi", "I am sad", "yes", "are you a bot?", "bye"],
    "longer chat": ["hello there", "not good", "no", "very bad", "yes", "are you a human?", "I am great",
                    "good morning", "extremely sad", "of course", "that sounds good", "goodbye"],
}
GOALS = {"p95": 2.0, "throughput": 0.60}


@dataclass
class Figures:
    sequential: list[float] = field(default_factory=list)  # ms per turn, one turn at a time
    concurrent: list[float] = field(default_factory=list)  # ms per turn under load
    turns: int = 0  # turns completed under load
    seconds: float = 0.0  # the load's duration
    cpu: float = 0.0  # CPU seconds the bot's servers used for the sequential turns

    @property
    def throughput(self) -> float:
        return self.turns / self.seconds if self.seconds else 0.0

    def add(self, other: Figures) -> None:
        self.sequential += other.sequential
        self.concurrent += other.concurrent
        self.turns += other.turns
        self.seconds += other.seconds
        self.cpu += other.cpu

    def line(self, name: str) -> str:
        return (f"{name:<10} sequential: median {statistics.median(self.sequential):6.1f} ms, p95"
                f" {percentile(self.sequential, 0.95):6.1f} ms, CPU {1000 * self.cpu / len(self.sequential):5.1f} ms"
                f" ({len(self.sequential)} turns); concurrent:"
                f" {self.throughput:5.1f} turns/s (median {statistics.median(self.concurrent):6.1f} ms, p95"
                f" {percentile(self.concurrent, 0.95):6.1f} ms, {self.turns} turns in {self.seconds:.0f} s)")


# ---- the stock bot ------------------------------------------------------------------------------------------

def make_stock_bot(directory: Path) -> float | None:
    """`rasa init` into `directory` (which trains it); the seconds it took, or None when a model was there."""
    if list((directory / "models").glob("*.tar.gz")):
        return None
    directory.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(directory)],
                            cwd=directory, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0 or not list((directory / "models").glob("*.tar.gz")):
        raise RuntimeError(f"rasa init failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return time.perf_counter() - started


@contextmanager
def stock_server(directory: Path, log: Path, timeout: float = 300) -> Iterator[tuple[str, int]]:
    """`rasa run` on the stock bot's newest model: its REST channel, as `rasa init` configures it."""
    port = free_port()
    model = max((directory / "models").glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "rasa", "run", "--model", str(model), "--port", str(port), "--interface",
             "127.0.0.1", "--credentials", "credentials.yml", "--endpoints", "endpoints.yml"],
            cwd=directory, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the stock bot exited with {process.returncode}; see {log}")
            try:
                with urllib.request.urlopen(f"{url}/webhooks/rest/", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the stock bot did not answer within {timeout:.0f} s; see {log}")
            time.sleep(0.5)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---- traffic ---------------------------------------------------------------------------------------------------

async def _conversation(http, url: str, script: list[str], latencies: list[float]) -> int:
    sender = f"bench-{uuid.uuid4().hex[:10]}"
    for message in script:
        started = time.perf_counter()
        async with http.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message}) as response:
            await response.read()
            response.raise_for_status()
        latencies.append((time.perf_counter() - started) * 1000)
    return len(script)


async def sequential(url: str, scripts: dict[str, list[str]], conversations: int, pids: list[int]
                     ) -> tuple[list[float], float]:
    """Per-turn latencies, one turn at a time, and the CPU seconds the servers used meanwhile."""
    import aiohttp

    latencies: list[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        for script in scripts.values():  # warming up: the first turns load what loads lazily
            await _conversation(http, url, script, [])
        cpu = cpu_seconds(*pids)
        for script in scripts.values():
            for _ in range(conversations):
                await _conversation(http, url, script, latencies)
    return latencies, cpu_seconds(*pids) - cpu


async def concurrent(url: str, scripts: dict[str, list[str]], concurrency: int, seconds: float
                     ) -> tuple[int, float, list[float]]:
    """`concurrency` conversations at a time, each followed by a new one, until `seconds` have passed; the turns of
    conversations still going then are counted up to that moment."""
    import aiohttp

    latencies: list[float] = []
    order = list(scripts.values())
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60),
                                     connector=aiohttp.TCPConnector(limit=concurrency)) as http:
        started = time.perf_counter()
        deadline = started + seconds

        async def client(number: int) -> None:
            turn = number
            while time.perf_counter() < deadline:
                script = order[turn % len(order)]
                sender = f"bench-{uuid.uuid4().hex[:10]}"
                for message in script:
                    if time.perf_counter() >= deadline:
                        return
                    began = time.perf_counter()
                    async with http.post(f"{url}/webhooks/rest/webhook",
                                         json={"sender": sender, "message": message}) as response:
                        await response.read()
                        response.raise_for_status()
                    latencies.append((time.perf_counter() - began) * 1000)
                turn += 1

        await asyncio.gather(*(client(number) for number in range(concurrency)))
        elapsed = time.perf_counter() - started
    return len(latencies), elapsed, latencies


def measure(url: str, pids: list[int], scripts: dict[str, list[str]], args: argparse.Namespace) -> Figures:
    figures = Figures()
    figures.sequential, figures.cpu = asyncio.run(sequential(url, scripts, args.conversations, pids))
    figures.turns, figures.seconds, figures.concurrent = asyncio.run(
        concurrent(url, scripts, args.concurrency, args.seconds))
    return figures


def ratios(ours: Figures, stock: Figures) -> str:
    p95 = percentile(ours.sequential, 0.95) / percentile(stock.sequential, 0.95)
    median = statistics.median(ours.sequential) / statistics.median(stock.sequential)
    throughput = ours.throughput / stock.throughput
    return (f"ratios (ours / stock): sequential p95 {p95:.2f} (goal <= {GOALS['p95']:.1f}: "
            f"{'met' if p95 <= GOALS['p95'] else 'NOT met'}), median {median:.2f}; throughput {throughput:.2f}"
            f" (goal >= {GOALS['throughput']:.2f}: {'met' if throughput >= GOALS['throughput'] else 'NOT met'})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stock-dir", type=Path, help="where the stock bot is made, or already is (kept)")
    parser.add_argument("--database-url", help="our database (the demo portfolio is imported); default scratch SQLite")
    parser.add_argument("--sqlite-wal", action="store_true", help="an experiment: our scratch SQLite database in"
                                                                  " write-ahead-log mode")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--conversations", type=int, default=10, help="sequential: conversations of each script")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30, help="concurrent: how long each bot is loaded")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="stock-bot-") as scratch_name:
        scratch = Path(scratch_name)
        stock_dir = args.stock_dir or scratch / "stock"
        print(f"making the stock bot in {stock_dir} (rasa init --no-prompt, which trains it)...", file=sys.stderr)
        trained = make_stock_bot(stock_dir)
        training = f"{trained:.0f} s" if trained is not None else "(already made)"
        print("starting both bots...", file=sys.stderr)
        with stock_server(stock_dir, scratch / "stock.log") as (stock_url, stock_pid), \
                scratch_stack(scratch, args.database_url, wal=args.sqlite_wal) as stack:
            our_pids = [process.pid for process in stack.processes.values()]
            totals = {"stock": Figures(), "ours": Figures()}
            for number in range(args.rounds):
                # Alternate which bot goes first, so that neither always meets the machine as the other left it.
                order = [("stock", stock_url, [stock_pid], STOCK_SCRIPTS), ("ours", stack.rasa_url, our_pids, SCRIPTS)]
                if number % 2:
                    order.reverse()
                this_round = {}
                for name, url, pids, scripts in order:
                    print(f"round {number + 1}/{args.rounds}: {name} bot...", file=sys.stderr)
                    this_round[name] = measure(url, pids, scripts, args)
                    totals[name].add(this_round[name])
                print(f"round {number + 1}:")
                for name in ("stock", "ours"):
                    print("  " + this_round[name].line(name))
                print("  " + ratios(this_round["ours"], this_round["stock"]))
    print(f"all {args.rounds} rounds (stock bot trained by rasa init in {training}; {args.concurrency} concurrent"
          f" conversations):")
    for name in ("stock", "ours"):
        print("  " + totals[name].line(name))
    print("  " + ratios(totals["ours"], totals["stock"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
