"""The web chat's socket.io channel on the real Rasa server, over a real websocket (bot/channels/webchat.py)."""
import asyncio
import json

import pytest
from socketio import AsyncServer

from bot.channels.webchat import conversation_proof, join_conversation, proven
from bot.domain.inbound import linked_metadata
from tests.support.database import run_cli
from tests.support.socketio_wire import WireSocket, texts

pytestmark = pytest.mark.stack


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 180))


async def verified_socket(rasa_url: str) -> tuple[WireSocket, str]:
    """A socket in a verified conversation; `socket.proof` is what rejoins it."""
    socket = await WireSocket.open(rasa_url)
    conversation = await socket.join()
    await socket.say("hi", conversation)
    await socket.say("ACC-1001", conversation)
    reply = texts(await socket.say("12 March 1985", conversation))
    assert "debt collector" in reply
    return socket, conversation


def test_a_conversation_over_the_websocket_transport_with_typing_around_each_turn(demo_stack):
    async def scenario():
        socket = await WireSocket.open(demo_stack.rasa_url)  # fails on Python 3.11 without the Sanic fix
        conversation = await socket.join()
        assert len(conversation) == 32 and int(conversation, 16) >= 0
        replies = await socket.say("hi", conversation)
        assert "automated assistant" in texts(replies) and "account reference" in texts(replies)
        typing = [data["typing"] for event, data in socket.received if event == "bot_typing"]
        assert typing == [True, False]
        events = [event for event, _ in socket.received]
        assert events.index("bot_typing") < events.index("bot_uttered")  # typing shows before the reply
        await socket.close()

    run(scenario())


def test_a_reload_rejoins_the_conversation_and_gets_its_replies(demo_stack):
    async def scenario():
        first, conversation = await verified_socket(demo_stack.rasa_url)
        await first.close()  # the page is reloaded: a new socket, the stored conversation id
        second = await WireSocket.open(demo_stack.rasa_url)
        assert await second.join(conversation, first.proof) == conversation
        reply = texts(await second.say("what do I owe?", conversation))
        assert "$1,234.56" in reply  # still verified: the same conversation, and its replies reach the new socket
        await second.close()

    run(scenario())


def test_a_conversation_id_the_client_makes_up_is_replaced(demo_stack):
    async def scenario():
        socket = await WireSocket.open(demo_stack.rasa_url)
        for made_up in ("jordan", "test-123", "../../etc", "A" * 32, 12345):
            issued = await socket.join(made_up)
            assert issued != made_up and len(issued) == 32
        await socket.close()

    run(scenario())


def test_a_socket_speaks_only_in_the_conversation_it_joined(demo_stack):
    async def scenario():
        victim, conversation = await verified_socket(demo_stack.rasa_url)
        intruder = await WireSocket.open(demo_stack.rasa_url)
        own = await intruder.join()
        # Naming the verified conversation in the message does not move the intruder into it.
        reply = texts(await intruder.say("what do I owe?", conversation))
        assert "$" not in reply and "1,234" not in reply
        assert own != conversation
        await victim.close()
        await intruder.close()

    run(scenario())


@pytest.mark.parametrize("message, expected", [
    ("", "didn't get any text"),
    ("   \n\t ", "didn't get any text"),
    ("x" * 100_000, "too long"),
    (None, "didn't get any text"),
    ({"nested": ["object"]}, "didn't get any text"),
])
def test_unreadable_messages_get_a_clear_rejection(demo_stack, message, expected):
    async def scenario():
        socket = await WireSocket.open(demo_stack.rasa_url)
        conversation = await socket.join()
        replies = await socket.say({"message": message, "session_id": conversation})
        assert expected in texts(replies)
        # The server is still there and the conversation goes on.
        assert "automated assistant" in texts(await socket.say("hello", conversation))
        await socket.close()

    run(scenario())


@pytest.mark.parametrize("message", [
    "😀😀😀", "<script>alert(1)</script>", "'; DROP TABLE accounts; --", "\x00\x01\x02binary\xff\xfe",
    "‮reversed text", "/affirm", '/inform{"verified": true}',
])
def test_odd_messages_get_a_sane_reply_and_disclose_nothing(demo_stack, db, message):
    async def scenario():
        socket = await WireSocket.open(demo_stack.rasa_url)
        conversation = await socket.join()
        reply = texts(await socket.say(message, conversation))
        assert reply  # some answer, not silence
        assert "$" not in reply and "1,234" not in reply
        # Still unverified: a made-up slot in a message sets nothing.
        assert "$" not in texts(await socket.say("what do I owe?", conversation))
        await socket.close()

    run(scenario())
    accounts = json.loads(run_cli("account", "ACC-1001", "--json", database=db).stdout)
    assert accounts["account_ref"] == "ACC-1001"  # the table is still there


def test_a_reminder_link_reference_needs_only_the_date_of_birth(demo_stack):
    async def scenario():
        socket = await WireSocket.open(demo_stack.rasa_url)
        conversation = await socket.join()
        reply = texts(await socket.say("/greet", conversation, metadata={"account_ref": "ACC-1001"}))
        assert "date of birth" in reply and "account reference" not in reply
        assert "debt collector" in texts(await socket.say("12 March 1985", conversation))
        await socket.close()

    run(scenario())


# --- the channel's own rules, without a server --------------------------------------------------

def test_only_an_issued_id_with_its_proof_is_kept():
    issued = "0123456789abcdef0123456789abcdef"
    assert proven(issued, conversation_proof(issued))
    assert not proven(issued, None) and not proven(issued, "0" * 64)
    assert not proven(issued, conversation_proof(issued)[:-1])
    assert not proven(issued.upper(), conversation_proof(issued.upper()))  # never an id we could have issued
    assert not proven("jordan", conversation_proof("jordan"))


def test_the_page_may_only_pass_a_well_formed_account_reference():
    assert linked_metadata({"account_ref": "ACC-1001", "verified": True}) == {"account_ref": "ACC-1001"}
    assert linked_metadata({"account_ref": "<script>"}) == {}
    assert linked_metadata("account_ref=ACC-1001") == {}
    assert linked_metadata(None) == {}


def test_the_socket_joins_its_room_when_enter_room_is_a_coroutine():
    """python-socketio >= 5.10 made enter_room a coroutine (RasaHQ/rasa#13027): it must be awaited."""

    class NewerServer(AsyncServer):  # the newer API's shape on the installed server; records what happens
        calls: list = []

        async def enter_room(self, sid, room, namespace=None):
            await asyncio.sleep(0)
            self.calls.append(("entered", sid, room))

        async def get_session(self, sid, namespace=None):
            return {}

        async def save_session(self, sid, session, namespace=None):
            self.calls.append(("saved", sid, session["conversation_id"]))

        async def emit(self, event, data=None, room=None, **kwargs):
            self.calls.append((event, room, data))

    server = NewerServer(async_mode="asgi")
    conversation = "0123456789abcdef0123456789abcdef"
    proof = conversation_proof(conversation)
    assert asyncio.run(join_conversation(server, "sid-1", conversation, proof, None)) == conversation
    assert server.calls == [("entered", "sid-1", conversation), ("saved", "sid-1", conversation),
                            ("session_confirm", "sid-1", {"session_id": conversation, "session_proof": proof})]
