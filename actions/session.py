from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.config import agency_name, agency_phone
from bot.services import handoffs


class ActionSessionStart(Action):
    """A new session starts unverified (nothing carries over), knows whom it speaks for, and stays paused
    while a person has the conversation."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        events = [SessionStarted(), SlotSet("agency_name", agency_name()), SlotSet("agency_phone", agency_phone())]
        if handoffs.is_open(tracker.sender_id):  # a new session must not wake the bot while a person has it
            events.append(ConversationPaused())
        return events + [ActionExecuted("action_listen")]
