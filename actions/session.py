from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ConversationPaused, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.config import agency_name, agency_phone
from bot.domain.inbound import linked_metadata
from bot.services import handoffs, identity, sms
from bot.services.unit_of_work import SqlUnitOfWork


class ActionSessionStart(Action):
    """A new session starts unverified (nothing carries over), knows whom it speaks for and how the person
    can be verified (a texter by their number on file), and stays paused while a person has the conversation."""

    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        events = [SessionStarted(), SlotSet("agency_name", agency_name()), SlotSet("agency_phone", agency_phone())]
        with SqlUnitOfWork() as uow:  # one read-only transaction for what the session starts from
            phone = sms.phone_of(uow, tracker.sender_id)
            if phone is not None:
                events.append(SlotSet("identified_by_phone", identity.phone_identifies(uow, phone)))
            elif reference := _linked_reference(tracker):
                events.append(SlotSet("account_ref", reference))
            if handoffs.is_open(uow, tracker.sender_id):  # a new session must not wake the bot while a person has it
                events.append(ConversationPaused())
        return events + [ActionExecuted("action_listen")]


def _linked_reference(tracker: Tracker) -> str | None:
    """The account reference of the reminder link the web chat was opened from.

    It only saves typing: the date of birth must still match it.
    """
    return linked_metadata(tracker.get_slot("session_started_metadata")).get("account_ref")
