"""The reminder campaign: a first SMS to the accounts due for contact (SPEC 2.9 and 7).

Planning (which accounts, which phone, what text, and why every other account is skipped) is
separate from sending, so a dry run shows exactly what a real run would send. Every phone is
cleared by `outbound_verdict`, the one outbound-contact check, and cleared again just before its
message goes out, since a debtor may text STOP while a campaign runs.

The text says nothing about a debt (a Regulation F limited-content message): whoever holds the
phone learns only who we are, that we ask the debtor to get in touch, and how; plus the opt-out.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import agency_name, agency_phone, webchat_url
from bot.domain.accounts import COLLECTING, AccountStatus
from bot.domain.compliance import Verdict
from bot.services import accounts, audit
from bot.services.contact import outbound_verdict
from bot.sms.gateway import SmsGateway, SmsSendError
from bot.storage.db import RunLocked, as_utc, run_lock
from bot.storage.orm import Account, AuditEvent

if TYPE_CHECKING:
    from bot.services.unit_of_work import SqlUnitOfWork

REMINDER_SENT = "reminder_sent"
RUN_LOCK = "remind"  # one sending run at a time, across processes and machines sharing the database
ACTOR = "reminders"
CHANNEL = "sms"
DEFAULT_INTERVAL = timedelta(days=7)
MAX_LENGTH = 320  # two SMS segments
OPT_OUT = "Reply STOP to opt out."
# Statuses with an agreement in force: the debtor is already paying, no reminder is due.
AGREEMENT_STATUSES = COLLECTING - {AccountStatus.OPEN.value}
# Words that would tell whoever reads the phone that this is about a debt.
DISCLOSING = re.compile(r"\b(debts?|owe[sd]?|owing|collect\w*|arrears|overdue|balance|creditors?)\b", re.I)


def chat_link(account_ref: str, base: str | None = None) -> str:
    """The web chat with `?ref=` added to whatever query the configured URL already has."""
    parts = urlsplit(base or webchat_url())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "ref"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("ref", account_ref)])))


def first_name(full_name: str) -> str:
    """What a text greets the debtor by."""
    words = full_name.split()
    return words[0] if words else ""


def reminder_text(name: str, account_ref: str, opt_out_notice: bool, webchat: str | None = None) -> str:
    """The reminder's words: who we are and how to reach us, nothing about a debt."""
    greeting = f"Hi {name}, this is" if name else "Hello, this is"
    text = (f"{greeting} {agency_name()}. Please get in touch with us: chat at {chat_link(account_ref, webchat)}"
            f" or call {agency_phone()}.")
    return f"{text} {OPT_OUT}" if opt_out_notice else text


def text_problem(text: str) -> str | None:
    """Why this text may not be sent, if it may not."""
    if len(text) > MAX_LENGTH:
        return f"the message would be {len(text)} characters, more than {MAX_LENGTH} (check AGENCY_NAME, WEBCHAT_URL)"
    word = DISCLOSING.search(text)
    if word:
        return f"the message would hint at a debt ({word.group(0)!r}; check AGENCY_NAME, WEBCHAT_URL)"
    return None


@dataclass(frozen=True)
class Reminder:
    """One message to one phone, covering one or more accounts of one debtor."""

    to: str
    account_refs: tuple[str, ...]
    name: str
    opt_out_notice: bool
    text: str
    local_time: str  # when it would arrive, in the debtor's zone: "09:00 America/Chicago"


@dataclass(frozen=True)
class Skip:
    """An account the run texts nothing about, and why."""

    account_ref: str
    reason: str


@dataclass(frozen=True)
class ReminderPlan:
    """What a run would send at `now`, and why every other account is skipped."""

    now: datetime
    interval: timedelta
    reminders: tuple[Reminder, ...]
    skipped: tuple[Skip, ...]
    webchat: str | None = None  # the web chat URL the links were made with (None: WEBCHAT_URL)

    @property
    def accounts_covered(self) -> int:
        """How many accounts the planned texts cover."""
        return sum(len(r.account_refs) for r in self.reminders)


def _last_reminders(session: Session, account_ids: list[int] | None = None) -> dict[int, datetime]:
    """When each account was last reminded: the run's `sent_at` (its clock), else when it was recorded."""
    last: dict[int, datetime] = {}
    query = select(AuditEvent.account_id, AuditEvent.occurred_at, AuditEvent.details).where(
        AuditEvent.action == REMINDER_SENT)
    if account_ids is not None:
        query = query.where(AuditEvent.account_id.in_(account_ids))
    for account_id, occurred_at, details in session.execute(query):
        sent_at = (details or {}).get("sent_at")
        moment = as_utc(datetime.fromisoformat(sent_at) if sent_at else occurred_at)
        if account_id not in last or moment > last[account_id]:
            last[account_id] = moment
    return last


def _ago(elapsed: timedelta) -> str:
    days = elapsed.days
    if days < 1:
        return "reminded less than a day ago"
    return f"reminded {days} day{'s' if days != 1 else ''} ago"


def _account_refusal(account: Account, now: datetime, interval: timedelta, last: datetime | None) -> str | None:
    """Reasons that hold whatever the phone: an agreement in force, or a recent reminder."""
    if account.status in AGREEMENT_STATUSES:
        return f"agreement in force: {account.status}"
    if account.status == AccountStatus.OPEN.value and last is not None and now - last < interval:
        return _ago(now - last)
    return None


def _phone_verdict(session: Session, account: Account, phone: str, now: datetime) -> Verdict:
    """`outbound_verdict` for a text to `phone`, and the campaign's own conditions on top of it."""
    verdict = outbound_verdict(session, account, CHANNEL, phone, now)
    if not verdict.allowed:
        return verdict
    if account.status != AccountStatus.OPEN.value:
        return Verdict(False, f"account {account.status}")  # only in case a rule set does not pause this status
    return verdict


def _choose_phone(session: Session, account: Account, now: datetime) -> tuple[str | None, Verdict]:
    """The first phone we may text now and its verdict; or None and why no phone may be texted."""
    phones = accounts.phones_of(account)
    if not phones:
        return None, Verdict(False, "no phone number on file")
    refusals: dict[str, str] = {}
    for phone in phones:
        verdict = _phone_verdict(session, account, phone, now)
        if verdict.allowed:
            return phone, verdict
        refusals[phone] = verdict.reason
    reasons = set(refusals.values())
    if len(reasons) == 1:
        return None, Verdict(False, reasons.pop())
    return None, Verdict(False, "; ".join(f"{phone}: {reason}" for phone, reason in refusals.items()))


def plan_reminders(uow: SqlUnitOfWork, interval: timedelta = DEFAULT_INTERVAL,
                   webchat: str | None = None) -> ReminderPlan:
    """Who gets a reminder at `uow.now()` (UTC-aware), with which text; and why each other account does not."""
    now, session = uow.now(), uow.session
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    last = _last_reminders(session)
    # phone -> (debtor id, whether texts need the opt-out notice, accounts), in account order
    groups: dict[str, tuple[int, bool, list[Account]]] = {}
    skipped: list[Skip] = []
    for account in session.scalars(select(Account).order_by(Account.account_ref)).all():
        refusal = _account_refusal(account, now, interval, last.get(account.id))
        if refusal is not None:
            skipped.append(Skip(account.account_ref, refusal))
            continue
        phone, verdict = _choose_phone(session, account, now)
        if phone is None:
            skipped.append(Skip(account.account_ref, verdict.reason))
        elif phone in groups and groups[phone][0] != account.debtor_id:
            # One message per number per run; another debtor on a shared phone waits for the next run.
            skipped.append(Skip(account.account_ref, f"{phone} gets another debtor's reminder in this run"))
        else:
            group = groups.setdefault(phone, (account.debtor_id, verdict.needs_opt_out_notice, []))
            group[2].append(account)
    reminders: list[Reminder] = []
    for phone, (_debtor, opt_out_notice, covered) in groups.items():
        debtor = covered[0].debtor
        refs = tuple(a.account_ref for a in covered)
        name = first_name(debtor.name)
        text = reminder_text(name, refs[0], opt_out_notice, webchat)
        problem = text_problem(text)
        if problem:
            skipped.extend(Skip(ref, problem) for ref in refs)
            continue
        local = now.astimezone(ZoneInfo(debtor.timezone))
        reminders.append(Reminder(phone, refs, name, opt_out_notice, text, f"{local:%H:%M} {debtor.timezone}"))
    skipped.sort(key=lambda s: s.account_ref)
    return ReminderPlan(now, interval, tuple(reminders), tuple(skipped), webchat)


# ---- sending ------------------------------------------------------------------------------------

class ReminderNotRecorded(RuntimeError):
    """A message went out but its audit events could not be written: the run stops rather than risk resending."""


class RemindRunLocked(RuntimeError):
    """Another run holds the run lock: this one stops before its next text (before its first, usually)."""


@dataclass(frozen=True)
class Outcome:
    """What came of one planned text."""

    reminder: Reminder
    account_refs: tuple[str, ...]  # the accounts the sent message covered (fewer if some changed since planning)
    sid: str | None = None
    error: str | None = None  # the send failed
    withheld: str | None = None  # not sent: nothing it covered may be contacted any more

    @property
    def sent(self) -> bool:
        """Whether the text went out."""
        return self.sid is not None


def _still_allowed(uow: SqlUnitOfWork, reminder: Reminder, interval: timedelta) -> tuple[tuple[str, ...], str]:
    """The planned accounts that may still be texted on this phone at `uow.now()`; and why the others may not."""
    allowed: list[str] = []
    reasons: list[str] = []
    now, session = uow.now(), uow.session
    covered = [accounts.get(session, ref) for ref in reminder.account_refs]
    last = _last_reminders(session, [account.id for account in covered])
    for ref, account in zip(reminder.account_refs, covered, strict=True):
        refusal = _account_refusal(account, now, interval, last.get(account.id))
        if refusal is None:
            verdict = _phone_verdict(session, account, reminder.to, now)
            refusal = None if verdict.allowed else verdict.reason
        if refusal is None:
            allowed.append(ref)
        else:
            reasons.append(f"{ref}: {refusal}")
    return tuple(allowed), "; ".join(reasons)


def _record(uow: SqlUnitOfWork, reminder: Reminder, refs: tuple[str, ...], text: str, sid: str,
            now: datetime) -> None:
    for ref in refs:
        audit.record(uow.session, REMINDER_SENT, actor=ACTOR, account=accounts.get(uow.session, ref), at=uow.now(),
                     to=reminder.to, message_sid=sid, sent_at=now.isoformat(), account_refs=list(refs), text=text)


def _send_one(reminder: Reminder, plan: ReminderPlan, gateway: SmsGateway,
              units: Callable[[], SqlUnitOfWork]) -> Outcome:
    with units() as uow:
        now = uow.now()
        refs, refusals = _still_allowed(uow, reminder, plan.interval)
    if not refs:
        return Outcome(reminder, (), withheld=refusals)
    text = reminder.text if refs == reminder.account_refs else reminder_text(
        reminder.name, refs[0], reminder.opt_out_notice, plan.webchat)  # the link names an account still due
    try:
        sid = gateway.send(reminder.to, text)
    except SmsSendError as error:
        return Outcome(reminder, refs, error=error.detail)
    try:
        with units() as uow:
            _record(uow, reminder, refs, text, sid, now)
    except Exception as error:
        raise ReminderNotRecorded(f"sent {sid} to {reminder.to} for {', '.join(refs)} but could not record it:"
                                  f" {error}") from error
    return Outcome(reminder, refs, sid=sid)


def send_reminders(plan: ReminderPlan, gateway: SmsGateway, units: Callable[[], SqlUnitOfWork] | None = None,
                   progress: Callable[[int, int, Outcome], None] | None = None) -> list[Outcome]:
    """Send the plan's messages one by one; each sent message is recorded in its own transaction.

    The run holds the `remind` run lock throughout (renewed before each text), so two runs at once cannot
    text one person twice: the second raises RemindRunLocked having sent nothing. Each text's last check
    (`_still_allowed`) runs under the lock and sees what an earlier run recorded.
    `units` opens the unit of work of each check and each record; its clock is the time of the check made
    just before each send (default: the database at the plan's `now`).
    A failed send is reported and the run goes on; nothing is recorded for it.
    """
    if units is None:
        from bot.services.unit_of_work import SqlUnitOfWork  # here: the unit of work reads through this package

        def units() -> SqlUnitOfWork:
            return SqlUnitOfWork(clock=lambda: plan.now)

    outcomes: list[Outcome] = []
    texted: set[str] = set()
    try:
        with run_lock(RUN_LOCK) as renew:
            for number, reminder in enumerate(plan.reminders, start=1):
                renew()
                if reminder.to in texted:  # plans never repeat a number; this holds even for a hand-made one
                    outcome = Outcome(reminder, (), withheld=f"{reminder.to} was already texted in this run")
                else:
                    outcome = _send_one(reminder, plan, gateway, units)
                if outcome.sent:
                    texted.add(reminder.to)
                outcomes.append(outcome)
                if progress:
                    progress(number, len(plan.reminders), outcome)
    except RunLocked as locked:
        sent = sum(outcome.sent for outcome in outcomes)
        raise RemindRunLocked(f"{locked}; this run sent {'nothing' if not sent else f'{sent} text(s)'} and"
                              f" stops: run it again once the other has finished") from locked
    return outcomes
