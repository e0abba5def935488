"""Legal escalation: which accounts qualify for legal review, and a supervisor's move of one to legal with its case
bundle. Each use case is one transaction.

An account qualifies under its creditor's `legal_review` rule (`bot.domain.policy.LegalRule`) at `uow.now()` when:
- an agreement of it is broken (a plan, settlement or promise with status `broken`) and none is in force since;
- the debtor has not been in contact for `quiet_days`. Contact is the latest of:
  - the debtor's last message in any of the account's conversations: a `user` event in Rasa's `events` table (the
    conversations are the ones the account's audit log, agreements, disputes and handoffs name, and the SMS
    conversations of the debtor's phones); and, since conversation texts are purged after the retention period
    while the audit log is kept, the audit events only a debtor's own message produces (DEBTOR_ACTIONS);
  - a call whose outcome was a conversation (the `calls` table, the call's end, else its start);
  - an agreement made (any plan, settlement or promise, whatever became of it: its `created_at`).
  Texts we sent, calls nobody answered and voicemails are not contact: nothing came back from the debtor;
- the balance is at least `min_balance`;
- the account is not legal already, not finished (paid, settled, closed) and not disputed (an open dispute stops
  collection, suits included, until the debt is verified: FDCPA 809(b)); and no flag forbids it:
  - `bankruptcy`: excluded. The automatic stay forbids any suit; the claim goes to the bankruptcy court.
  - `deceased`: excluded. The debt is a claim on the estate, made in probate by a person, not a suit on the debtor.
  - `deceased_reported`: excluded while a person decides whether the report is true.
  - `cease`: may go to legal. A request to stop communicating stops our contact, not the creditor's remedies: the
    FDCPA (805(c)) itself lets the collector tell the debtor it may invoke them, a suit among them. It is also when
    the quiet period is certain to pass, so the queue says the request was made.
  - `attorney`: may go to legal. Representation forbids contacting the debtor directly (805(a)(2)), not suing: the
    lawyers then deal with the debtor's attorney. The queue says so.

The queue lists the accounts that qualify, the longest silent first. A supervisor moves an account to legal (the
console, or `python -m bot legal REF --by LOGIN`): its status becomes `legal`, which is not a collecting status, so
the assistant, the reminders and every outbound check treat it as a hold; the move is audited (`account_legal`,
with the supervisor's login and why) and the case bundle (`bot.legal.bundle`) is written as JSON and PDF. A
supervisor may move an account the queue does not list (their judgement); the audit says it was not queued and
why. The refusals are the queue's hard stops: an unknown account, one already legal, finished, disputed, or under
bankruptcy or a (reported) death.

Errors are `HandoffError`s with the HTTP status that says what went wrong, as the console answers the desk's.
"""
from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session, joinedload, selectinload

from bot.config import PROJECT_ROOT, agency_name
from bot.domain.accounts import FINISHED, AccountStatus
from bot.domain.console import Staff
from bot.domain.money import format_money, from_minor
from bot.domain.policy import LegalRule, parse_policy
from bot.domain.transcripts import transcript_of
from bot.legal.bundle import bundle_json, bundle_pdf
from bot.services import accounts, audit, cases, handoffs
from bot.services.handoffs import HandoffError
from bot.services.imports import OPERATIONS
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage.db import RASA_EVENTS, as_utc, in_chunks, rasa_events_exist
from bot.storage.orm import (
    Account,
    Agent,
    AuditEvent,
    Call,
    Creditor,
    Debtor,
    Payment,
    Plan,
    Promise,
    Settlement,
    StaffNote,
)

LEGAL = AccountStatus.LEGAL.value
LEGAL_DIR = PROJECT_ROOT / "var" / "legal"
AUDIT_ACTION = "account_legal"
# Statuses an account in the queue may have: open (no agreement in force), or ceased by a flag that does not bar a
# suit (cease, attorney). Disputed, an agreement in force, legal, paid, settled, closed: not queued.
_QUEUED_STATUSES = (AccountStatus.OPEN.value, AccountStatus.CEASED.value)
# Flags that bar legal action, and why (see the module's docstring).
BARRING_FLAGS = {
    "bankruptcy": "a bankruptcy is on file: the automatic stay forbids a suit",
    "deceased": "the debtor has died: the debt is a claim on the estate, not a suit",
    "deceased_reported": "a death was reported and waits for a person's decision",
}
# Flags that stop contact but not legal action: the queue and the bundle name them.
NOTED_FLAGS = {"cease": "cease requested", "attorney": "represented by an attorney"}
# Audit events only a debtor's own message (or call) produces: the contact the audit log keeps after a purge.
DEBTOR_ACTIONS = {
    "identity_verified": "verified their identity",
    "balance_disclosed": "asked for the balance",
    "terms_declined": "declined terms offered",
    "hardship_noted": "described hardship",
    "contact_updated": "gave contact details",
    "dispute_opened": "disputed the debt",
    "sms_opt_out": "texted STOP",
    "sms_opt_in": "texted START",
}
_CHANNEL_NAMES = {handoffs.SMS: "sms", handoffs.WEB_CHAT: "web chat", handoffs.REST: "rest"}
_AGREEMENT_TABLES: tuple[tuple[str, type[Plan] | type[Settlement] | type[Promise]], ...] = (
    ("plan", Plan), ("settlement", Settlement), ("promise", Promise))
T = TypeVar("T")


class LegalError(HandoffError):
    """The account cannot be moved to legal (already legal, finished, disputed, barred by a flag)."""

    status = 409


class NotSupervisor(LegalError):
    """Only a supervisor moves an account to legal."""

    status = 403


class UnknownAccount(LegalError, LookupError):
    """No account has the reference given."""

    status = 404

    def __init__(self, account_ref: str):
        super().__init__(f"no account with reference {account_ref!r}")


@dataclass(frozen=True)
class Contact:
    """The debtor's latest contact with us, and what it was."""

    at: datetime  # UTC
    what: str  # "phone conversation", "plan agreed", "message in conversation web-1"...


@dataclass(frozen=True)
class Candidate:
    """An account that qualifies for legal review, with the facts that make it qualify."""

    account_ref: str
    balance: Decimal
    currency: str
    why: str  # "plan broken 2027-02-11; no contact for 74 days (last 2026-11-29: plan agreed); balance $1,234.56"
    creditor_id: str
    debtor_name: str
    broken: str  # plan | settlement | promise: the latest broken agreement
    broken_on: date | None
    last_contact: Contact | None
    quiet_days: int
    flags: tuple[str, ...] = ()  # cease, attorney: flags that stop contact but not legal action

    def as_json(self) -> dict[str, Any]:
        """As the console's API answers it."""
        return {"account_ref": self.account_ref, "balance": str(self.balance), "currency": self.currency,
                "why": self.why, "creditor_id": self.creditor_id, "debtor_name": self.debtor_name,
                "broken": self.broken, "broken_on": self.broken_on.isoformat() if self.broken_on else None,
                "last_contact": self.last_contact.at.isoformat() if self.last_contact else None,
                "last_contact_was": self.last_contact.what if self.last_contact else None,
                "quiet_days": self.quiet_days, "flags": list(self.flags)}


@dataclass(frozen=True)
class LegalMove:
    """An account moved to legal, and where its case bundle was written."""

    account_ref: str
    was: str  # the status before
    why: str
    queued: bool  # whether the account qualified under its creditor's rule (False: the supervisor's judgement)
    moved_by: str
    moved_at: datetime
    json_path: Path
    pdf_path: Path

    @property
    def paths(self) -> tuple[Path, Path]:
        return self.json_path, self.pdf_path

    def as_json(self) -> dict[str, Any]:
        """As the console's API answers it (the file names, not the server's paths)."""
        return {"account_ref": self.account_ref, "status": LEGAL, "was": self.was, "why": self.why,
                "queued": self.queued, "moved_by": self.moved_by, "moved_at": self.moved_at.isoformat(),
                "files": [self.json_path.name, self.pdf_path.name]}


# ---- the queue ---------------------------------------------------------------------------------------------------

@dataclass
class _Assessment:
    """What the rule finds on one account: the facts, and what keeps it out of the queue (nothing: it qualifies)."""

    account: Account
    balance: Decimal
    broken: tuple[str, date | None] | None = None
    last_contact: Contact | None = None
    quiet_days: int = 0
    missing: list[str] = field(default_factory=list)

    @property
    def qualifies(self) -> bool:
        return not self.missing

    def why(self) -> str:
        facts = []
        if self.broken is not None:
            kind, on = self.broken
            facts.append(f"{kind} broken {on.isoformat()}" if on else f"{kind} broken")
        if self.last_contact is not None:
            facts.append(f"no contact for {self.quiet_days} days (last {self.last_contact.at:%Y-%m-%d}:"
                         f" {self.last_contact.what})")
        else:
            facts.append(f"no contact on record in {self.quiet_days} days since placement")
        facts.append(f"balance {format_money(self.balance, self.account.currency)}")
        facts += [NOTED_FLAGS[flag] for flag in sorted(cases.active_flags(self.account)) if flag in NOTED_FLAGS]
        return "; ".join(facts)


def _agreements(account: Account) -> list[tuple[str, Plan | Settlement | Promise]]:
    rows: list[tuple[str, Plan | Settlement | Promise]] = [("plan", p) for p in account.plans]
    rows += [("settlement", s) for s in account.settlements]
    rows += [("promise", p) for p in account.promises]
    return rows


def _latest_broken(account: Account) -> tuple[str, date | None] | None:
    broken = [(row.ended_on or as_utc(row.created_at).date(), row.id, kind, row.ended_on)
              for kind, row in _agreements(account) if row.status == "broken"]
    if not broken:
        return None
    _day, _id, kind, ended_on = max(broken, key=lambda b: (b[0], b[1]))
    return kind, ended_on


def _in_force(account: Account) -> bool:
    return any(row.status in ("active", "pending") for _kind, row in _agreements(account))


def _hard_stop(account: Account) -> str | None:
    """Why the account may not go to legal at all (the move refuses it too), or None."""
    if account.status == LEGAL:
        return f"account {account.account_ref} is already with legal"
    if account.status in FINISHED:
        return f"account {account.account_ref} is {account.status}: nothing is owed to sue for"
    if cases.open_dispute_of(account) is not None:
        return (f"account {account.account_ref} has an open dispute: collection, a suit included, waits until the"
                " debt is verified")
    barred = sorted(set(BARRING_FLAGS) & cases.active_flags(account))
    if barred:
        return f"account {account.account_ref}: {BARRING_FLAGS[barred[0]]}"
    return None


def _last_debtor_messages(session: Session, conversations: Iterable[str]) -> dict[str, datetime]:
    """The time of the debtor's last message in each conversation that has one."""
    ids = sorted(set(conversations))
    if not ids or not rasa_events_exist(session):
        return {}
    last: dict[str, datetime] = {}
    for chunk in in_chunks(ids):
        for sender_id, timestamp in session.execute(
                select(RASA_EVENTS.c.sender_id, func.max(RASA_EVENTS.c.timestamp))
                .where(RASA_EVENTS.c.type_name == "user", RASA_EVENTS.c.sender_id.in_(chunk))
                .group_by(RASA_EVENTS.c.sender_id)):
            if timestamp is not None:
                last[sender_id] = datetime.fromtimestamp(float(timestamp), UTC)
    return last


def _last_contacts(session: Session, accounts_: Sequence[Account]) -> dict[int, Contact]:
    """Each account's latest contact from the debtor (see the module's docstring for what counts)."""
    latest: dict[int, Contact] = {}

    def seen(account_id: int, at: datetime | None, what: str) -> None:
        if at is None:
            return
        at = as_utc(at)
        if account_id not in latest or at > latest[account_id].at:
            latest[account_id] = Contact(at, what)

    ids = [a.id for a in accounts_]
    for account in accounts_:
        for kind, row in _agreements(account):
            seen(account.id, row.created_at, f"{kind} agreed")
    for chunk in in_chunks(ids):
        for account_id, started_at, ended_at in session.execute(
                select(Call.account_id, Call.started_at, Call.ended_at)
                .where(Call.account_id.in_(chunk), Call.outcome == "conversation")):
            seen(account_id, ended_at or started_at, "phone conversation")
        for account_id, action, at in session.execute(
                select(AuditEvent.account_id, AuditEvent.action, func.max(AuditEvent.occurred_at))
                .where(AuditEvent.account_id.in_(chunk), AuditEvent.action.in_(list(DEBTOR_ACTIONS)))
                .group_by(AuditEvent.account_id, AuditEvent.action)):
            seen(account_id, at, f"debtor {DEBTOR_ACTIONS[action]}")
    conversations = accounts.conversations_of(session, accounts_)
    messages = _last_debtor_messages(session, {c for cs in conversations.values() for c in cs})
    for account_id, linked in conversations.items():
        for conversation_id in linked:
            seen(account_id, messages.get(conversation_id), f"message in conversation {conversation_id}")
    return latest


def _assess(account: Account, rule: LegalRule | None, now: datetime, contact: Contact | None) -> _Assessment:
    balance = accounts.statement_of(account).balance
    found = _Assessment(account, balance, _latest_broken(account), contact)
    since = contact.at if contact is not None else datetime.combine(account.placed_on, datetime.min.time(), UTC)
    found.quiet_days = max(0, (now - since).days)
    if rule is None:
        found.missing.append("the creditor's policy has no legal_review rule")
    if found.broken is None:
        found.missing.append("no agreement was broken")
    if _in_force(account):
        found.missing.append("an agreement is in force")
    if rule is not None and found.quiet_days < rule.quiet_days:
        found.missing.append(f"contact {found.quiet_days} days ago, under the {rule.quiet_days} days the rule asks")
    if rule is not None and balance < rule.min_balance:
        found.missing.append(f"balance under the rule's {format_money(rule.min_balance, account.currency)}")
    return found


def _rules(session: Session) -> dict[str, LegalRule]:
    """The legal_review rule of every creditor whose policy has one."""
    rules = {}
    for creditor_id, raw in session.execute(select(Creditor.id, Creditor.policy)):
        rule = parse_policy(raw).legal
        if rule is not None:
            rules[creditor_id] = rule
    return rules


def _loaded() -> list[Any]:
    """What assessing an account reads, loaded with it (a handful of queries for any number of accounts)."""
    return [joinedload(Account.creditor), joinedload(Account.debtor).selectinload(Debtor.contact_points),
            selectinload(Account.plans), selectinload(Account.settlements), selectinload(Account.promises),
            selectinload(Account.flags), selectinload(Account.disputes)]


def queue(uow: SqlUnitOfWork) -> list[Candidate]:
    """The accounts that qualify for legal review at `uow.now()`, the longest silent first."""
    with uow:
        session, now = uow.session, uow.now()
        rules = _rules(session)
        if not rules:
            return []
        broken = [select(model.account_id).where(model.status == "broken") for _kind, model in _AGREEMENT_TABLES]
        found = list(session.scalars(
            select(Account).options(*_loaded())
            .where(Account.creditor_id.in_(list(rules)), Account.status.in_(_QUEUED_STATUSES),
                   Account.id.in_(union(*broken)))
            .order_by(Account.id)).unique())
        # The cheap conditions first: contact is read only for accounts that pass them.
        possible = [a for a in found if _hard_stop(a) is None and not _in_force(a)
                    and accounts.statement_of(a).balance >= rules[a.creditor_id].min_balance]
        contacts = _last_contacts(session, possible)
        candidates = []
        for account in possible:
            assessed = _assess(account, rules[account.creditor_id], now, contacts.get(account.id))
            if not assessed.qualifies or assessed.broken is None:
                continue
            kind, on = assessed.broken
            candidates.append(Candidate(
                account.account_ref, assessed.balance, account.currency, assessed.why(), account.creditor_id,
                account.debtor.name, kind, on, assessed.last_contact, assessed.quiet_days,
                tuple(sorted(set(NOTED_FLAGS) & cases.active_flags(account)))))
        return sorted(candidates, key=lambda c: (-c.quiet_days, c.account_ref))


# ---- the move ----------------------------------------------------------------------------------------------------

def staff_for(uow: SqlUnitOfWork, login: str | None) -> Staff:
    """The person a command line names with `--by LOGIN` (their role from the console's logins); without a login,
    the operator at the command line, who acts as a supervisor (as `python -m bot agree --tier supervisor` does).

    Raises NotSupervisor for a login that is not an active console login."""
    if login is None:
        return Staff(OPERATIONS, "supervisor")
    with uow:
        agent = uow.session.get(Agent, login.strip().lower())
        if agent is None or not agent.active:
            raise NotSupervisor(f"{login!r} is not an active console login")
        return Staff(agent.login, agent.role)


def _locked(session: Session, account_ref: str) -> Account:
    account = accounts.find(session, account_ref)
    if account is None:
        raise UnknownAccount(account_ref)
    locked: Account = session.scalars(select(Account).where(Account.id == account.id).with_for_update()
                                      .execution_options(populate_existing=True)).one()
    return locked


def _stem(directory: Path, account_ref: str, day: date) -> str:
    """`<REF>-<date>`, the reference made safe for a file name; `-2`, `-3`... if that day's bundle exists."""
    base = f"{re.sub(r'[^A-Za-z0-9._-]', '_', account_ref)}-{day.isoformat()}"
    stem, n = base, 1
    while (directory / f"{stem}.json").exists() or (directory / f"{stem}.pdf").exists():
        n += 1
        stem = f"{base}-{n}"
    return stem


def move_to_legal(uow: SqlUnitOfWork, account_ref: str, staff: Staff, note: str = "",
                  directory: Path | None = None) -> LegalMove:
    """A supervisor moves the account to legal: status `legal`, audited, the case bundle written to `directory`
    (default var/legal/) as `<REF>-<date>.json` and `.pdf`.

    Raises NotSupervisor, UnknownAccount, or LegalError (already legal, finished, disputed, barred by a flag).
    `uow` should be a locking unit of work (`SqlUnitOfWork(locking=True)`): two supervisors at once move it once.
    Nothing is changed if the bundle cannot be written.
    """
    if not staff.is_supervisor:
        raise NotSupervisor("only a supervisor may move an account to legal")
    note = (note or "").strip()[:4000]
    folder = directory if directory is not None else LEGAL_DIR
    with uow:
        session, now = uow.session, uow.now()
        account = _locked(session, account_ref)
        stop = _hard_stop(account)
        if stop is not None:
            raise LegalError(stop)
        rule = parse_policy(account.creditor.policy).legal
        assessed = _assess(account, rule, now, _last_contacts(session, [account]).get(account.id))
        why = assessed.why()
        if not assessed.qualifies:
            why += f"; moved on a supervisor's judgement, not queued: {'; '.join(assessed.missing)}"
        was = account.status
        folder.mkdir(parents=True, exist_ok=True)
        stem = _stem(folder, account.account_ref, now.date())
        json_path, pdf_path = folder / f"{stem}.json", folder / f"{stem}.pdf"
        account.status = LEGAL
        audit.record(session, AUDIT_ACTION, actor=staff.login, account=account, at=now, why=why, note=note,
                     was=was, queued=assessed.qualifies, files=[json_path.name, pdf_path.name])
        session.flush()
        data = bundle_data(session, account, now, why=why, moved_by=staff.login, note=note)
        try:
            json_path.write_text(bundle_json(data), encoding="utf-8")
            bundle_pdf(data, pdf_path)
        except BaseException:
            json_path.unlink(missing_ok=True)  # no bundle of a move that did not happen
            pdf_path.unlink(missing_ok=True)
            raise
        return LegalMove(account.account_ref, was, why, assessed.qualifies, staff.login, now, json_path, pdf_path)


# ---- the bundle's data -------------------------------------------------------------------------------------------

def _money(minor: int, currency: str) -> Decimal:
    return from_minor(minor, currency)


def _terms(kind: str, row: Plan | Settlement | Promise, currency: str) -> str:
    if isinstance(row, Plan):
        instalments = row.installments
        first = instalments[0] if instalments else None
        return (f"{len(instalments)} instalments totalling {format_money(_money(row.total_minor, currency), currency)}"
                + (f", {format_money(_money(first.amount_minor, currency), currency)} first due"
                   f" {first.due_on.isoformat()}" if first else ""))
    if isinstance(row, Settlement):
        return (f"{format_money(_money(row.amount_minor, currency), currency)} in full settlement"
                f" ({Decimal(row.discount_basis_points).scaleb(-2)}% off), by {row.pay_by.isoformat()}")
    return f"{format_money(_money(row.amount_minor, currency), currency)} on {row.pay_on.isoformat()}"


def _agreement_rows(account: Account) -> list[dict[str, Any]]:
    rows = []
    for kind, row in sorted(_agreements(account), key=lambda item: (as_utc(item[1].created_at), item[1].id)):
        by = f"{row.authorized_actor} ({row.authorized_tier})"
        if row.requested_by:
            by += f", requested by {row.requested_by}"
        rows.append({"kind": kind, "status": row.status, "agreed_at": as_utc(row.created_at),
                     "terms": _terms(kind, row, account.currency), "authorized_by": by, "ended_on": row.ended_on,
                     "end_reason": row.end_reason, "conversation_id": row.conversation_id})
    return rows


def _payment_rows(session: Session, account: Account) -> list[dict[str, Any]]:
    return [{"paid_on": p.paid_on, "amount": _money(p.amount_minor, account.currency), "reference": p.reference,
             "source": p.source if p.applied else f"{p.source}, not applied", "applied": p.applied}
            for p in session.scalars(select(Payment).where(Payment.account_id == account.id)
                                     .order_by(Payment.paid_on, Payment.id))]


def _contact_event(event: AuditEvent) -> tuple[str, str] | None:
    """(channel, what) of an audit event that is contact with the debtor or an attempt at it; None otherwise.

    Calls are taken from the calls table (`_call_rows`), not from their audit events."""
    details, actor, action = event.details or {}, event.actor, event.action
    if action == "reminder_sent":
        return "sms", f"reminder text sent to {details.get('to', '?')}"
    if action.startswith("follow_up_"):
        status = action.removeprefix("follow_up_")
        what = f"{details.get('kind', '')} text {status}"
        if details.get("to"):
            what += f" to {details['to']}"
        elif status != "sent" and details.get("detail"):
            what += f": {details['detail']}"
        return "sms", what
    if action == "agent_message":
        return "conversation", f"message from {actor}"
    if action == "terms_offered":
        return "conversation", f"terms offered by {actor}"
    if action.endswith("_agreed"):
        return "conversation", f"{action.removesuffix('_agreed')} agreed ({details.get('tier', '')}, {actor})"
    if action == "call_refused":
        return "call", f"call by {actor} not made: {details.get('reason', details.get('rule', ''))}"
    if action in DEBTOR_ACTIONS:
        return ("sms" if action.startswith("sms_") else "conversation"), f"debtor {DEBTOR_ACTIONS[action]}"
    if action.startswith("flag_"):
        return "conversation", f"flag {action.removeprefix('flag_')} set by {actor}"
    if action == "wrong_party_reported":
        return "conversation", "someone other than the debtor answered: contact point marked wrong"
    return None


def _call_rows(session: Session, account: Account) -> list[Call]:
    return list(session.scalars(select(Call).options(selectinload(Call.utterances))
                                .where(Call.account_id == account.id).order_by(Call.started_at, Call.id)))


def _chat_transcripts(session: Session, conversations: Iterable[str]) -> list[dict[str, Any]]:
    """Each conversation's messages as the console's transcript shows them (`rasa_api.transcript_of`): a clicked
    button by its title, a date of birth withheld (by the store, and masked again in an answer to its question)."""
    ids = sorted(set(conversations))
    if not ids or not rasa_events_exist(session):
        return []
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for chunk in in_chunks(ids):
        for sender_id, data in session.execute(
                select(RASA_EVENTS.c.sender_id, RASA_EVENTS.c.data)
                .where(RASA_EVENTS.c.sender_id.in_(chunk), RASA_EVENTS.c.type_name.in_(("user", "bot")))
                .order_by(RASA_EVENTS.c.id)):
            try:
                event = json.loads(data) if isinstance(data, str) else data
            except ValueError:
                continue
            if isinstance(event, dict):
                events[sender_id].append(event)
    channels = handoffs.channels_of(session, list(events))
    transcripts = []
    for conversation_id, conversation_events in events.items():
        lines = []
        for line in transcript_of(conversation_events):
            speaker = line["agent"] if line["sender"] == "agent" and line["agent"] else line["sender"]
            text = line["text"]
            if line["buttons"]:
                text += " [choices: " + " | ".join(b["title"] for b in line["buttons"]) + "]"
            lines.append({"at": line["at"], "speaker": speaker, "text": text})
        if lines:
            transcripts.append({"conversation_id": conversation_id, "kind": "chat",
                                "channel": _CHANNEL_NAMES.get(channels[conversation_id], channels[conversation_id]),
                                "lines": lines})
    return sorted(transcripts, key=lambda t: (t["lines"][0]["at"] or "", t["conversation_id"]))


def bundle_data(session: Session, account: Account, now: datetime, *, why: str, moved_by: str,
                note: str = "") -> dict[str, Any]:
    """Everything the case bundle holds (`bot.legal.bundle` documents the keys), read in the caller's transaction."""
    from bot.services.calls import conversation_of  # here: calls imports much of the console's domain

    statement = accounts.statement_of(account)
    events = audit.events_for(session, account)
    calls = _call_rows(session, account)
    conversations = accounts.conversations_of(session, [account]).get(account.id, set())
    transcripts = _chat_transcripts(session, conversations)

    history: list[dict[str, Any]] = []
    for event in events:
        found = _contact_event(event)
        if found is not None:
            history.append({"at": as_utc(event.occurred_at), "channel": found[0], "what": found[1],
                            "conversation_id": event.conversation_id})
    for call in calls:
        outcome = call.outcome or "no outcome recorded"
        what = f"call by {call.agent} to {call.phone or '(number erased)'}: {outcome.replace('_', ' ')}"
        if call.disposition:
            what += f", {call.disposition.replace('_', ' ')}"
        if call.ended_at is not None:
            what += f", {max(0, round((as_utc(call.ended_at) - as_utc(call.started_at)).total_seconds() / 60))} min"
        history.append({"at": as_utc(call.started_at), "channel": "call", "what": what,
                        "conversation_id": conversation_of(call)})
    for transcript in transcripts:
        said = [line for line in transcript["lines"] if line["speaker"] == "debtor"]
        history.append({"at": datetime.fromisoformat(transcript["lines"][0]["at"]) if transcript["lines"][0]["at"]
                        else None, "channel": transcript["channel"],
                        "what": f"conversation {transcript['conversation_id']}: {len(said)} message(s) from the debtor,"
                                f" {len(transcript['lines']) - len(said)} to them (transcript below)",
                        "conversation_id": transcript["conversation_id"]})
    history.sort(key=lambda h: (h["at"] or datetime.min.replace(tzinfo=UTC), h["what"]))

    for call in calls:
        if call.utterances:
            transcripts.append({
                "conversation_id": conversation_of(call), "kind": "call", "channel": "call",
                "lines": [{"at": as_utc(u.said_at).isoformat(), "speaker": "debtor" if u.speaker == "debtor"
                           else f"agent ({call.agent})", "text": u.text} for u in call.utterances]})

    notes = [{"at": as_utc(n.created_at), "author": n.author, "text": n.text}
             for n in session.scalars(select(StaffNote).where(StaffNote.account_id == account.id)
                                      .order_by(StaffNote.created_at, StaffNote.id))]
    return {
        "agency": agency_name(),
        "generated_at": now,
        "account_ref": account.account_ref,
        "debtor_name": account.debtor.name,
        "creditor": statement.creditor_name,
        "original_creditor": statement.original_creditor,
        "currency": account.currency,
        "balance": statement.balance,
        "why": why,
        "moved_by": moved_by,
        "moved_at": now,
        "note": note,
        "account": accounts.view(session, account, now),
        "agreements": _agreement_rows(account),
        "payments": _payment_rows(session, account),
        "contact_history": history,
        "notes": notes,
        "audit_log": [{"at": as_utc(e.occurred_at), "actor": e.actor, "action": e.action,
                       "conversation_id": e.conversation_id, "details": dict(e.details or {})} for e in events],
        "transcripts": transcripts,
    }
