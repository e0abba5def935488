from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.config import agency_name, agency_phone


class ActionSessionStart(Action):
    """A new session starts unverified (nothing carries over) and knows whom it speaks for."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        return [
            SessionStarted(),
            SlotSet("agency_name", agency_name()),
            SlotSet("agency_phone", agency_phone()),
            ActionExecuted("action_listen"),
        ]
