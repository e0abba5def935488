"""Answers to a verified debtor about their account."""
from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.cases import hold_reply
from actions.common import today
from bot.domain.dates import format_date
from bot.domain.money import format_money
from bot.services import accounts, cases


def tell_balance(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    statement = accounts.disclose_statement(tracker.get_slot("account_ref"), tracker.sender_id)
    money = lambda amount: format_money(amount, statement.currency)  # noqa: E731
    original = statement.original_creditor
    dispatcher.utter_message(
        response="utter_balance",
        account_ref=statement.account_ref,
        balance=money(statement.balance),
        principal=money(statement.principal),
        interest=money(statement.interest),
        fees=money(statement.fees),
        paid_clause=f", less {money(statement.paid)} already paid" if statement.paid else "",
        creditor=statement.creditor_name,
        original_creditor_clause="" if original == statement.creditor_name else f" (originally {original})",
        placed_on=format_date(statement.placed_on),
    )
    hold = cases.hold_on(statement.account_ref)
    if hold:  # no payment options while collection is paused or stopped
        hold_reply(dispatcher, hold)
        return
    if statement.in_validation_period(today()):
        dispatcher.utter_message(response="utter_validation_period",
                                 validation_ends_on=format_date(statement.validation_ends_on))
    dispatcher.utter_message(response="utter_options")


class ActionAnswerAccountRequest(Action):
    def name(self) -> str:
        return "action_answer_account_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list:
        if not tracker.get_slot("verified"):  # the rules never get here unverified; this guards a wrong prediction
            dispatcher.utter_message(response="utter_need_verification")
            return []
        tell_balance(dispatcher, tracker)
        return []
