"""Starts the action server, the Rasa server, the web page server and the agent console together; Ctrl-C stops them.

With no Twilio account configured (development), a local stand-in for Twilio's API takes the
assistant's outgoing texts, so SMS can be tried with `python -m bot sms` (see the README).

The servers listen on 127.0.0.1 (ACTION_HOST, RASA_HOST change it) and get their secrets in their
environment, never on their command line, where any local user could read them. With BOT_ENV=production
nothing starts while a secret is missing or a default (bot.config.production_problems), and the Twilio
stand-in never starts.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import (
    PROJECT_ROOT,
    ConfigError,
    EventBrokerSettings,
    database_url,
    event_broker_settings,
    is_production,
    rasa_api_headers,
    refuse_unsafe_production,
    secret,
)
from bot.sms.standin import StandIn

MODEL = PROJECT_ROOT / "models" / "collections.tar.gz"


@dataclass
class StackSettings:
    rasa_port: int = int(os.environ.get("RASA_PORT", "5005"))
    action_port: int = int(os.environ.get("ACTION_PORT", "5055"))
    web_port: int = int(os.environ.get("WEB_PORT", "8080"))
    console_port: int = int(os.environ.get("CONSOLE_PORT", "8081"))
    # The Rasa HTTP API's signing key and the action server's shared secret (bot.config.secret: the
    # environment, or in development this checkout's generated values).
    token: str = field(default_factory=lambda: secret("RASA_TOKEN"))
    action_token: str = field(default_factory=lambda: secret("ACTION_SERVER_TOKEN"))
    database_url: str = field(default_factory=database_url)
    model: Path = MODEL
    log_dir: Path | None = None  # None: children write to this terminal
    # Development and tests: a local stand-in for Twilio's API on this port takes the outgoing texts.
    twilio_standin_port: int | None = None

    def event_broker(self) -> EventBrokerSettings:
        """Where the Rasa server publishes every event and the console reads them: beside this stack's database
        (each test worker's own) unless EVENT_BROKER_URL or RABBITMQ_URL say otherwise."""
        return event_broker_settings(self.database_url)

    def environment(self) -> dict[str, str]:
        # endpoints.yml reads ACTION_PORT, ACTION_SERVER_TOKEN and DATABASE_URL (Rasa's tracker store shares our
        # database); bot.rasa_server and actions read their secrets here: the environment, not argv. The Rasa
        # server and the console both derive the event broker from DATABASE_URL (or EVENT_BROKER_URL, RABBITMQ_URL,
        # RABBITMQ_QUEUE, RABBITMQ_EXCHANGE, passed on as they are): bot.config.event_broker_settings.
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "ACTION_PORT": str(self.action_port),
            "RASA_URL": f"http://127.0.0.1:{self.rasa_port}",  # the console's way to Rasa's HTTP API
            "RASA_TOKEN": self.token,
            "ACTION_SERVER_TOKEN": self.action_token,
            "PYTHONPATH": str(PROJECT_ROOT),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            # The page's public address when configured (reminder links, the chat's allowed origin), else this one.
            "WEBCHAT_URL": os.environ.get("WEBCHAT_URL", "").strip() or f"http://127.0.0.1:{self.web_port}/",
        }


class Stack:
    """The server processes; usable as a context manager by tests and benchmarks."""

    def __init__(self, settings: StackSettings):
        self.settings = settings
        self.processes: dict[str, subprocess.Popen] = {}
        self.twilio: StandIn | None = None

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.rasa_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.web_port}"

    @property
    def console_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.console_port}"

    def _commands(self) -> dict[str, list[str]]:
        s = self.settings
        return {
            "actions": [sys.executable, "-m", "actions", "--port", str(s.action_port)],
            "rasa": [sys.executable, "-m", "bot.rasa_server", "--port", str(s.rasa_port), "--model", str(s.model),
                     "--endpoints", "endpoints.yml", "--credentials", "credentials.yml"],
            # The widget runs in the debtor's browser: it needs the Rasa server's public address.
            "web": [sys.executable, "-m", "bot.web", "--host", "127.0.0.1", "--port", str(s.web_port),
                    "--rasa-url", os.environ.get("RASA_PUBLIC_URL", "").strip() or self.rasa_url],
            "console": [sys.executable, "-m", "bot.console", "--host", "127.0.0.1", "--port", str(s.console_port)],
        }

    def api_headers(self) -> dict[str, str]:
        """The Authorization header for this stack's Rasa HTTP API (a fresh short-lived token)."""
        return rasa_api_headers(self.settings.token)

    def _probes(self) -> dict[str, urllib.request.Request]:
        return {
            "actions": urllib.request.Request(f"http://127.0.0.1:{self.settings.action_port}/health"),
            "rasa": urllib.request.Request(f"{self.rasa_url}/status", headers=self.api_headers()),
            "web": urllib.request.Request(f"{self.web_url}/healthz"),
            "console": urllib.request.Request(f"{self.console_url}/healthz"),
        }

    def _spawn(self, name: str) -> None:
        output = None
        if self.settings.log_dir:
            self.settings.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self.settings.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        environment = {**self.settings.environment(), **(self.twilio.environment() if self.twilio else {})}
        self.processes[name] = subprocess.Popen(
            self._commands()[name], cwd=PROJECT_ROOT, env=environment, stdout=output,
            stderr=subprocess.STDOUT if output else None, start_new_session=True,
        )

    def start(self, timeout: float = 300) -> Stack:
        if not self.settings.model.exists():
            raise RuntimeError(f"no trained model at {self.settings.model}: run `make train`")
        if self.settings.twilio_standin_port:
            if is_production():
                raise ConfigError("the Twilio stand-in never runs with BOT_ENV=production")
            self.twilio = StandIn(port=self.settings.twilio_standin_port).start()
        for name in self._commands():
            self._spawn(name)
        self._wait_until_ready(list(self.processes), timeout)
        return self

    def restart(self, name: str, timeout: float = 300) -> None:
        """Stop one server and start it again (tests: what survives a restart)."""
        self._stop(self.processes.pop(name))
        self._spawn(name)
        self._wait_until_ready([name], timeout)

    def _wait_until_ready(self, names: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for name in names:
            probe = self._probes()[name]
            while True:
                for process_name, process in self.processes.items():
                    if process.poll() is not None:
                        self.stop()
                        raise RuntimeError(f"the {process_name} server exited with {process.returncode} while starting")
                try:
                    with urllib.request.urlopen(probe, timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise TimeoutError(f"{probe.full_url} did not answer within {timeout:.0f} s")
                time.sleep(0.5)

    @staticmethod
    def _stop(process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            self._stop(process)
        self.processes.clear()
        if self.twilio:
            self.twilio.stop()
            self.twilio = None

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def main() -> int:
    """`python -m bot run`: start everything, wait until Ctrl-C or a server exits, stop everything; the exit status."""
    # Ctrl-C and a plain `kill` both stop everything, even when started from a non-interactive shell.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    refuse_unsafe_production()  # exit 2, naming each variable, before anything starts
    development = not is_production() and not os.environ.get("TWILIO_ACCOUNT_SID")
    stack = Stack(StackSettings(
        twilio_standin_port=int(os.environ.get("TWILIO_STANDIN_PORT", "5099")) if development else None))
    print("starting the action server, the Rasa server, the web page and the agent console (the model takes a"
          " little while to load)...")
    stack.start()
    print(f"ready: web chat at {stack.web_url}/ ; REST channel at {stack.rasa_url}/webhooks/rest/webhook")
    print(f"agent console at {stack.console_url}/ (add a login with `.venv/bin/python -m bot add-agent LOGIN"
          f" --role agent`); live events through {stack.settings.event_broker().shown()}")
    print(f"HTTP API (internal, token in a header): curl -H \"Authorization: Bearer $(.venv/bin/python -m bot"
          f" api-token)\" {stack.rasa_url}/status")
    if stack.twilio:
        print(f"SMS: no Twilio account configured, texts go to the stand-in at {stack.twilio.url};"
              " try it with `.venv/bin/python -m bot sms +15551230001`")
    print("Ctrl-C stops everything")
    try:
        while all(process.poll() is None for process in stack.processes.values()):
            time.sleep(1)
        print("a server exited; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("stopping...")
        return 0
    finally:
        stack.stop()
