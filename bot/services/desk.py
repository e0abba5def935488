"""The collector's desk: what a person of the console does with a handoff, each a use case in one transaction.

Every entry point (the console's pages, its API, a softphone with a personal token) calls these; the person is a
`Staff`, whose role is the policy tier they act at, taken from their login and never from a form. Agreements go
through `agreements.record`, the one authorisation check the assistant's go through too. Facts are gathered here
and decided by the pure rules of `bot.domain.console`.

Errors are `DeskError`s (handoffs.HandoffError) with the HTTP status that says what went wrong.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as number_zones
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.compliance import outside_window, rule_set
from bot.domain.console import (
    AGREEMENT_KINDS,
    DISPOSITIONS,
    Authority,
    MessageFacts,
    Staff,
    authority,
    message_refusal,
    next_tier,
    standing_refusal,
)
from bot.domain.dates import DateError, parse_iso_date
from bot.domain.flows import AGREEMENT_SLOTS
from bot.domain.money import MoneyError, from_minor, parse_amount
from bot.domain.negotiation import (
    NotAuthorised,
    PlanTerms,
    PromiseTerms,
    SettlementTerms,
    Terms,
    authority_problems,
    plan_by_monthly,
    plan_by_months,
    terms_from_dict,
    terms_to_dict,
)
from bot.domain.policy import parse_policy
from bot.presenters import terms as en
from bot.services import accounts, agreements, audit, cases, handoffs
from bot.services.agreements import Actor, CollectionPaused
from bot.services.contact import call_times
from bot.services.handoffs import HandoffError
from bot.services.sms import number_opted_out, phone_of_conversations
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage.db import as_utc
from bot.storage.orm import Account, ApprovalRequest, ConsoleOffer, Handoff, StaffNote

DeskError = HandoffError
MAX_NOTE_CHARS = 4000
YES, NO = "/affirm", "/deny"  # the buttons of terms sent to the debtor: the assistant's own affirm and deny


class NotFound(DeskError):
    status = 404


class Forbidden(DeskError):
    status = 403


class Invalid(DeskError):
    status = 400


class Paused(DeskError):
    status = 409


class RuleRefused(DeskError):
    """What a person asked for breaks a rule of the law or the policy; `rule` names it."""

    status = 422

    def __init__(self, rule: str, explanation: str):
        super().__init__(explanation)
        self.rule, self.explanation = rule, explanation


class MessageRefused(RuleRefused):
    """A message to the debtor that may not go now."""


@dataclass(frozen=True)
class Outgoing:
    """Where a person's message goes: the conversation, on its channel."""

    conversation_id: str
    channel: str


@dataclass(frozen=True)
class Offer:
    """Terms to send to the debtor for a yes or no."""

    offer_id: int
    conversation_id: str
    channel: str
    text: str
    buttons: list[dict[str, str]]


@dataclass(frozen=True)
class Recorded:
    kind: str
    summary_text: str


@dataclass(frozen=True)
class ApprovalRequested:
    approval_id: int
    problems: list[str]


@dataclass(frozen=True)
class Answered:
    """The debtor answered terms a person sent: what to tell them."""

    conversation_id: str
    channel: str
    text: str
    recorded: bool
    handoff_id: int | None


@dataclass(frozen=True)
class HandBack:
    """What the console sends when the assistant takes the conversation back."""

    conversation_id: str
    channel: str
    text: str
    # The assistant starts afresh on agreements: whatever it was negotiating before the person took over is
    # forgotten (what the person agreed is on file, and the assistant reads the account each turn).
    slots: dict[str, Any] = field(default_factory=lambda: {**dict.fromkeys(AGREEMENT_SLOTS), "hardship": False,
                                                           "settlement_rounds": 0, "requested_slot": None})


# --- who may do what --------------------------------------------------------------------------------

def _visible(session: Session, handoff_id: int, staff: Staff) -> Handoff:
    """A handoff this person may look at: any for a supervisor; an open one, or one they had, for an agent."""
    handoff = handoffs.handoff_row(session, handoff_id)
    if staff.is_supervisor or handoff.status == "open" or handoff.assigned_to == staff.login:
        return handoff
    raise Forbidden(f"this conversation is assigned to {handoff.assigned_to}")


def _working(session: Session, handoff_id: int, staff: Staff) -> Handoff:
    """A handoff this person may act in: assigned to them (a supervisor: any that is not closed)."""
    handoff = _visible(session, handoff_id, staff)
    if handoff.status == "closed":
        raise handoffs.HandoffClosed()
    if handoff.assigned_to != staff.login and not staff.is_supervisor:
        raise Forbidden("take the conversation first")
    return handoff


def _supervisor(staff: Staff) -> None:
    if not staff.is_supervisor:
        raise Forbidden("only a supervisor may do this")


def _account(session: Session, handoff: Handoff) -> Account:
    account = handoffs.account_of(session, handoff)
    if account is None:
        raise Invalid("no account is known for this conversation yet: the debtor has not been identified")
    return account


# --- what may be said -------------------------------------------------------------------------------

def debt_terms(account: Account | None) -> tuple[str, ...]:
    """What names this account's debt in words: its creditors' names and the amounts on file."""
    if account is None:
        return ()
    statement = accounts.statement_of(account)
    amounts = [statement.balance, *(from_minor(minor, account.currency) for minor in
                                    (account.principal_minor, account.interest_minor, account.fees_minor))]
    return (account.creditor.name, account.original_creditor,
            *(str(amount) for amount in amounts if amount > 0))


def _outside_window(zones: list[str], now: datetime) -> str | None:
    """Why it is outside the contact window in one of the zones the debtor may be in (all of a number's zones
    when their own is not known), or None."""
    rules = rule_set()
    return next((why for why in (outside_window(now, zone, rules) for zone in zones) if why), None)


def _zones(account: Account | None, phone: str | None) -> list[str]:
    if account is not None:
        return [account.debtor.timezone]
    try:
        zones = [z for z in number_zones.time_zones_for_number(phonenumbers.parse(phone or "")) if "/" in z]
    except phonenumbers.NumberParseException:
        zones = []
    return zones or ["America/New_York", "America/Los_Angeles"]  # the default rule set's country, both coasts


def _facts(session: Session, handoff: Handoff, account: Account | None, now: datetime) -> MessageFacts:
    channel = handoffs.channel_of(session, handoff.conversation_id)
    phone = phone_of_conversations(session, [handoff.conversation_id]).get(handoff.conversation_id)
    return MessageFacts(
        channel=channel,
        verified=handoffs.verification_of(session, handoff.conversation_id).verified,
        stopping=frozenset(cases.active_flags(account)) if account is not None else frozenset(),
        sms_opted_out=channel == handoffs.SMS and (phone is None or number_opted_out(session, phone)),
        sms_window_open=_outside_window(_zones(account, phone), now) is None,
        debt_terms=debt_terms(account),
        cease_confirmation=en.cease_confirmation(account.account_ref) if account is not None else "",
    )


def check_message(uow: SqlUnitOfWork, handoff_id: int, staff: Staff, text: str) -> Outgoing:
    """May this person send `text` in the conversation now? The rules the assistant obeys (bot.domain.console);
    raises MessageRefused naming the rule. Nothing is sent or stored here: `message_sent` records it."""
    with uow:
        session = uow.session
        handoff = _working(session, handoff_id, staff)
        account = handoffs.account_of(session, handoff)
        facts = _facts(session, handoff, account, uow.now())
        refusal = message_refusal(facts, text)
        if refusal is not None:  # audited, then refused once the audit is committed
            audit.record(session, "agent_message_refused", actor=staff.login, account=account,
                         conversation_id=handoff.conversation_id, at=uow.now(), rule=refusal.rule)
    if refusal is not None:
        raise MessageRefused(refusal.rule, refusal.explanation)
    return Outgoing(handoff.conversation_id, facts.channel)


def message_sent(uow: SqlUnitOfWork, handoff_id: int, staff: Staff, text: str) -> None:
    """Audit a message a person sent (its text is in the conversation's transcript, not in the audit log)."""
    with uow:
        session = uow.session
        handoff = handoffs.handoff_row(session, handoff_id)
        audit.record(session, "agent_message", actor=staff.login, account=handoffs.account_of(session, handoff),
                     conversation_id=handoff.conversation_id, at=uow.now(), characters=len(text))


# --- the conversation page ----------------------------------------------------------------------------

def _authority_json(power: Authority) -> dict[str, Any]:
    return {
        "tier": power.tier,
        "settlement_ladder": [{"discount_pct": str(step.discount_pct), "amount": str(step.amount)}
                              for step in power.settlement_ladder],
        "settlement_floor": str(power.settlement_floor),
        "settlement_pay_within_days": power.settlement_pay_within_days,
        "max_plan_months": power.max_plan_months,
        "min_installment": str(power.min_installment),
        "smallest_allowed_installment": str(power.smallest_allowed_installment),
        "min_down_payment_pct": str(power.min_down_payment_pct),
        "promise_max_days": power.promise_max_days,
        "hardship_max_plan_months": power.hardship_max_plan_months,
    }


def _contact(session: Session, account: Account | None, phone: str | None, now: datetime) -> dict[str, Any]:
    zones = _zones(account, phone)
    zone = zones[0]
    since = now - timedelta(days=7)
    attempts = len(call_times(session, account, since)) if account is not None else 0
    outside = _outside_window(zones, now)
    opted_out = phone is not None and number_opted_out(session, phone)
    return {
        "timezone": zone, "local_time": now.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes"),
        "sms_allowed_now": outside is None and not opted_out,
        "sms_rule": "opted out of texts (STOP)" if opted_out else outside,
        "attempts_7d": attempts,
    }


def _approval_json(approval: ApprovalRequest, account: Account) -> dict[str, Any]:
    terms = terms_from_dict(approval.terms)
    return {
        "id": approval.id, "account_ref": account.account_ref, "kind": approval.kind, "terms": approval.terms,
        "summary": en.summary(terms, account.currency), "requested_by": approval.requested_by,
        "note": approval.note, "status": approval.status, "decided_by": approval.decided_by,
        "decision_note": approval.decision_note, "created_at": as_utc(approval.created_at).isoformat(),
        "handoff_id": approval.handoff_id, "problems": list(approval.terms.get("problems", [])),
    }


def _offer_json(offer: ConsoleOffer, account: Account) -> dict[str, Any]:
    return {"id": offer.id, "terms": offer.terms, "text": en.summary(terms_from_dict(offer.terms), account.currency),
            "offered_by": offer.offered_by, "at": as_utc(offer.created_at).isoformat()}


def panel(uow: SqlUnitOfWork, handoff_id: int, staff: Staff) -> dict[str, Any]:
    """Everything beside a taken conversation: the handoff, the account (SPEC account JSON), the contact rules'
    state, this person's authority and the next tier's, notes, approvals, the offer awaiting the debtor, the audit
    log, and whether the message box may be used."""
    with uow:
        session, now = uow.session, uow.now()
        handoff = _visible(session, handoff_id, staff)
        account = handoffs.account_of(session, handoff)
        phone = phone_of_conversations(session, [handoff.conversation_id]).get(handoff.conversation_id)
        facts = _facts(session, handoff, account, now)
        standing = standing_refusal(facts)
        item = handoffs.item(session, handoff) | {"disposition": handoff.disposition, "note": handoff.note}
        notes = session.scalars(select(StaffNote).where(
            (StaffNote.account_id == account.id) if account is not None
            else (StaffNote.handoff_id == handoff.id)).order_by(StaffNote.id)).all()
        result: dict[str, Any] = {
            "handoff": item, "account": None, "contact": _contact(session, account, phone, now),
            "authority": None, "authority_above": None,
            "notes": [{"author": n.author, "text": n.text, "at": as_utc(n.created_at).isoformat()} for n in notes],
            "approvals": [], "offer": None, "audit": [], "dispositions": list(DISPOSITIONS),
            "agreement_kinds": list(AGREEMENT_KINDS),
            "cease_confirmation": facts.cease_confirmation or None,
            "compose": {"allowed": standing is None or standing.rule == "cease",
                        "rule": standing.rule if standing else None,
                        "explanation": standing.explanation if standing else None,
                        "verified": facts.verified},
            "staff": {"login": staff.login, "role": staff.role},
        }
        if account is None:
            return result
        result["account"] = accounts.view(session, account, now)
        balance = accounts.statement_of(account).balance
        policy = parse_policy(account.creditor.policy)
        result["authority"] = _authority_json(authority(policy, staff.tier, balance, account.currency))
        above = next_tier(staff.tier)
        if above is not None:
            result["authority_above"] = _authority_json(authority(policy, above, balance, account.currency))
        result["approvals"] = [_approval_json(a, account) for a in session.scalars(
            select(ApprovalRequest).where(ApprovalRequest.account_id == account.id).order_by(ApprovalRequest.id))]
        offer = _open_offer(session, handoff.conversation_id)
        result["offer"] = _offer_json(offer, account) if offer is not None else None
        result["audit"] = [{"at": as_utc(e.occurred_at).isoformat(), "actor": e.actor, "action": e.action,
                            "details": e.details} for e in audit.events_for(session, account)]
        return result


def conversation_for(uow: SqlUnitOfWork, handoff_id: int, staff: Staff) -> str:
    """The conversation of a handoff this person may look at (for its transcript)."""
    with uow:
        return _visible(uow.session, handoff_id, staff).conversation_id


def add_note(uow: SqlUnitOfWork, handoff_id: int, staff: Staff, text: str) -> dict[str, Any]:
    """A private note on the account (and the handoff): staff only, never sent."""
    text = text.strip()
    if not text or len(text) > MAX_NOTE_CHARS:
        raise Invalid(f"a note has 1 to {MAX_NOTE_CHARS} characters")
    with uow:
        session = uow.session
        handoff = _visible(session, handoff_id, staff)
        account = handoffs.account_of(session, handoff)
        note = StaffNote(account_id=account.id if account else None, handoff_id=handoff.id, author=staff.login,
                         text=text, created_at=uow.now())
        session.add(note)
        audit.record(session, "note_added", actor=staff.login, account=account,
                     conversation_id=handoff.conversation_id, at=uow.now(), handoff=handoff.id)
        return {"author": staff.login, "text": text, "at": uow.now().isoformat()}


# --- agreements from the console ------------------------------------------------------------------------

def _date(form: dict[str, Any], key: str, default: date) -> date:
    raw = form.get(key)
    if raw in (None, ""):
        return default
    try:
        return parse_iso_date(str(raw))
    except DateError as error:
        raise Invalid(str(error)) from None


def _amount(form: dict[str, Any], key: str, currency: str) -> Decimal:
    raw = form.get(key)
    if raw in (None, ""):
        raise Invalid(f"{key.replace('_', ' ')} is required")
    try:
        amount = parse_amount(str(raw), currency)
    except MoneyError as error:
        raise Invalid(str(error)) from None
    if amount <= 0:
        raise Invalid(f"{key} must be more than nothing")
    return amount


def terms_from_form(form: dict[str, Any], balance: Decimal, currency: str, today: date) -> Terms:
    """The terms a console form describes: plan (months or monthly), settlement, promise, or pay in full."""
    kind = form.get("kind")
    if kind not in AGREEMENT_KINDS:
        raise Invalid(f"kind must be one of {', '.join(AGREEMENT_KINDS)}")
    if kind == "plan":
        first_due = _date(form, "first_due", today)
        if form.get("months") not in (None, ""):
            try:
                months = int(str(form["months"]))
            except ValueError:
                raise Invalid("months must be a whole number") from None
            if not 1 <= months <= 600:
                raise Invalid("months must be from 1 to 600")
            return plan_by_months(balance, months, first_due, currency)
        return plan_by_monthly(balance, _amount(form, "monthly", currency), first_due, currency)
    if kind == "settlement":
        return SettlementTerms(_amount(form, "amount", currency), _date(form, "pay_by", today))
    if kind == "promise":
        return PromiseTerms(_amount(form, "amount", currency), _date(form, "pay_on", today))
    return PromiseTerms(balance, _date(form, "pay_on", today))


def _open_offer(session: Session, conversation_id: str) -> ConsoleOffer | None:
    return session.scalars(select(ConsoleOffer).where(
        ConsoleOffer.conversation_id == conversation_id, ConsoleOffer.status == "open")
        .order_by(ConsoleOffer.id.desc())).first()


def _withdraw_offers(session: Session, conversation_id: str, at: datetime) -> None:
    for offer in session.scalars(select(ConsoleOffer).where(
            ConsoleOffer.conversation_id == conversation_id, ConsoleOffer.status == "open")):
        offer.status, offer.answered_at = "withdrawn", at


def record_terms(uow: SqlUnitOfWork, account: Account, terms: Terms, actor: Actor, conversation_id: str | None,
                 requested_by: str | None = None) -> agreements.Recorded:
    """`agreements.record` at `actor`'s tier, its refusals as the desk's errors (Paused, Invalid)."""
    try:
        return agreements.record(uow, account.account_ref, terms, actor, conversation_id, requested_by=requested_by)
    except CollectionPaused as paused:
        raise Paused(f"collection is paused on this account ({paused.hold.status}): no new agreement") from None
    except NotAuthorised as refused:
        raise Invalid("; ".join(refused.problems)) from None


def agree(uow: SqlUnitOfWork, handoff_id: int, staff: Staff, form: dict[str, Any], note: str = "",
          agreed_by_phone: bool = False) -> Offer | Recorded | ApprovalRequested:
    """Terms from the console, checked by the one authorisation rule at this person's tier.

    Within it: recorded now when the debtor agreed by phone, else sent to the debtor (`Offer`) and recorded on
    their yes (`debtor_answered`). Beyond it but within the supervisor's: an approval request with the agent's
    note. Beyond every tier, invalid, or on a paused account: refused (Invalid, Paused). `uow` must be a locking
    unit of work (agreements.record).
    """
    with uow:
        session, now = uow.session, uow.now()
        handoff = _working(session, handoff_id, staff)
        account = _account(session, handoff)
        if not handoffs.verification_of(session, handoff.conversation_id).verified and not agreed_by_phone:
            raise Invalid("the debtor is not verified in this conversation: no terms may be sent to them")
        hold = cases.hold_of(account)
        if hold is not None:
            raise Paused(f"collection is paused on this account ({hold.status}): no new agreement")
        balance = accounts.statement_of(account).balance
        today = accounts.local_today(account, now)
        terms = terms_from_form(form, balance, account.currency, today)
        approval = request_beyond_tier(session, account, staff, terms, note, now,
                                       handoff_id=handoff.id, conversation_id=handoff.conversation_id)
        if approval is not None:
            return approval
        if agreed_by_phone:
            recorded = record_terms(uow, account, terms, Actor(staff.tier, staff.login), handoff.conversation_id)
            _withdraw_offers(session, handoff.conversation_id, now)
            return Recorded(recorded.kind, en.summary(terms, account.currency))
        _withdraw_offers(session, handoff.conversation_id, now)
        offer = ConsoleOffer(conversation_id=handoff.conversation_id, account_id=account.id,
                             terms=terms_to_dict(terms), offered_by=staff.login, tier=staff.tier, status="open",
                             created_at=now)
        session.add(offer)
        session.flush()
        audit.record(session, "terms_offered", actor=staff.login, account=account,
                     conversation_id=handoff.conversation_id, at=now, id=offer.id, terms=terms_to_dict(terms))
        return Offer(offer.id, handoff.conversation_id, handoffs.channel_of(session, handoff.conversation_id),
                     en.terms_for_yes_or_no(terms, account.currency),
                     [{"title": "Yes", "payload": YES}, {"title": "No", "payload": NO}])


def request_beyond_tier(session: Session, account: Account, staff: Staff, terms: Terms, note: str, now: datetime, *,
                        handoff_id: int | None, conversation_id: str | None) -> ApprovalRequested | None:
    """None when `terms` are within this person's tier; else an approval request for the tier above, with their
    note (raises Invalid when they are beyond every tier). The one rule, `authority_problems`, decides."""
    balance = accounts.statement_of(account).balance
    today = accounts.local_today(account, now)
    policy = parse_policy(account.creditor.policy)
    problems = authority_problems(terms, balance, policy, staff.tier, today, account.currency)
    if not problems:
        return None
    above = next_tier(staff.tier)
    if above is None or authority_problems(terms, balance, policy, above, today, account.currency):
        raise Invalid("; ".join(problems))
    approval = ApprovalRequest(account_id=account.id, handoff_id=handoff_id, conversation_id=conversation_id,
                               kind=_kind(terms), terms=terms_to_dict(terms) | {"problems": problems},
                               requested_by=staff.login, note=note.strip()[:MAX_NOTE_CHARS], status="pending",
                               created_at=now)
    session.add(approval)
    session.flush()
    audit.record(session, "approval_requested", actor=staff.login, account=account, conversation_id=conversation_id,
                 at=now, id=approval.id, kind=approval.kind, terms=terms_to_dict(terms))
    return ApprovalRequested(approval.id, problems)


def _kind(terms: Terms) -> str:
    return "plan" if isinstance(terms, PlanTerms) else "settlement" if isinstance(terms, SettlementTerms) else "promise"


def debtor_answered(uow: SqlUnitOfWork, conversation_id: str, intent: str | None) -> Answered | None:
    """The debtor's answer to terms a person sent: yes records them at that person's tier (the same check as
    ever, so terms gone stale are refused, not recorded); no declines them; anything else leaves them open.
    None when no terms await an answer in the conversation. `uow` must be a locking unit of work."""
    if intent not in ("affirm", "deny"):
        return None
    with uow:
        session, now = uow.session, uow.now()
        offer = _open_offer(session, conversation_id)
        if offer is None:
            return None
        account = session.get(Account, offer.account_id)
        if account is None:  # pragma: no cover - the foreign key forbids it
            return None
        handoff = session.scalars(select(Handoff).where(Handoff.conversation_id == conversation_id,
                                                        Handoff.status != "closed")).first()
        channel = handoffs.channel_of(session, conversation_id)
        offer.answered_at = now
        if intent == "deny":
            offer.status = "declined"
            audit.record(session, "terms_declined", actor="debtor", account=account, conversation_id=conversation_id,
                         at=now, id=offer.id)
            return Answered(conversation_id, channel, en.terms_declined(), False, handoff.id if handoff else None)
        terms = terms_from_dict(offer.terms)
        try:
            with uow:  # the recording is all or nothing; the offer's answer is kept either way
                agreements.record(uow, account.account_ref, terms, Actor(offer.tier, offer.offered_by),
                                  conversation_id, requested_by=offer.requested_by)
        except (CollectionPaused, NotAuthorised):
            offer.status = "declined"
            audit.record(session, "terms_lapsed", actor=offer.offered_by, account=account,
                         conversation_id=conversation_id, at=now, id=offer.id)
            return Answered(conversation_id, channel, en.terms_lapsed(), False, handoff.id if handoff else None)
        offer.status = "accepted"
        return Answered(conversation_id, channel, en.summary(terms, account.currency) + " "
                        + en.instructions_for(account.account_ref), True, handoff.id if handoff else None)


# --- the supervisor's approval queue ---------------------------------------------------------------------

def approvals(uow: SqlUnitOfWork, staff: Staff) -> list[dict[str, Any]]:
    """Approval requests waiting for a supervisor, oldest first."""
    _supervisor(staff)
    with uow:
        session = uow.session
        rows = session.execute(select(ApprovalRequest, Account).join(Account, Account.id == ApprovalRequest.account_id)
                               .where(ApprovalRequest.status == "pending").order_by(ApprovalRequest.id)).all()
        return [_approval_json(approval, account) for approval, account in rows]


def _pending(session: Session, approval_id: int) -> tuple[ApprovalRequest, Account]:
    approval = session.get(ApprovalRequest, approval_id)
    if approval is None:
        raise NotFound(f"no approval request {approval_id}")
    if approval.status != "pending":
        raise handoffs.HandoffError(f"this request was already {approval.status} by {approval.decided_by}")
    account = session.get(Account, approval.account_id)
    if account is None:  # pragma: no cover - the foreign key forbids it
        raise NotFound(f"no account for approval request {approval_id}")
    return approval, account


def approve(uow: SqlUnitOfWork, approval_id: int, staff: Staff, note: str = "") -> dict[str, Any]:
    """Record the requested terms at the supervisor's tier: authorized_by supervisor, authorized_actor the
    supervisor, requested_by the agent (SPEC section 8). `uow` must be a locking unit of work."""
    _supervisor(staff)
    with uow:
        session, now = uow.session, uow.now()
        approval, account = _pending(session, approval_id)
        terms = terms_from_dict({k: v for k, v in approval.terms.items() if k != "problems"})
        record_terms(uow, account, terms, Actor(staff.tier, staff.login), approval.conversation_id,
                requested_by=approval.requested_by)
        if approval.conversation_id:
            _withdraw_offers(session, approval.conversation_id, now)
        approval.status, approval.decided_by, approval.decided_at = "approved", staff.login, now
        approval.decision_note = note.strip()[:MAX_NOTE_CHARS] or None
        audit.record(session, "approval_granted", actor=staff.login, account=account,
                     conversation_id=approval.conversation_id, at=now, id=approval.id,
                     requested_by=approval.requested_by)
        return _approval_json(approval, account)


def reject(uow: SqlUnitOfWork, approval_id: int, staff: Staff, reason: str) -> dict[str, Any]:
    """Refuse an approval request; the reason goes back to the agent."""
    _supervisor(staff)
    reason = reason.strip()
    if not reason or len(reason) > MAX_NOTE_CHARS:
        raise Invalid("say why the request is rejected")
    with uow:
        session, now = uow.session, uow.now()
        approval, account = _pending(session, approval_id)
        approval.status, approval.decided_by, approval.decided_at = "rejected", staff.login, now
        approval.decision_note = reason
        audit.record(session, "approval_rejected", actor=staff.login, account=account,
                     conversation_id=approval.conversation_id, at=now, id=approval.id,
                     requested_by=approval.requested_by)
        return _approval_json(approval, account)


def resolve_dispute(uow: SqlUnitOfWork, reference: str, outcome: str, staff: Staff, note: str = "") -> dict[str, Any]:
    """A supervisor's decision on a dispute, as `python -m bot resolve-dispute` records it."""
    _supervisor(staff)
    try:
        with uow:
            account_ref, status = cases.resolve_dispute(uow, reference, outcome, staff.login, note.strip())
    except cases.UnknownDispute as error:
        raise NotFound(str(error)) from None
    except ValueError as error:
        raise Invalid(str(error)) from None
    return {"reference": reference.strip().upper(), "outcome": outcome, "account_ref": account_ref,
            "status": status}


# --- handing back -----------------------------------------------------------------------------------------

def _handing_back(session: Session, handoff_id: int, staff: Staff, disposition: str, note: str,
                  callback_at: datetime | None, now: datetime) -> Handoff:
    if disposition not in DISPOSITIONS:
        raise Invalid(f"disposition must be one of {', '.join(DISPOSITIONS)}")
    if (disposition == "callback") != (callback_at is not None):
        raise Invalid("a callback needs its time, and only a callback has one")
    if len(note) > MAX_NOTE_CHARS:
        raise Invalid(f"a note has at most {MAX_NOTE_CHARS} characters")
    handoff = _working(session, handoff_id, staff)
    if callback_at is not None and not now < callback_at <= now + timedelta(days=90):
        raise Invalid("a callback time is in the next 90 days")
    return handoff


def prepare_hand_back(uow: SqlUnitOfWork, handoff_id: int, staff: Staff, disposition: str, note: str = "",
                      callback_at: datetime | None = None) -> HandBack:
    """Check a hand back without closing anything: what the console resumes the assistant with, before it closes
    the handoff (`hand_back`). In that order, a Rasa server that cannot be reached leaves the conversation with
    the person, to try again, rather than closed with the assistant still silent."""
    with uow:
        session = uow.session
        handoff = _handing_back(session, handoff_id, staff, disposition, note, callback_at, uow.now())
        return HandBack(handoff.conversation_id, handoffs.channel_of(session, handoff.conversation_id),
                        en.back_with_assistant())


def hand_back(uow: SqlUnitOfWork, handoff_id: int, staff: Staff, disposition: str, note: str = "",
              callback_at: datetime | None = None) -> HandBack:
    """Close the handoff with its disposition (and a callback time that puts the conversation back in the queue
    then); the assistant is resumed in the conversation with `text` (see `prepare_hand_back`)."""
    with uow:
        session, now = uow.session, uow.now()
        handoff = _handing_back(session, handoff_id, staff, disposition, note, callback_at, now)
        _withdraw_offers(session, handoff.conversation_id, now)
        handoffs.close(session, handoff, staff.login, disposition, note.strip(), callback_at, now)
        return HandBack(handoff.conversation_id, handoffs.channel_of(session, handoff.conversation_id),
                        en.back_with_assistant())
