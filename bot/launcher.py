"""Starts the action server and the Rasa server together, and stops both on Ctrl-C."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import PROJECT_ROOT, database_url

MODEL = PROJECT_ROOT / "models" / "collections.tar.gz"
DEFAULT_TOKEN = "dev-token-change-me"


@dataclass
class StackSettings:
    rasa_port: int = int(os.environ.get("RASA_PORT", "5005"))
    action_port: int = int(os.environ.get("ACTION_PORT", "5055"))
    token: str = os.environ.get("RASA_TOKEN", DEFAULT_TOKEN)
    database_url: str = field(default_factory=database_url)
    model: Path = MODEL
    log_dir: Path | None = None  # None: children write to this terminal

    def environment(self) -> dict[str, str]:
        # endpoints.yml reads ACTION_PORT and DATABASE_URL (Rasa's tracker store shares our database).
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "ACTION_PORT": str(self.action_port),
            "PYTHONPATH": str(PROJECT_ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "2",
        }


class Stack:
    """The two server processes; usable as a context manager by tests and benchmarks."""

    def __init__(self, settings: StackSettings):
        self.settings = settings
        self.processes: list[subprocess.Popen] = []

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    def _spawn(self, name: str, command: list[str]) -> None:
        output = None
        if self.settings.log_dir:
            self.settings.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self.settings.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.processes.append(
            subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.settings.environment(), stdout=output,
                             stderr=subprocess.STDOUT if output else None, start_new_session=True)
        )

    def start(self, timeout: float = 300) -> "Stack":
        if not self.settings.model.exists():
            raise RuntimeError(f"no trained model at {self.settings.model}: run `make train`")
        s = self.settings
        self._spawn("actions", [sys.executable, "-m", "rasa_sdk", "--actions", "actions", "-p", str(s.action_port)])
        self._spawn("rasa", [
            sys.executable, "-m", "rasa", "run", "--enable-api", "--auth-token", s.token, "-p", str(s.rasa_port),
            "--model", str(s.model), "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
            "--cors", "*",
        ])
        self._wait_until_ready(timeout)
        return self

    def _wait_until_ready(self, timeout: float) -> None:
        probes = [
            f"http://127.0.0.1:{self.settings.action_port}/health",
            f"{self.rasa_url}/status?token={self.settings.token}",
        ]
        deadline = time.monotonic() + timeout
        for probe in probes:
            while True:
                for process in self.processes:
                    if process.poll() is not None:
                        self.stop()
                        raise RuntimeError(f"{process.args[2]} exited with {process.returncode} while starting")
                try:
                    with urllib.request.urlopen(probe, timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"{probe} did not answer within {timeout:.0f} s")
                time.sleep(0.5)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    # Ctrl-C and a plain `kill` both stop everything, even when started from a non-interactive shell.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    stack = Stack(StackSettings())
    print("starting the action server and the Rasa server (the model takes a little while to load)...")
    stack.start()
    print(f"ready: REST channel at {stack.rasa_url}/webhooks/rest/webhook; Ctrl-C stops everything")
    try:
        while all(process.poll() is None for process in stack.processes):
            time.sleep(1)
        print("a server exited; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping...")
        return 0
    finally:
        stack.stop()
