"""The security deploy tests that need the real servers (the rest: tests/integration/test_security_deploy.py)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import requests

from bot.config import (
    DEVELOPMENT_SETTINGS,
    KNOWN_DEFAULTS,
    PROJECT_ROOT,
    rasa_api_token,
)
from bot.sms.gateway import TwilioSettings
from bot.sms.standin import inbound_sms, signed_headers
from tests.integration.test_security_deploy import (  # noqa: F401 - helpers, and fixtures used by name
    BALANCE_ATTACK,
    OLD_API_TOKEN,
    OLD_TWILIO_TOKEN,
    WEB_ORIGIN_HEADER,
    _listening_addresses,
    _process_tree,
    agreement_attack,
    api_calls,
    secrets_of,
)
from tests.support.database import run_cli


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


@pytest.mark.stack
def test_the_rasa_api_refuses_callers_without_a_bearer_token_and_any_token_in_a_url(stack):
    conversation = f"deploy-{uuid.uuid4().hex[:12]}"
    real = stack.settings.token
    valid_jwt = rasa_api_token(key=real)
    in_url = [{"token": OLD_API_TOKEN}, {"token": real}, {"token": valid_jwt}, {"access_token": valid_jwt}]
    expired = rasa_api_token(key=real, now=datetime.now(UTC) - timedelta(hours=1))
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


@pytest.mark.stack
def test_the_servers_listen_on_loopback_only(stack):
    loopback = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}
    for name, port in (("rasa", stack.settings.rasa_port), ("actions", stack.settings.action_port),
                       ("web", stack.settings.web_port), ("console", stack.settings.console_port),
                       ("twilio stand-in", stack.twilio.port)):
        addresses = _listening_addresses(port)
        assert addresses and addresses <= loopback, f"the {name} server listens on {addresses}"


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
