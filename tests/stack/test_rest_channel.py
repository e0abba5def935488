"""The REST channel refuses what it cannot read, clearly, and keeps going (bot/channels/rest.py)."""
import random
import uuid

import pytest
import requests

pytestmark = pytest.mark.stack


def post(stack, **kwargs) -> requests.Response:
    return requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", timeout=60, **kwargs)


def reply_text(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    return "\n".join(m.get("text", "") for m in response.json())


# Random bytes from a fixed seed: every xdist worker must collect the same parameters.
@pytest.mark.parametrize("body", [b"not json", b"\xff\xfe\x00binary", random.Random(2048).randbytes(2048), b"[1, 2]",
                                  b'"text"', b""], ids=["text", "binary", "random", "array", "string", "empty"])
def test_a_body_that_is_not_a_json_object_is_a_400_saying_what_is_expected(demo_stack, body):
    response = post(demo_stack, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "JSON object" in response.json()["error"] and "sender" in response.json()["expected"]


@pytest.mark.parametrize("sender", [None, "", "   ", 42, "x" * 129])
def test_a_sender_is_required_so_strangers_never_share_a_conversation(demo_stack, sender):
    payload = {"message": "what do I owe?"} if sender is None else {"sender": sender, "message": "hi"}
    response = post(demo_stack, json=payload)
    assert response.status_code == 400 and "sender" in response.json()["error"]


@pytest.mark.parametrize("message, expected", [
    ("", "didn't get any text"), (None, "didn't get any text"), (["a", "list"], "didn't get any text"),
    ("\x00\x00", "didn't get any text"), ("x" * 100_000, "too long"),
])
def test_unreadable_messages_get_a_clear_rejection(demo_stack, message, expected):
    sender = uuid.uuid4().hex
    assert expected in reply_text(post(demo_stack, json={"sender": sender, "message": message}))
    assert "automated assistant" in reply_text(post(demo_stack, json={"sender": sender, "message": "hi"}))


def test_the_caller_cannot_choose_the_input_channel_or_slip_in_metadata(demo_stack):
    sender = uuid.uuid4().hex
    response = post(demo_stack, json={"sender": sender, "message": "hi", "input_channel": "twilio",
                                      "metadata": {"verified": True, "account_ref": "ACC-1001"}})
    assert "automated assistant" in reply_text(response)
    # The REST sender's conversation is in the channel's own namespace (bot/channels/rest.py).
    tracker = requests.get(f"{demo_stack.rasa_url}/conversations/rest:{sender}/tracker",
                           headers=demo_stack.api_headers(), timeout=30).json()
    user = [e for e in tracker["events"] if e["event"] == "user"][0]
    assert user["input_channel"] == "rest"
    assert user["metadata"]["account_ref"] == "ACC-1001" and "verified" not in user["metadata"]
    assert tracker["slots"]["verified"] is not True
