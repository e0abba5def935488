"""Where the time of one turn goes: the REST channel, each NLU component, the policies, the tracker store, the lock,
each action server call and the SQL statements it runs, printed as a table.

The stack runs as `make run` starts it, on a scratch database with the demo portfolio (SQLite unless
--database-url), except that this script is the entry point of the Rasa server and of the action server
(`--probe rasa|actions`): it wraps the methods below with timers, counts SQL statements and new connections with
SQLAlchemy's engine and pool events, then runs the real server (`bot.rasa_server`, `actions`). Each timed call
is written to a file as it ends; the driver sends the turns of bench/conversation_latency.py's scripts one at a
time and gives each call to the turn whose round trip contains it (time.monotonic is CLOCK_MONOTONIC, one clock for
all processes on Linux). The timers cost a few microseconds per call (about 40 calls per turn).

Rows are nested as the calls are: a row's time includes its children's, and "share" is of the whole turn as the
client saw it. Action server rows hang under the Rasa-side call that waited for them.

Usage:
  .venv/bin/python bench/turn_profile.py                        # 10 conversations of each script, SQLite
  .venv/bin/python bench/turn_profile.py --conversations 20 --database-url postgresql://...
"""
from __future__ import annotations

import argparse
import bisect
import contextvars
import functools
import json
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

THIS = Path(__file__).resolve()
ACTION_REQUEST = "action server: the request (Sanic, JSON, run)"

# ---- the probe: runs inside the servers ------------------------------------------------------------------

_out_fd: int | None = None
_process = ""
_stack: contextvars.ContextVar[tuple[_Frame, ...]] = contextvars.ContextVar("turn_profile", default=())


class _Frame:
    """A timed call in progress: what SQL ran while it did."""

    __slots__ = ("name", "sql", "sql_ms", "connects", "statements")

    def __init__(self, name: str):
        self.name, self.sql, self.sql_ms, self.connects = name, 0, 0.0, 0
        self.statements: Counter[str] = Counter()


def _emit(record: dict[str, Any]) -> None:
    if _out_fd is not None:
        os.write(_out_fd, (json.dumps(record) + "\n").encode())  # one O_APPEND write: lines never interleave


@contextmanager
def _timed(name: str) -> Iterator[None]:
    parents = _stack.get()
    frame = _Frame(name)
    token = _stack.set((*parents, frame))
    started = time.monotonic()
    try:
        yield
    finally:
        ended = time.monotonic()
        _stack.reset(token)
        _emit({"proc": _process, "path": [f.name for f in parents] + [name], "t0": started, "t1": ended,
               "sql": frame.sql, "sql_ms": round(frame.sql_ms, 3), "connects": frame.connects,
               "statements": dict(frame.statements)})


def _wrap(owner: Any, attribute: str, name: str | Callable[..., str]) -> None:
    """Time every call of owner.attribute (a function or coroutine function) under `name` (or name(*args))."""
    original = getattr(owner, attribute)
    label = name if callable(name) else (lambda *_a, **_k: name)
    if _is_coroutine_function(original):
        @functools.wraps(original)
        async def timed_coroutine(*args: Any, **kwargs: Any) -> Any:
            with _timed(label(*args, **kwargs)):
                return await original(*args, **kwargs)
        setattr(owner, attribute, timed_coroutine)
    else:
        @functools.wraps(original)
        def timed_function(*args: Any, **kwargs: Any) -> Any:
            with _timed(label(*args, **kwargs)):
                return original(*args, **kwargs)
        setattr(owner, attribute, timed_function)


def _is_coroutine_function(function: Any) -> bool:
    import inspect
    return inspect.iscoroutinefunction(function)


_STATEMENT = re.compile(r"^\s*(SELECT|INSERT INTO|UPDATE|DELETE FROM|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b"
                        r"(?:.*?\bFROM\s+\"?(\w+)|\s+\"?(\w+))?", re.IGNORECASE | re.DOTALL)


def _summary(statement: str) -> str:
    """`SELECT accounts`, `INSERT events`: the verb and the first table named."""
    match = _STATEMENT.match(statement)
    if not match:
        return statement.split(None, 1)[0].upper() if statement.strip() else "?"
    verb = match.group(1).split()[0].upper()
    table = match.group(2) or match.group(3) or ""
    return f"{verb} {table}".strip() if verb in ("SELECT", "INSERT", "UPDATE", "DELETE") else verb


def _listen_to_sql() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import Pool

    _wrap(Session, "commit", "SQL: session commit (flush and COMMIT)")

    @event.listens_for(Engine, "before_cursor_execute")
    def before(conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        conn.info.setdefault("turn_profile_started", []).append((time.monotonic(), statement))

    @event.listens_for(Engine, "after_cursor_execute")
    def after(conn, _cursor, _statement, _parameters, _context, _executemany) -> None:
        started, statement = conn.info["turn_profile_started"].pop()
        elapsed, summary = (time.monotonic() - started) * 1000, _summary(statement)
        for frame in _stack.get():
            frame.sql += 1
            frame.sql_ms += elapsed
            frame.statements[summary] += 1

    @event.listens_for(Pool, "connect")
    def connected(_dbapi_connection, _record) -> None:
        for frame in _stack.get():
            frame.connects += 1


def _instrument_rasa() -> None:
    import rasa.core.lock_store as lock_store
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
    from rasa.core.processor import MessageProcessor
    from rasa.engine.graph import GraphNode
    from rasa.utils.endpoints import EndpointConfig

    import bot.channels as channels
    import bot.channels.rest as rest
    from bot.storage.tracker_store import RedactingSQLTrackerStore

    _wrap(rest, "take_turn", "REST channel (take_turn)")
    # The channel's own database calls, each a unit of work (its commit included); before issue 11 the channel
    # called the services directly.
    from bot.services import choices, handoffs

    for owner, attribute, name in ((channels, "_take_offered", choices.take), (channels, "_offer", choices.offer),
                                   (channels, "_handed_off", handoffs.is_open)):
        label = {"_take_offered": "channel: buttons offered last (read and spend)",
                 "_offer": "channel: buttons sent (remember)",
                 "_handed_off": "channel: is a person on it? (after a silent turn)"}[attribute]
        if hasattr(owner, attribute):
            _wrap(owner, attribute, label)
        else:
            _wrap(choices if name.__module__.endswith("choices") else handoffs, name.__name__, label)
    _wrap(Agent, "handle_message", "Agent.handle_message")
    for method in ("retrieve", "save", "retrieve_full_tracker"):
        _wrap(RedactingSQLTrackerStore, method, f"tracker store: {method}")
    _wrap(MessageProcessor, "_parse_message_with_graph", "NLU graph")
    _wrap(MessageProcessor, "_predict_next_with_tracker", "policy graph (next action)")
    _wrap(MessageProcessor, "run_action_extract_slots", "action_extract_slots")
    _wrap(MessageProcessor, "_run_action", lambda _self, action, *_a, **_k: f"action {action.name()}")
    _wrap(RemoteAction, "run", lambda self, *_a, **_k: f"action server call {self.name()}")
    _wrap(RemoteAction, "_action_call_format", "request body (tracker state, domain)")
    _wrap(RemoteAction, "_validate_action_result", "response check (jsonschema)")
    _wrap(EndpointConfig, "request", "HTTP request (aiohttp)")
    _wrap(TemplatedNaturalLanguageGenerator, "generate", "NLG (render a response)")
    _wrap(GraphNode, "__call__", lambda self, *_a, **_k: f"{self._node_name}")

    original_lock = lock_store.LockStore.lock

    @asynccontextmanager
    async def timed_lock(self: Any, *args: Any, **kwargs: Any):  # acquire and release, not the turn they guard
        manager = original_lock(self, *args, **kwargs)
        with _timed("lock store: acquire"):
            ticket = await manager.__aenter__()
        try:
            yield ticket
        finally:
            with _timed("lock store: release"):
                await manager.__aexit__(*sys.exc_info())

    lock_store.LockStore.lock = timed_lock


def _instrument_actions() -> None:
    import rasa_sdk.endpoint as endpoint
    from rasa_sdk.executor import ActionExecutor

    _wrap(ActionExecutor, "run", lambda _self, call, *_a, **_k: f"action server: {call.get('next_action')} (run)")
    original_create_app = endpoint.create_app

    def create_app(*args: Any, **kwargs: Any) -> Any:  # the whole request in the action server, JSON included
        app = original_create_app(*args, **kwargs)

        @app.on_request
        async def started(request: Any) -> None:
            request.ctx.turn_profile_started = time.monotonic()

        @app.on_response
        async def ended(request: Any, _response: Any) -> None:
            if request.path == "/webhook" and hasattr(request.ctx, "turn_profile_started"):
                _emit({"proc": _process, "path": [ACTION_REQUEST],
                       "t0": request.ctx.turn_profile_started, "t1": time.monotonic(), "sql": 0, "sql_ms": 0,
                       "connects": 0, "statements": {}})
        return app

    endpoint.create_app = create_app


def probe(role: str, out: str, argv: list[str]) -> int:
    """Run the Rasa server or the action server, instrumented, writing timed calls to `out`."""
    global _out_fd, _process
    _out_fd, _process = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), role
    _listen_to_sql()
    if role == "rasa":
        _instrument_rasa()
        from bot.rasa_server import main
    else:
        _instrument_actions()
        from actions.__main__ import main
    return main(argv) or 0


# ---- the driver --------------------------------------------------------------------------------------------

@dataclass
class Turn:
    t0: float
    t1: float
    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ms(self) -> float:
        return (self.t1 - self.t0) * 1000


def profiled_stack_class(out_dir: Path) -> type:
    from bot.launcher import Stack

    class ProfiledStack(Stack):
        """The stack with this script as the entry point of the Rasa and action servers."""

        def _commands(self) -> dict[str, list[str]]:
            commands = super()._commands()
            for role in ("rasa", "actions"):
                arguments = commands[role][3:]  # after [python, -m, module]
                commands[role] = [sys.executable, str(THIS), "--probe", role, "--probe-out",
                                  str(out_dir / f"{role}.jsonl"), "--", *arguments]
            return commands

    return ProfiledStack


def drive(url: str, scripts: dict[str, list[str]], conversations: int) -> list[Turn]:
    import requests

    turns: list[Turn] = []
    with requests.Session() as http:
        for name, script in scripts.items():
            for number in range(conversations):
                sender = f"profile-{uuid.uuid4().hex[:10]}"
                for message in script:
                    started = time.monotonic()
                    response = http.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message},
                                         timeout=60)
                    ended = time.monotonic()
                    response.raise_for_status()
                    turns.append(Turn(started, ended))
                print(f"\r  {name}: conversation {number + 1}/{conversations}", end="", file=sys.stderr, flush=True)
            print(file=sys.stderr)
    return turns


def read_calls(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def assign(turns: list[Turn], rasa_calls: list[dict], action_calls: list[dict]) -> None:
    """Give each call to the turn whose round trip contains it; action server calls go under the Rasa call that
    waited for them."""
    starts = [turn.t0 for turn in turns]

    def turn_of(call: dict) -> Turn | None:
        index = bisect.bisect_right(starts, call["t0"]) - 1
        if index >= 0 and call["t1"] <= turns[index].t1:
            return turns[index]
        return None

    def nest(calls: list[dict], under: list[dict]) -> None:
        under = sorted(under, key=lambda c: c["t0"])
        under_starts = [c["t0"] for c in under]
        for call in calls:
            index = bisect.bisect_right(under_starts, call["t0"]) - 1
            if index >= 0 and call["t1"] <= under[index]["t1"]:
                call["path"] = under[index]["path"] + call["path"]

    requests = [c for c in action_calls if c["path"] == [ACTION_REQUEST]]
    inside = [c for c in action_calls if c["path"] != [ACTION_REQUEST]]
    nest(requests, [c for c in rasa_calls if c["path"][-1].startswith("HTTP request")])
    nest(inside, requests)
    for call in rasa_calls + action_calls:
        turn = turn_of(call)
        if turn is not None:
            turn.calls.append(call)


TURN = ("turn (client round trip)",)
OUTSIDE = "HTTP, Sanic, JSON and client (outside the channel)"


def table(turns: list[Turn]) -> tuple[str, dict[tuple[str, ...], list[dict]]]:
    from conversation_latency import percentile  # not at the top: the probe inside the servers needs none of it

    by_path: dict[tuple[str, ...], list[dict]] = defaultdict(list)
    for turn in turns:
        handled = 0.0
        for call in turn.calls:
            path = TURN + tuple(call["path"])
            by_path[path].append(call)
            if len(path) == 2:
                handled += (call["t1"] - call["t0"])
        top = [c for c in turn.calls if len(c["path"]) == 1]
        by_path[TURN].append({"t0": turn.t0, "t1": turn.t1, "sql": sum(c["sql"] for c in top),
                              "sql_ms": sum(c["sql_ms"] for c in top)})
        by_path[(*TURN, OUTSIDE)].append({"t0": 0.0, "t1": turn.t1 - turn.t0 - handled})
    total = sum(turn.ms for turn in turns)
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = defaultdict(list)
    for path in by_path:
        if len(path) > 1:
            children[path[:-1]].append(path)

    def ms_of(path: tuple[str, ...]) -> list[float]:
        return [(c["t1"] - c["t0"]) * 1000 for c in by_path[path]]

    lines = [f"{'component':<66} {'calls/turn':>10} {'median ms':>10} {'p95 ms':>8} {'ms/turn':>8} {'share':>7}"
             f" {'SQL/call':>8} {'SQL ms':>7}"]

    def row(path: tuple[str, ...], depth: int) -> None:
        durations = ms_of(path)
        calls = by_path[path]
        sql = statistics.mean(c.get("sql", 0) for c in calls)
        sql_ms = statistics.mean(c.get("sql_ms", 0) for c in calls)
        name = ("  " * depth + path[-1])[:66]
        lines.append(f"{name:<66} {len(durations) / len(turns):>10.2f} {statistics.median(durations):>10.2f}"
                     f" {percentile(durations, 0.95):>8.2f} {sum(durations) / len(turns):>8.2f}"
                     f" {100 * sum(durations) / total:>6.1f}% {sql:>8.1f} {sql_ms:>7.2f}")
        for child in sorted(children[path], key=lambda p: -sum(ms_of(p))):
            row(child, depth + 1)

    row(TURN, 0)
    return "\n".join(lines), by_path


def sql_report(by_path: dict[tuple[str, ...], list[dict]], turns: int) -> str:
    """Per action server call (and per tracker store and channel call): the statements each call runs."""
    lines = ["SQL statements per call (new connections in brackets):"]
    by_name: dict[str, list[dict]] = defaultdict(list)
    for path, calls in by_path.items():
        if path[-1].endswith("(run)") or path[-1].startswith(("tracker store", "channel:")):
            by_name[path[-1]].extend(calls)
    for last, calls in sorted(by_name.items()):
        statements: Counter[str] = Counter()
        for call in calls:
            statements.update(call.get("statements", {}))
        per_call = ", ".join(f"{name} {count / len(calls):.1f}" for name, count in statements.most_common())
        connects = statistics.mean(c.get("connects", 0) for c in calls)
        lines.append(f"  {last} ({len(calls) / turns:.2f}/turn): {statistics.mean(c['sql'] for c in calls):.1f}"
                     f" statements [{connects:.1f}]: {per_call or '-'}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--probe", choices=("rasa", "actions"), help=argparse.SUPPRESS)
    parser.add_argument("--probe-out", help=argparse.SUPPRESS)
    parser.add_argument("--conversations", type=int, default=10, help="conversations of each script (default 10)")
    parser.add_argument("--database-url", help="a database to use (the demo portfolio is imported into it);"
                                               " default: a scratch SQLite file")
    parser.add_argument("--sqlite-wal", action="store_true", help="an experiment: the scratch SQLite database in"
                                                                  " write-ahead-log mode")
    parser.add_argument("--keep", action="store_true", help="print where the raw timings are and keep them")
    args, rest = parser.parse_known_args()
    if args.probe:
        return probe(args.probe, args.probe_out, [a for a in rest if a != "--"])

    from conversation_latency import SCRIPTS, cpu_seconds, percentile, scratch_stack

    scratch = Path(tempfile.mkdtemp(prefix="turn-profile-"))
    with scratch_stack(scratch, args.database_url, profiled_stack_class(scratch), args.sqlite_wal) as stack:
        print(f"warming up, then {args.conversations} conversations of each script against {stack.rasa_url}",
              file=sys.stderr)
        drive(stack.rasa_url, SCRIPTS, 1)
        servers = {name: stack.processes[name].pid for name in ("rasa", "actions")}
        cpu_before = {name: cpu_seconds(pid) for name, pid in servers.items()}
        measured_from = time.monotonic()
        turns = drive(stack.rasa_url, SCRIPTS, args.conversations)
        cpu = {name: (cpu_seconds(pid) - cpu_before[name]) * 1000 / len(turns) for name, pid in servers.items()}
    rasa_calls = [c for c in read_calls(scratch / "rasa.jsonl") if c["t0"] >= measured_from]
    action_calls = [c for c in read_calls(scratch / "actions.jsonl") if c["t0"] >= measured_from]
    assign(turns, rasa_calls, action_calls)
    text, by_path = table(turns)
    latencies = [turn.ms for turn in turns]
    database = (args.database_url or "SQLite") + (" (WAL)" if args.sqlite_wal else "")
    print(f"turn profile: {len(turns)} turns ({', '.join(SCRIPTS)}), database {database};"
          f" per turn median {statistics.median(latencies):.1f} ms, p95 {percentile(latencies, 0.95):.1f} ms"
          " (instrumented)")
    print(f"CPU per turn: Rasa server {cpu['rasa']:.1f} ms, action server {cpu['actions']:.1f} ms (the timers' own cost"
          " included)")
    print(text)
    print()
    print(sql_report(by_path, len(turns)))
    if args.keep:
        print(f"raw timings: {scratch}/rasa.jsonl, {scratch}/actions.jsonl", file=sys.stderr)
    else:
        import shutil
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
