"""Issue 10, deployment: the internal servers are internal, secrets stay out of URLs and process lists, and
production refuses to start unsafe (SPEC section 10). Each attack is made as the issue describes it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from bot.config import (
    DEVELOPMENT_SETTINGS,
    KNOWN_DEFAULTS,
    PROJECT_ROOT,
    SECRET_NAMES,
    ConfigError,
    development_secret,
    production_problems,
    rasa_api_token,
)
from bot.launcher import Stack, StackSettings
from bot.sms.gateway import SmsConfigError, TwilioSettings
from bot.sms.standin import StandIn, free_port
from tests.support.database import run_cli

BALANCE_ATTACK = {"next_action": "action_answer_account_request", "sender_id": "attacker",
                  "tracker": {"sender_id": "attacker", "slots": {"verified": True, "account_ref": "ACC-1001"}}}
OLD_API_TOKEN = "dev-token-change-me"  # the README's published token
OLD_TWILIO_TOKEN = "dev-twilio-auth-token"  # the gateway's published development token
WEB_ORIGIN_HEADER = "Access-Control-Allow-Origin"


def agreement_attack() -> dict:
    """A crafted tracker with terms 'already stated' and a yes: ActionConfirmTerms would record them."""
    terms = {"kind": "promise", "amount": "1234.56", "pay_on": (date.today() + timedelta(days=5)).isoformat()}
    return {"next_action": "action_confirm_terms", "sender_id": "attacker",
            "tracker": {"sender_id": "attacker", "latest_message": {"intent": {"name": "affirm"}, "text": "yes"},
                        "slots": {"verified": True, "account_ref": "ACC-1001", "pending_terms": json.dumps(terms)}}}


def secrets_of(stack: Stack) -> dict[str, str]:
    return {"RASA_TOKEN": stack.settings.token, "ACTION_SERVER_TOKEN": stack.settings.action_token,
            "TWILIO_AUTH_TOKEN": stack.twilio.settings.auth_token}


# ---- the action server ---------------------------------------------------------------------------------------





# ---- the Rasa HTTP API ---------------------------------------------------------------------------------------

def api_calls(conversation: str) -> list[tuple[str, str, dict | list | None]]:
    return [
        ("GET", f"/conversations/{conversation}/tracker", None),
        ("POST", f"/conversations/{conversation}/tracker/events",
         [{"event": "slot", "name": "verified", "value": True},
          {"event": "slot", "name": "account_ref", "value": "ACC-1001"}]),
        ("DELETE", "/model", None),
        ("POST", "/model/parse", {"text": "hi"}),
        ("GET", "/status", None),
    ]








# ---- process lists and interfaces ----------------------------------------------------------------------------

def _process_tree(root: int) -> list[int]:
    """The process and its descendants (Sanic may fork workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree




def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port`, from /proc/net/tcp{,6} (no connection made)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found




# ---- the SMS webhook's development token ---------------------------------------------------------------------



def test_development_twilio_credentials_are_this_checkouts_secret():
    settings = TwilioSettings.from_env({})
    assert settings.auth_token == development_secret("TWILIO_AUTH_TOKEN")
    assert settings.auth_token not in KNOWN_DEFAULTS and len(settings.auth_token) >= 32
    import bot.sms.gateway as gateway

    assert not hasattr(gateway, "DEV_AUTH_TOKEN")


# ---- production refuses to start unsafe ----------------------------------------------------------------------

def production_environment(**settings: str) -> dict[str, str]:
    """This environment without any secret or Twilio setting, in production mode, plus `settings`."""
    dropped = set(SECRET_NAMES) | set(DEVELOPMENT_SETTINGS) | {"TWILIO_API_BASE_URL"}
    environment = {k: v for k, v in os.environ.items() if k not in dropped}
    return {**environment, "BOT_ENV": "production", "PYTHONPATH": str(PROJECT_ROOT), **settings}


def good_production_settings() -> dict[str, str]:
    values = {name: f"{name.lower()}-{uuid.uuid4().hex}" for name in SECRET_NAMES}
    return {**values, "TWILIO_ACCOUNT_SID": "AC" + "12" * 16, "TWILIO_FROM_NUMBER": "+15557654321"}


@pytest.fixture
def scratch_database(tmp_path) -> str:
    """A migrated scratch database: `python -m bot run` checks the database before anything else."""
    url = f"sqlite:///{tmp_path / 'scratch.db'}"
    run_cli("migrate", database=url)
    return url


def run_refused(args: list[str], environment: dict[str, str], database: str) -> subprocess.CompletedProcess:
    """Run a command that must refuse: free ports and a scratch database, in case it did start (it would then
    time out and fail, rather than serve)."""
    environment = {"RASA_PORT": str(free_port()), "ACTION_PORT": str(free_port()), "WEB_PORT": str(free_port()),
                   "TWILIO_STANDIN_PORT": str(free_port()), "DATABASE_URL": database, **environment}
    return subprocess.run([sys.executable, *args], cwd=PROJECT_ROOT, env=environment, capture_output=True,
                          text=True, timeout=90)


def test_production_run_refuses_naming_every_missing_setting(scratch_database):
    result = run_refused(["-m", "bot", "run"], production_environment(), scratch_database)
    assert result.returncode == 2, result.stderr
    for name in (*SECRET_NAMES, "TWILIO_ACCOUNT_SID", "TWILIO_FROM_NUMBER"):
        assert f"{name} is not set" in result.stderr, result.stderr
    assert "starting" not in result.stdout


def test_production_run_refuses_a_default_or_development_value(scratch_database):
    settings = good_production_settings() | {"RASA_TOKEN": OLD_API_TOKEN, "TWILIO_AUTH_TOKEN": "short",
                                             "TWILIO_ACCOUNT_SID": DEVELOPMENT_SETTINGS["TWILIO_ACCOUNT_SID"]}
    result = run_refused(["-m", "bot", "run"], production_environment(**settings), scratch_database)
    assert result.returncode == 2, result.stderr
    offending = {line.split()[0] for line in result.stderr.splitlines()[1:]}
    assert offending == {"RASA_TOKEN", "TWILIO_AUTH_TOKEN", "TWILIO_ACCOUNT_SID"}, result.stderr


@pytest.mark.parametrize("args, needed", [
    (["-m", "actions"], "ACTION_SERVER_TOKEN"),
    (["-m", "bot.rasa_server"], "RASA_TOKEN"),
])
def test_each_server_refuses_production_without_its_secret(scratch_database, args, needed):
    result = run_refused(args, production_environment(), scratch_database)
    assert result.returncode == 2 and f"{needed} is not set" in result.stderr, result.stderr
    result = run_refused(args, production_environment(**(good_production_settings() | {needed: "changeme"})),
                         scratch_database)
    assert result.returncode == 2 and f"{needed} is a default" in result.stderr, result.stderr


@pytest.mark.parametrize("args", [["-m", "bot.sms.standin"], ["-m", "bot", "sms", "+15551230001"]])
def test_the_twilio_stand_in_and_the_phone_simulator_never_run_in_production(scratch_database, args):
    result = run_refused(args, production_environment(**good_production_settings()), scratch_database)
    assert result.returncode == 2 and "production" in result.stderr, result.stderr


def test_in_production_nothing_falls_back_to_development_values(monkeypatch):
    for name in (*SECRET_NAMES, *DEVELOPMENT_SETTINGS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BOT_ENV", "production")
    with pytest.raises(ConfigError):
        development_secret("TWILIO_AUTH_TOKEN")
    with pytest.raises(SmsConfigError, match="production"):
        TwilioSettings.from_env()
    with pytest.raises(ConfigError, match="stand-in"):
        StandIn()
    with pytest.raises(ConfigError, match="stand-in"):
        Stack(StackSettings(token="k" * 32, action_token="a" * 32, twilio_standin_port=free_port())).start()
    for name, value in good_production_settings().items():
        monkeypatch.setenv(name, value)
    assert production_problems() == []


def test_the_api_token_is_a_short_lived_admin_jwt():
    issued = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    token = rasa_api_token(10, key="k" * 32, now=issued)
    payload = jwt.decode(token, "k" * 32, algorithms=["HS256"], options={"verify_exp": False})
    assert payload == {"user": {"username": "operator", "role": "admin"},
                       "exp": int((issued + timedelta(minutes=10)).timestamp())}
