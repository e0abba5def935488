"""What `python -m bot.rasa_server` changes in Rasa's calls to the action server (issue 11, turn latency): one
connection for successive calls, and the same response check as Rasa's with the schema compiled once."""
from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_server import keep_alive_endpoint, validate_action_responses_with_one_validator
from bot.sms.standin import free_port


def test_successive_action_calls_share_one_connection_and_send_the_configured_header():
    async def scenario() -> tuple[list[tuple], list[str], list]:
        peers, headers = [], []

        async def webhook(request: web.Request) -> web.Response:
            peers.append(request.transport.get_extra_info("peername"))
            headers.append(request.headers.get("Authorization"))
            return web.json_response({"events": [], "echo": (await request.json())["n"]})

        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        endpoint = keep_alive_endpoint(EndpointConfig(url=f"http://127.0.0.1:{port}/webhook",
                                                      headers={"Authorization": "Bearer s3cret"}))
        try:
            answers = [await endpoint.request(json={"n": n}, method="post") for n in range(3)]
        finally:
            await endpoint.close()
            await runner.cleanup()
        return peers, headers, answers

    peers, headers, answers = asyncio.run(scenario())
    assert [answer["echo"] for answer in answers] == [0, 1, 2]
    assert headers == ["Bearer s3cret"] * 3
    assert len(set(peers)) == 1  # Rasa's own EndpointConfig opens a new connection for each call


def test_action_responses_are_checked_as_rasa_checks_them(monkeypatch):
    rasa_check = RemoteAction._validate_action_result
    monkeypatch.setattr(RemoteAction, "_validate_action_result", rasa_check)  # restored after the test
    action = RemoteAction("action_x", None)
    good = {"events": [{"event": "slot", "name": "account_ref", "value": "ACC-1001"}], "responses": [{"text": "hi"}]}
    bad = {"events": [{"event": "slot", "value": 1}], "responses": "not a list"}
    with pytest.raises(ValidationError) as rasas:
        rasa_check(action, dict(bad))

    validate_action_responses_with_one_validator()
    assert RemoteAction._validate_action_result is not rasa_check
    assert action._validate_action_result(good) is True
    with pytest.raises(ValidationError) as ours:
        action._validate_action_result(dict(bad))
    assert ours.value.message == rasas.value.message and ours.value.path == rasas.value.path
