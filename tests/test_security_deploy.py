"""Issue 10, deployment: the internal servers are internal, secrets stay out of URLs and process lists, and
production refuses to start unsafe (SPEC section 10). Each attack is made as the issue describes it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import jwt
import pytest
import requests

from bot.config import (DEVELOPMENT_SETTINGS, KNOWN_DEFAULTS, PROJECT_ROOT, SECRET_NAMES, ConfigError,
                        development_secret, production_problems, rasa_api_token)
from bot.launcher import Stack, StackSettings
from bot.sms.gateway import SmsConfigError, TwilioSettings
from bot.sms.standin import StandIn, free_port, inbound_sms, signed_headers
from tests.conftest import run_cli

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

@pytest.mark.stack
def test_the_action_server_refuses_a_caller_without_the_shared_secret(demo_stack, db):
    actions = f"http://127.0.0.1:{demo_stack.settings.action_port}"
    wrong = [{}, {"Authorization": "Bearer wrong"}, {"Authorization": demo_stack.settings.action_token},
             {"Authorization": f"Bearer {demo_stack.settings.token}"}, {"Authorization": f"Basic {OLD_API_TOKEN}"}]
    for headers in wrong:
        for attack in (BALANCE_ATTACK, agreement_attack()):
            response = requests.post(f"{actions}/webhook", json=attack, headers=headers, timeout=30)
            assert response.status_code in (401, 403), (headers, response.text)
            assert "1,234" not in response.text and "recorded" not in response.text
    # Nor as a query parameter (Rasa's `token:` would put it there): only the header counts.
    response = requests.post(f"{actions}/webhook", params={"token": demo_stack.settings.action_token},
                             json=BALANCE_ATTACK, timeout=30)
    assert response.status_code == 401 and "1,234" not in response.text
    assert requests.get(f"{actions}/actions", timeout=30).status_code == 401
    preflight = requests.options(f"{actions}/webhook", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}, timeout=30)
    assert preflight.status_code == 401 and WEB_ORIGIN_HEADER not in preflight.headers

    account = json.loads(run_cli("account", "ACC-1001", "--json", database=db).stdout)
    assert account["plans"] == account["settlements"] == account["promises"] == []
    audit = run_cli("audit", "ACC-1001", database=db).stdout
    assert "attacker" not in audit and "balance_disclosed" not in audit
    # The health probe stays open, and the right secret opens the rest.
    assert requests.get(f"{actions}/health", timeout=30).json() == {"status": "ok"}
    allowed = requests.get(f"{actions}/actions", timeout=30,
                           headers={"Authorization": f"Bearer {demo_stack.settings.action_token}"})
    assert allowed.status_code == 200 and WEB_ORIGIN_HEADER not in allowed.headers


@pytest.mark.stack
def test_through_rasa_the_actions_still_answer(demo_stack):
    sender, url = f"deploy-{uuid.uuid4().hex[:12]}", f"{demo_stack.rasa_url}/webhooks/rest/webhook"
    replies = []
    for message in ("hi", "ACC-1001", "12 March 1985", "how much do I owe?"):
        response = requests.post(url, json={"sender": sender, "message": message}, timeout=60)
        assert response.status_code == 200, response.text
        replies.append(" ".join(m.get("text", "") for m in response.json()))
    assert "$1,234.56" in replies[-1], replies


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


@pytest.mark.stack
def test_the_rasa_api_refuses_callers_without_a_bearer_token_and_any_token_in_a_url(stack):
    conversation = f"deploy-{uuid.uuid4().hex[:12]}"
    real = stack.settings.token
    valid_jwt = rasa_api_token(key=real)
    in_url = [{"token": OLD_API_TOKEN}, {"token": real}, {"token": valid_jwt}, {"access_token": valid_jwt}]
    expired = rasa_api_token(key=real, now=datetime.now(timezone.utc) - timedelta(hours=1))
    unsigned = jwt.encode({"user": {"username": "x", "role": "admin"}}, "", "none")
    forged = [  # (credentials, the refusal)
        ({}, {401}),
        ({"Authorization": f"Bearer {real}"}, {401}),  # the secret itself is a signing key, not a token
        ({"Authorization": f"Bearer {rasa_api_token(key='another-key-' + 'x' * 32)}"}, {401}),
        ({"Authorization": f"Bearer {expired}"}, {401}),
        ({"Authorization": f"Bearer {unsigned}"}, {401, 500}),  # sanic-jwt lets PyJWT's refusal escape as a 500
    ]
    for method, path, body in api_calls(conversation):
        for params in in_url:
            response = requests.request(method, f"{stack.rasa_url}{path}", params=params, json=body, timeout=30)
            assert response.status_code == 401, (method, path, params, response.text)
        for headers, refusal in forged:
            response = requests.request(method, f"{stack.rasa_url}{path}", headers=headers, json=body, timeout=30)
            assert response.status_code in refusal, (method, path, headers, response.text)
    # A user-role token speaks only for its own conversation.
    user = jwt.encode({"user": {"username": "someone-else", "role": "user"}}, real, algorithm="HS256")
    response = requests.get(f"{stack.rasa_url}/conversations/{conversation}/tracker",
                            headers={"Authorization": f"Bearer {user}"}, timeout=30)
    assert response.status_code == 403
    # Nothing was written, and the model is still loaded.
    tracker = requests.get(f"{stack.rasa_url}/conversations/{conversation}/tracker", headers=stack.api_headers(),
                           timeout=30).json()
    assert tracker["slots"].get("verified") is not True and not tracker["slots"].get("account_ref")
    assert requests.get(f"{stack.rasa_url}/status", headers=stack.api_headers(), timeout=30).status_code == 200


@pytest.mark.stack
def test_the_rasa_api_answers_a_bearer_token_from_the_helper_and_the_command(stack):
    conversation = f"deploy-{uuid.uuid4().hex[:12]}"
    parsed = requests.post(f"{stack.rasa_url}/model/parse", headers=stack.api_headers(), json={"text": "hi"},
                           timeout=30)
    assert parsed.status_code == 200 and parsed.json()["intent"]["name"] == "greet"
    appended = requests.post(f"{stack.rasa_url}/conversations/{conversation}/tracker/events",
                             headers=stack.api_headers(), json=[{"event": "slot", "name": "case_details",
                                                                 "value": "noted by an agent"}], timeout=30)
    assert appended.status_code == 200, appended.text
    # `python -m bot api-token` for curl, signed with the RASA_TOKEN of its environment.
    minted = subprocess.run([sys.executable, "-m", "bot", "api-token"], cwd=PROJECT_ROOT, capture_output=True,
                            text=True, timeout=120, env={**os.environ, "RASA_TOKEN": stack.settings.token,
                                                         "PYTHONPATH": str(PROJECT_ROOT)})
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    status = requests.get(f"{stack.rasa_url}/status", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert status.status_code == 200 and "model_id" in status.json()


@pytest.mark.stack
def test_no_web_page_may_call_the_api_from_a_browser(stack):
    for origin in ("http://evil.example", stack.web_url):
        for path, method in (("/model/parse", "POST"), ("/conversations/x/tracker/events", "POST"),
                             ("/conversations/x/tracker", "GET"), ("/model", "DELETE"), ("/status", "GET")):
            preflight = requests.options(f"{stack.rasa_url}{path}", timeout=30, headers={
                "Origin": origin, "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization,content-type"})
            assert WEB_ORIGIN_HEADER not in preflight.headers, (origin, path, dict(preflight.headers))
        simple = requests.get(f"{stack.rasa_url}/status", headers={"Origin": origin, **stack.api_headers()},
                              timeout=30)
        assert WEB_ORIGIN_HEADER not in simple.headers and "Access-Control-Allow-Credentials" not in simple.headers


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


@pytest.mark.stack
def test_no_secret_shows_in_the_servers_command_lines(stack):
    roots = {name: process.pid for name, process in stack.processes.items()} | {"twilio stand-in": stack.twilio.pid}
    assert {"rasa", "actions"} <= set(roots)
    for name, root in roots.items():
        for pid in _process_tree(root):
            command_line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            for secret_name, value in secrets_of(stack).items():
                assert value not in command_line, f"{secret_name} in the {name} server's command line: {command_line}"
            assert "token" not in command_line.lower(), command_line


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


@pytest.mark.stack
def test_the_servers_listen_on_loopback_only(stack):
    loopback = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}
    for name, port in (("rasa", stack.settings.rasa_port), ("actions", stack.settings.action_port),
                       ("web", stack.settings.web_port), ("twilio stand-in", stack.twilio.port)):
        addresses = _listening_addresses(port)
        assert addresses and addresses <= loopback, f"the {name} server listens on {addresses}"


# ---- the SMS webhook's development token ---------------------------------------------------------------------

@pytest.mark.stack
def test_the_published_development_twilio_token_signs_nothing(demo_stack):
    demo_stack.twilio.clear()
    webhook = f"{demo_stack.rasa_url}/webhooks/twilio/webhook"
    forged = TwilioSettings(DEVELOPMENT_SETTINGS["TWILIO_ACCOUNT_SID"], OLD_TWILIO_TOKEN,
                            DEVELOPMENT_SETTINGS["TWILIO_FROM_NUMBER"])
    params = inbound_sms(forged, "+15551230001", "START")  # reverse Jordan's opt-out, as anyone could
    response = requests.post(webhook, data=params, headers=signed_headers(forged, webhook, params), timeout=60)
    assert response.status_code == 403
    assert demo_stack.twilio.messages("+15551230001") == []
    assert demo_stack.twilio.settings.auth_token not in KNOWN_DEFAULTS


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
    issued = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)
    token = rasa_api_token(10, key="k" * 32, now=issued)
    payload = jwt.decode(token, "k" * 32, algorithms=["HS256"], options={"verify_exp": False})
    assert payload == {"user": {"username": "operator", "role": "admin"},
                       "exp": int((issued + timedelta(minutes=10)).timestamp())}
