"""What survives a restart of the servers: every channel's conversation, and a webhook Twilio retries.

One restart serves all three checks: loading the model is most of a server's start (tens of seconds on
2 cores), so the suite restarts once, not once per channel.
"""
from __future__ import annotations

from bot.sms.standin import inbound_sms
from tests.stack.test_conversations import Chat
from tests.stack.test_security_channels import JORDAN, Phone, stored_user_metadata
from tests.stack.test_webchat_channel import run, verified_socket
from tests.support.socketio_wire import WireSocket, texts


def test_no_conversation_and_no_retried_webhook_is_lost_across_a_restart(demo_stack):
    # Before: a verified REST conversation, a verified web chat, a text Twilio will deliver again.
    chat = Chat(demo_stack)
    chat.say("hi")
    chat.say("ACC-1002")
    assert "debt collector" in chat.say("11/30/1979")

    async def web_before() -> tuple[str, str]:
        socket, conversation = await verified_socket(demo_stack.rasa_url)
        await socket.close()
        return conversation, socket.proof

    conversation, proof = run(web_before())
    demo_stack.twilio.clear()
    phone = Phone(demo_stack, JORDAN)
    params = inbound_sms(demo_stack.twilio.settings, JORDAN, "hi")
    phone.post(params)
    texted = len(demo_stack.twilio.messages(JORDAN))
    assert texted > 0

    demo_stack.restart("actions")  # the Twilio stand-in stays up: it counts what was texted
    demo_stack.restart("rasa")

    # REST: still verified, nothing asked again.
    reply = chat.say("what's my balance")
    assert "$455.00" in reply and "Acme Telecom Ltd" in reply

    # Web chat: the page rejoins its conversation with its proof, still verified.
    async def web_after() -> None:
        socket = await WireSocket.open(demo_stack.rasa_url)
        assert await socket.join(conversation, proof) == conversation
        assert "$1,234.56" in texts(await socket.say("what do I owe?", conversation))
        await socket.close()

    run(web_after())

    # SMS: Twilio retries the same MessageSid; it is handled once, across the restart.
    phone.post(params)
    assert len(demo_stack.twilio.messages(JORDAN)) == texted
    assert len(stored_user_metadata(phone.conversation())) == 1
