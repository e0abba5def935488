"""The daily run's messages: thanks, a reminder for a late instalment, one before each due date.

Each goes through the one outbound check (`contact.outbound_verdict`, SMS) and says nothing of a debt (an SMS
anyone holding the phone may read: the reminders' limited-content wording, `reminders.text_problem` checks it). A
message is recorded by its key once sent, or once refused for good (opted out, collection stopped), so it goes at
most once; refused for the hour, it is left for the next run, which sends it inside the window.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.config import agency_name, agency_phone
from bot.domain.payments import FollowUp
from bot.services import accounts, audit
from bot.services.contact import outbound_verdict
from bot.services.reminders import OPT_OUT, chat_link, first_name, text_problem
from bot.services.unit_of_work import SqlUnitOfWork
from bot.sms.gateway import SmsSendError
from bot.storage.orm import Account, Notification

ACTOR = "daily"
_DEFERRED_RULES = frozenset({"outside_hours"})  # what the next run may find otherwise


def follow_up_text(kind: str, name: str, account_ref: str, opt_out_notice: bool) -> str:
    """The words of a follow-up: who we are and how to reach us, and for thanks a thank-you; nothing of a debt."""
    greeting = f"Hi {name}, this is" if name else "Hello, this is"
    reach = f"chat at {chat_link(account_ref)} or call {agency_phone()}"
    text = {
        "thanks": f"{greeting} {agency_name()}. Thank you, everything is in order. Questions? {reach}.",
        "missed": f"{greeting} {agency_name()}. Please get in touch with us today: {reach}.",
        "upcoming": f"{greeting} {agency_name()}. A friendly reminder of the date we agreed. Questions? {reach}.",
    }[kind]
    return f"{text} {OPT_OUT}" if opt_out_notice else text


@dataclass(frozen=True)
class Sent:
    account_ref: str
    key: str
    outcome: str  # sent | withheld | deferred | failed
    detail: str


def send(report: Any, gateway: Any, units: Callable[[], SqlUnitOfWork],
         progress: Callable[[str], None] | None = None) -> list[Sent]:
    """Send the run's follow-ups not sent before; each recorded in a transaction of its own."""
    results: list[Sent] = []
    for account_id, follow_up in report.follow_ups:
        results.append(_one(account_id, follow_up, gateway, units))
    if progress and results:
        progress(f"{sum(r.outcome == 'sent' for r in results)} follow-up message(s) sent of {len(results)} due")
    return results


def _one(account_id: int, follow_up: FollowUp, gateway: Any, units: Callable[[], SqlUnitOfWork]) -> Sent:
    with units() as uow:
        session, now = uow.session, uow.now()
        if session.scalar(select(Notification.id).where(Notification.key == follow_up.key)) is not None:
            return Sent("", follow_up.key, "already", "sent before")
        account = session.get(Account, account_id)
        assert account is not None  # the run read it
        service = follow_up.kind == "thanks"
        verdicts = [(phone, outbound_verdict(session, account, "sms", phone, now, service=service))
                    for phone in accounts.phones_of(account)]
        allowed = [(phone, verdict) for phone, verdict in verdicts if verdict.allowed]
        if not allowed:
            why = "; ".join(v.reason for _p, v in verdicts) or "no phone number on file"
            if verdicts and all(v.rule in _DEFERRED_RULES for _p, v in verdicts):
                return Sent(account.account_ref, follow_up.key, "deferred", why)
            _record(session, account, follow_up, "withheld", why, now)
            return Sent(account.account_ref, follow_up.key, "withheld", why)
        phone, verdict = allowed[0]
        text = follow_up_text(follow_up.kind, first_name(account.debtor.name), account.account_ref,
                              verdict.needs_opt_out_notice)
        problem = text_problem(text)
        if problem:
            _record(session, account, follow_up, "withheld", problem, now)
            return Sent(account.account_ref, follow_up.key, "withheld", problem)
        ref = account.account_ref
    try:
        sid = gateway.send(phone, text)
    except SmsSendError as error:
        return Sent(ref, follow_up.key, "failed", error.detail)
    with units() as uow:
        account = uow.session.get(Account, account_id)
        assert account is not None
        _record(uow.session, account, follow_up, "sent", sid, uow.now(), to=phone)
    return Sent(ref, follow_up.key, "sent", sid)


def _record(session: Any, account: Account, follow_up: FollowUp, status: str, detail: str, now: Any,
            **extra: str) -> None:
    session.add(Notification(key=follow_up.key, account_id=account.id, kind=follow_up.kind, status=status,
                             detail=detail[:1000], created_at=now))
    audit.record(session, f"follow_up_{status}", actor=ACTOR, account=account, at=now, key=follow_up.key,
                 kind=follow_up.kind, detail=detail[:200],
                 **({"due_on": follow_up.due_on.isoformat()} if follow_up.due_on else {}), **extra)
