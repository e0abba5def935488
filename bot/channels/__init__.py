"""Rasa input channels: the web chat widget (socket.io), SMS (Twilio) and REST, each screening what arrives.

What the three share is here: one turn from screened text to an answer (`take_turn`), an output channel that
remembers the buttons it offers and whether it said anything (`Answering`), and who the client is.

Their database work runs in a worker thread (`asyncio.to_thread`): a commit waits for the disk, and meanwhile the
server goes on with other conversations' turns instead of standing still.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage

from bot.config import agency_phone
from bot.domain import sms as texting
from bot.domain.inbound import apology, loggable_conversation, screen
from bot.services import choices, handoffs
from bot.services.unit_of_work import SqlUnitOfWork

logger = logging.getLogger(__name__)


class Answering:
    """Mixed into a channel's output class (before Rasa's): records the payloads of the buttons it sends, so
    that the debtor's next message may use exactly those as commands, and counts what it sent in this turn."""

    sent = 0

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.sent += 1
        buttons = message.get("quick_replies") or message.get("buttons")
        if buttons:
            await asyncio.to_thread(_offer, recipient_id,
                                    [str(button.get("payload") or button.get("title")) for button in buttons])
        await super().send_response(recipient_id, message)  # type: ignore[misc]


def _offer(conversation_id: str, payloads: list[str]) -> None:
    with SqlUnitOfWork() as uow:
        choices.offer(uow, conversation_id, payloads)


def _take_offered(conversation_id: str) -> list[str]:
    with SqlUnitOfWork() as uow:
        return choices.take(uow, conversation_id)


def _handed_off(conversation_id: str) -> bool:
    with SqlUnitOfWork() as uow:
        return handoffs.is_open(uow, conversation_id)


def peer_client(request: Any) -> str:
    """The client as `metadata["client"]`: the peer address this server sees.

    A proxy's X-Forwarded-For is believed only when Sanic is told to trust it (SANIC_PROXIES_COUNT or
    SANIC_REAL_IP_HEADER), since anyone can send the header.
    """
    return f"ip:{getattr(request, 'remote_addr', '') or getattr(request, 'ip', '') or 'unknown'}"


async def take_turn(raw: object, conversation_id: str, output: Answering,
                    on_new_message: Callable[[UserMessage], Awaitable[Any]], *, input_channel: str,
                    metadata: dict[str, Any], say: Callable[[str], Awaitable[None]],
                    numbered_choices: bool = False) -> None:
    """Screen a debtor's message and pass it to the assistant; the debtor never meets silence.

    `say` sends one text straight to the debtor. When the message cannot be read it says why. When the
    assistant fails (Rasa logs and drops a failed action's events, so the debtor would get nothing), or
    the database does, or the turn sent nothing while no person has the conversation, it apologises and
    says how to reach a person. `numbered_choices`: a reply "2" stands for the second button offered (SMS).
    """
    shown = loggable_conversation(conversation_id)
    try:
        offered = await asyncio.to_thread(_take_offered, conversation_id)
        screened = screen(raw, offered)
        if screened.rejection:
            await say(screened.rejection)
            return
        text = screened.text
        if numbered_choices:
            text = texting.chosen_payload(text, offered) or text
        await on_new_message(UserMessage(text, output, conversation_id, input_channel=input_channel,
                                         metadata=metadata))
        if output.sent or await asyncio.to_thread(_handed_off, conversation_id):
            return
        logger.error("the turn in conversation %s sent nothing (a failed action?): apologising", shown)
    except Exception:  # the debtor gets an answer, the server stays up, the log has the cause
        logger.exception("a message in conversation %s failed: apologising", shown)
    try:
        await say(apology(agency_phone()))
    except Exception:
        logger.exception("the apology in conversation %s could not be sent", shown)
