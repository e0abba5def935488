"""Answers to a verified debtor about their account."""
from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.cases import hold_reply
from actions.common import Events, new_unit_of_work
from bot.presenters import en
from bot.services import negotiation


def tell_balance(dispatcher: CollectingDispatcher, tracker: Tracker) -> Events:
    """The statement, then what the debtor can do about it (nothing to pay while collection is on hold)."""
    answer = negotiation.disclose_balance(new_unit_of_work(), tracker.get_slot("account_ref"), tracker.sender_id)
    if answer.news:
        news = en.message_for_news(answer.news)
        dispatcher.utter_message(response=news.response, **news.values)
    balance = en.message_for_balance(answer.statement)
    dispatcher.utter_message(response=balance.response, **balance.values)
    if answer.hold:  # no payment options while collection is paused or stopped
        return hold_reply(dispatcher, tracker, answer.hold)
    if answer.in_validation_period:
        period = en.message_for_validation_period(answer.statement)
        dispatcher.utter_message(response=period.response, **period.values)
    dispatcher.utter_message(response="utter_options")
    return []


class ActionAnswerAccountRequest(Action):
    def name(self) -> str:
        return "action_answer_account_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> Events:
        if not tracker.get_slot("verified"):  # the rules never get here unverified; this guards a wrong prediction
            dispatcher.utter_message(response="utter_need_verification")
            return []
        return tell_balance(dispatcher, tracker)
