"""Call-assist: a collector's phone call, each step a use case in one transaction (SPEC section 8).

The person is a `Staff` whose tier comes from their login. Before dialling, the one outbound check
(`contact.outbound_verdict`, channel "call") decides, and every call started is an attempt the 7-in-7 rule counts.
Each utterance (typed by the person, or transcribed by the telephony provider) comes with its NLU reading, made
by the caller with the assistant's model; the facts are gathered here and `bot.domain.calls` decides the
warnings. Offers come from the negotiation use case the assistant uses, at the person's tier; agreements, disputes,
flags and contact points go through the services the assistant uses, audited with the login.

Errors are `DeskError`s with the HTTP status that says what went wrong.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from bot.config import agency_name, agency_phone
from bot.domain import calls as rules
from bot.domain.compliance import outside_window, rule_set
from bot.domain.console import DISPOSITIONS, Staff, authority, next_tier
from bot.domain.money import format_money, from_minor, to_minor
from bot.domain.negotiation import PlanTerms, SettlementTerms, authority_problems, terms_from_dict
from bot.domain.phones import region_of_timezone, to_e164
from bot.domain.phrases import amounts_in, is_per_month
from bot.domain.policy import parse_policy
from bot.domain.verification import normalise_reference
from bot.presenters import call as words
from bot.presenters import terms as en
from bot.services import accounts, audit, cases, identity, negotiation
from bot.services.agreements import Actor
from bot.services.contact import outbound_verdict
from bot.services.desk import (
    MAX_NOTE_CHARS,
    ApprovalRequested,
    Forbidden,
    Invalid,
    NotFound,
    Paused,
    RuleRefused,
    debt_terms,
    record_terms,
    request_beyond_tier,
    terms_from_form,
)
from bot.services.handoffs import HandoffError
from bot.services.identity import Outcome
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage.db import as_utc
from bot.storage.orm import Account, Agent, Call, CallUtterance, ContactPoint, Debtor, StaffNote

MAX_UTTERANCE_CHARS = 1000  # a turn of speech; more is a paste
SEARCH_LIMIT = 20


class CallRefused(RuleRefused):
    """The contact rules forbid this call now; `rule` names the one it would break."""


class CallEnded(HandoffError):
    status = 409

    def __init__(self) -> None:
        super().__init__("this call has ended")


@dataclass(frozen=True)
class Reading:
    """The NLU model's reading of an utterance (the caller parses it with the assistant's model)."""

    intent: str | None
    confidence: float


def conversation_of(call: Call) -> str:
    """The conversation id the call's agreements, disputes and audit entries carry."""
    return f"call-{call.id}"


# --- finding an account and starting a call ------------------------------------------------------------

def _search_item(account: Account) -> dict[str, Any]:
    statement = accounts.statement_of(account)
    return {"account_ref": account.account_ref, "name": account.debtor.name, "phones": accounts.phones_of(account),
            "status": account.status, "holds": sorted(cases.active_flags(account)),
            "balance": str(statement.balance), "currency": account.currency}


def search(uow: SqlUnitOfWork, staff: Staff, query: str) -> list[dict[str, Any]]:
    """Accounts by reference (its start), phone number (any way it is written) or the debtor's name."""
    query = " ".join(query.split())[:100]
    if len(query) < 2:
        raise Invalid("type at least two characters of a reference, a phone number or a name")
    with uow:
        session = uow.session
        conditions = [func.upper(Account.account_ref).like(_like(normalise_reference(query)) + "%", escape="\\"),
                      func.lower(Debtor.name).like("%" + _like(query.lower()) + "%", escape="\\")]
        phone = _as_phone(query)
        if phone is not None:
            conditions.append(Account.debtor_id.in_(select(ContactPoint.debtor_id).where(ContactPoint.value == phone)))
        found = session.scalars(select(Account).join(Debtor, Debtor.id == Account.debtor_id)
                                .options(joinedload(Account.debtor)).where(or_(*conditions))
                                .order_by(Account.account_ref).limit(SEARCH_LIMIT)).unique().all()
        audit.record(session, "accounts_searched", actor=staff.login, at=uow.now(), results=len(found))
        return [_search_item(account) for account in found]


def _like(text: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", text)


def _as_phone(text: str, region: str | None = "US") -> str | None:
    """A search or a dialled number as contact points are kept (E.164, `phones.to_e164`); a number without its
    country code is read in `region` (the default rule set's country when no account says otherwise)."""
    return to_e164(text, region) if sum(ch.isdigit() for ch in text) >= 7 else None


def start(uow: SqlUnitOfWork, staff: Staff, account_ref: str, phone: str) -> dict[str, Any]:
    """Record a call attempt to `phone`, if the contact rules allow a call now; else CallRefused (audited)."""
    with uow:
        session, now = uow.session, uow.now()
        account = _account(session, account_ref)
        number = _as_phone(phone, region_of_timezone(account.debtor.timezone)) or phone.strip()
        verdict = outbound_verdict(session, account, "call", number, now)
        if not verdict.allowed:
            audit.record(session, "call_refused", actor=staff.login, account=account, at=now, rule=verdict.rule,
                         reason=verdict.reason)
        else:
            call = Call(account_id=account.id, agent=staff.login, phone=number, started_at=now)
            session.add(call)
            session.flush()
            audit.record(session, "call_started", actor=staff.login, account=account,
                         conversation_id=conversation_of(call), at=now, id=call.id)
            return _view(uow, call, account)
    raise CallRefused(verdict.rule, verdict.reason[0].upper() + verdict.reason[1:] + ".")


def _account(session: Session, account_ref: str) -> Account:
    try:
        return accounts.get(session, account_ref)
    except accounts.UnknownAccount:
        raise NotFound(f"no account {account_ref!r}") from None


# --- the call's record ---------------------------------------------------------------------------------------

def _call(session: Session, call_id: int, staff: Staff, *, open_only: bool = True) -> tuple[Call, Account]:
    """A call this person may act on: theirs (a supervisor: any); an ended one only to read."""
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"no call {call_id}")
    if call.agent != staff.login and not staff.is_supervisor:
        raise Forbidden(f"this call is {call.agent}'s")
    if open_only and call.ended_at is not None:
        raise CallEnded()
    account = session.get(Account, call.account_id)
    if account is None:  # pragma: no cover - the foreign key forbids it
        raise NotFound(f"no account for call {call_id}")
    return call, account


def _checklist(call: Call) -> dict[str, bool]:
    return {"verified": call.verified_at is not None, "disclosure_given": call.disclosure_at is not None,
            "validation_notice": call.validation_notice_at is not None}


def _raised(call: Call) -> list[str]:
    """Every warning raised on the call so far, in the order first raised."""
    return list(dict.fromkeys(code for utterance in call.utterances for code in utterance.warnings))


def _utterance_json(utterance: CallUtterance) -> dict[str, Any]:
    return {"speaker": utterance.speaker, "text": utterance.text, "intent": utterance.intent,
            "warnings": list(utterance.warnings), "at": as_utc(utterance.said_at).isoformat(),
            "source": utterance.source}


def _view(uow: SqlUnitOfWork, call: Call, account: Account) -> dict[str, Any]:
    session, now = uow.session, uow.now()
    zone = ZoneInfo(account.debtor.timezone)
    return {
        "id": str(call.id), "account_ref": account.account_ref, "agent": call.agent, "phone": call.phone,
        "started_at": as_utc(call.started_at).isoformat(),
        "ended_at": as_utc(call.ended_at).isoformat() if call.ended_at else None,
        "outcome": call.outcome, "disposition": call.disposition, "debtor_name": account.debtor.name,
        "debtor_local_time": now.astimezone(zone).isoformat(timespec="minutes"),
        "checklist": _checklist(call), "utterances": [_utterance_json(u) for u in call.utterances],
        "warnings_raised": words.warning_details(_raised(call)),
        "offers": _offers(uow, call, account, Staff(call.agent, _role(session, call.agent))),
        "voicemail": words.voicemail(call.agent, agency_name(), agency_phone()),
        "account": accounts.view(session, account, now), "twiml_url": f"/twilio/voice/{call.id}",
        "outcomes": list(rules.OUTCOMES), "dispositions": list(DISPOSITIONS),
    }


def _role(session: Session, login: str) -> str:
    agent = session.get(Agent, login)
    return agent.role if agent is not None else "agent"


def view(uow: SqlUnitOfWork, staff: Staff, call_id: int) -> dict[str, Any]:
    """The call as its screen shows it (an ended one too, to read)."""
    with uow:
        call, account = _call(uow.session, call_id, staff, open_only=False)
        return _view(uow, call, account)


# --- what may be offered now ---------------------------------------------------------------------------------

def _offers(uow: SqlUnitOfWork, call: Call, account: Account, staff: Staff, said: str = "") -> dict[str, Any] | None:
    """The person's authority on this account now, or None while nothing about the debt may be offered: before
    verification, on a hold, after a warning that stops talk of the debt, or once the call has ended. A monthly
    amount or a lump sum the debtor just named is answered by the negotiation use case the assistant uses."""
    if call.verified_at is None or call.ended_at is not None or rules.stops_talk_of_the_debt(_raised(call)):
        return None
    if cases.hold_of(account) is not None:
        return None
    policy = parse_policy(account.creditor.policy)
    balance, currency = accounts.statement_of(account).balance, account.currency
    today = accounts.local_today(account, uow.now())
    power = authority(policy, staff.tier, balance, currency)
    hardship = "hardship" in _raised(call)
    plans = [p for p in (_plan(uow, call, account, staff, negotiation.Months(months), hardship)
                         for months in dict.fromkeys((power.max_plan_months, min(6, power.max_plan_months))))
             if p is not None]
    named = _named(said)

    def money(amount: Decimal) -> str:  # as the account's currency writes it: "80.00", not "80"
        return str(from_minor(to_minor(amount, currency), currency))

    result: dict[str, Any] = {
        "tier": staff.tier, "currency": currency, "balance": str(balance),
        "settlement_ladder": [{"discount_pct": str(step.discount_pct), "amount": str(step.amount)}
                              for step in power.settlement_ladder],
        "settlement_floor": str(power.settlement_floor),
        "settlement_pay_by": (today + timedelta(days=power.settlement_pay_within_days)).isoformat(),
        "plans": [], "promise_latest": (today + timedelta(days=power.promise_max_days)).isoformat(),
        "named": None, "needs_supervisor": None, "supervisor_floor": None,
    }
    if named is not None and is_per_month(said):
        plan = _plan(uow, call, account, staff, negotiation.Monthly(named), hardship)
        plans = ([plan] if plan is not None else []) + plans
        result["named"] = {"kind": "plan", "amount": money(named), "within_authority": True}
    elif named is not None:
        terms = SettlementTerms(named, today + timedelta(days=power.settlement_pay_within_days))
        within = not authority_problems(terms, balance, policy, staff.tier, today, currency)
        result["named"] = {"kind": "settlement", "amount": money(named), "within_authority": within}
    result["plans"] = [{"months": p.months, "monthly": money(p.monthly), "first_due": p.installments[0].due_on
                        .isoformat(), "hardship": p.hardship} for p in dict.fromkeys(plans)]
    above = next_tier(staff.tier)
    if above is not None:
        higher = authority(policy, above, balance, currency)
        result["supervisor_floor"] = str(higher.settlement_floor)
        result["needs_supervisor"] = (
            f"A settlement below {format_money(power.settlement_floor, currency)}, a plan over "
            f"{power.max_plan_months} months or a promise after {result['promise_latest']} needs a supervisor "
            f"(who may settle down to {format_money(higher.settlement_floor, currency)}).")
    return result


def _plan(uow: SqlUnitOfWork, call: Call, account: Account, staff: Staff, asked: negotiation.Asked,
          hardship: bool) -> PlanTerms | None:
    """The nearest plan to `asked` at the person's tier, from the negotiation use case (in the caller's
    transaction: the unit of work is re-entrant)."""
    outcome = negotiation.propose(uow, account.account_ref, Actor(staff.tier, staff.login),
                                  negotiation.Request("plan", asked, hardship=hardship), conversation_of(call))
    if isinstance(outcome, negotiation.Proposal) and isinstance(outcome.terms, PlanTerms):
        return outcome.terms
    return None


def _named(said: str) -> Decimal | None:
    amounts = [a for a in amounts_in(said) if a > 0]
    return amounts[0] if amounts else None


# --- each utterance -----------------------------------------------------------------------------------------

def assist(uow: SqlUnitOfWork, staff: Staff, call_id: int, account_ref: str, speaker: str, text: str,
           reading: Reading, *, source: str = "typed", event_id: str | None = None) -> dict[str, Any]:
    """Record what was said on the call and answer what the screen shows for it (SPEC section 8's
    `POST /api/assist`): the intent, the warnings, the checklist, the offers now, and replies to suggest."""
    if speaker not in rules.SPEAKERS:
        raise Invalid(f"speaker must be one of {', '.join(rules.SPEAKERS)}")
    text = " ".join(text.split())
    if not text or len(text) > MAX_UTTERANCE_CHARS:
        raise Invalid(f"an utterance has 1 to {MAX_UTTERANCE_CHARS} characters")
    with uow:
        session, now = uow.session, uow.now()
        call, account = _call(session, call_id, staff)
        if normalise_reference(account_ref) != normalise_reference(account.account_ref):
            raise Invalid("this call is about another account")
        if event_id is not None and session.scalar(select(CallUtterance.id).where(CallUtterance.event_id == event_id)):
            return {"call_id": str(call.id), "duplicate": True}
        facts = rules.CallFacts(
            verified=call.verified_at is not None, disclosure_given=call.disclosure_at is not None,
            outside_hours=outside_window(now, account.debtor.timezone, rule_set()),
            debt_terms=debt_terms(account), debtor_names=rules.names_of(account.debtor.name),
            line=rules.line_of((u.text, u.warnings) for u in call.utterances if u.speaker == "debtor"),
            represented="attorney" in _raised(call))
        assessment = rules.assess(rules.Heard(speaker, text, reading.intent, reading.confidence), facts)
        if assessment.disclosure_given and call.disclosure_at is None:
            call.disclosure_at = now
        utterance = CallUtterance(call_id=call.id, speaker=speaker, text=text, intent=reading.intent,
                                  warnings=list(assessment.warnings), source=source, event_id=event_id, said_at=now)
        call.utterances.append(utterance)
        session.flush()
        new_stops = [c for c in assessment.warnings if c in rules.STOPPING_WARNINGS]
        if new_stops:
            audit.record(session, "call_warning", actor=staff.login, account=account,
                         conversation_id=conversation_of(call), at=now, warnings=new_stops)
        offers = _offers(uow, call, account, staff, text if speaker == "debtor" else "")
        return {
            "call_id": str(call.id), "intent": reading.intent, "confidence": reading.confidence,
            "warnings": list(assessment.warnings), "warning_details": words.warning_details(assessment.warnings),
            "warnings_raised": words.warning_details(_raised(call)), "checklist": _checklist(call),
            "offers": offers, "suggestions": words.suggestions(_suggestion_facts(call, account, offers),
                                                               assessment.warnings, reading.intent, speaker),
            "utterance": _utterance_json(utterance),
        }


def _suggestion_facts(call: Call, account: Account, offers: dict[str, Any] | None) -> words.SuggestionFacts:
    verified = call.verified_at is not None
    plans = offers["plans"] if offers else []
    return words.SuggestionFacts(
        verified=verified, disclosure_given=call.disclosure_at is not None,
        balance=accounts.statement_of(account).balance if verified else None, currency=account.currency,
        agency=agency_name(), creditor=account.creditor.name if verified else None,
        lowest_monthly=min((Decimal(p["monthly"]) for p in plans), default=None),
        floor=Decimal(offers["settlement_floor"]) if offers else None)


# --- the checklist ----------------------------------------------------------------------------------------

def verify(uow: SqlUnitOfWork, staff: Staff, call_id: int, reference: str, date_of_birth: str) -> dict[str, Any]:
    """The person asked the reference and date of birth: checked against the account as the assistant checks
    them (the same lockout after repeated failures). A reference of another account fails. `uow` must be a
    locking unit of work."""
    with uow:
        session, now = uow.session, uow.now()
        call, account = _call(session, call_id, staff)
        if normalise_reference(reference) != normalise_reference(account.account_ref):
            audit.record(session, "call_verification_failed", actor=staff.login, account=account,
                         conversation_id=conversation_of(call), at=now, why="another reference")
            return {"verified": False, "message": "That reference is not this account's.",
                    "call": _view(uow, call, account)}
        result = identity.verify(uow, account.account_ref, date_of_birth, conversation_id=conversation_of(call),
                                 client=f"staff:{staff.login}", channel="call")
        verified = result.outcome is Outcome.VERIFIED and result.account_ref == account.account_ref
        if verified:
            call.verified_at = now
        message = ("Verified: the reference and date of birth match." if verified else
                   "That is not a date of birth." if result.outcome is Outcome.NOT_AN_ANSWER else
                   f"Too many failed attempts: verification is locked until {result.locked_until:%H:%M} UTC."
                   if result.outcome is Outcome.REFUSED and result.locked_until else
                   "The reference and date of birth do not match this account.")
        return {"verified": verified, "message": message, "call": _view(uow, call, account)}


def tick(uow: SqlUnitOfWork, staff: Staff, call_id: int, item: str) -> dict[str, Any]:
    """The person says the disclosure or the validation notice was given."""
    if item not in ("disclosure_given", "validation_notice"):
        raise Invalid("item must be disclosure_given or validation_notice")
    with uow:
        session, now = uow.session, uow.now()
        call, account = _call(session, call_id, staff)
        if item == "disclosure_given":
            call.disclosure_at = call.disclosure_at or now
        else:
            call.validation_notice_at = call.validation_notice_at or now
        audit.record(session, f"call_{item}", actor=staff.login, account=account, conversation_id=conversation_of(call),
                     at=now)
        return _view(uow, call, account)


# --- acting on what was said ----------------------------------------------------------------------------

def agree(uow: SqlUnitOfWork, staff: Staff, call_id: int, form: dict[str, Any], note: str = "") -> dict[str, Any]:
    """Terms the debtor agreed on the phone: recorded at this person's tier through the one authorisation check,
    or sent to a supervisor when beyond it. Only once the debtor is verified. `uow` must be a locking unit of
    work (agreements.record)."""
    with uow:
        session, now = uow.session, uow.now()
        call, account = _call(session, call_id, staff)
        if call.verified_at is None:
            raise Invalid("verify the debtor (reference and date of birth) before agreeing anything")
        hold = cases.hold_of(account)
        if hold is not None:
            raise Paused(f"collection is paused on this account ({hold.status}): no new agreement")
        balance = accounts.statement_of(account).balance
        terms = terms_from_form(form, balance, account.currency, accounts.local_today(account, now))
        approval = request_beyond_tier(session, account, staff, terms, note, now, handoff_id=None,
                                       conversation_id=conversation_of(call))
        if isinstance(approval, ApprovalRequested):
            return {"result": "approval_requested", "approval_id": approval.approval_id,
                    "problems": approval.problems, "call": _view(uow, call, account)}
        recorded = record_terms(uow, account, terms, Actor(staff.tier, staff.login), conversation_of(call))
        session.expire(account)  # its agreements, as the record now has them
        return {"result": "recorded", "kind": recorded.kind, "summary": en.summary(terms, account.currency),
                "call": _view(uow, call, account)}


def dispute(uow: SqlUnitOfWork, staff: Staff, call_id: int, reason: str, details: str = "") -> dict[str, Any]:
    """The debtor disputes the debt: collection pauses (cases.open_dispute, as when they tell the assistant)."""
    with uow:
        session = uow.session
        call, account = _call(session, call_id, staff)
        try:
            record = cases.open_dispute(uow, account.account_ref, reason, details.strip()[:MAX_NOTE_CHARS],
                                        conversation_of(call), actor=staff.login)
        except ValueError as error:
            raise Invalid(str(error)) from None
        return {"reference": record.reference, "new": record.new, "call": _view(uow, call, account)}


def flag(uow: SqlUnitOfWork, staff: Staff, call_id: int, name: str) -> dict[str, Any]:
    """A cease request, an attorney or a bankruptcy, said on the call: collection stops (cases.raise_flag)."""
    with uow:
        session = uow.session
        call, account = _call(session, call_id, staff)
        try:
            cases.raise_flag(uow, account.account_ref, name, conversation_of(call), actor=staff.login)
        except ValueError as error:
            raise Invalid(str(error)) from None
        return {"call": _view(uow, call, account)}


def add_contact(uow: SqlUnitOfWork, staff: Staff, call_id: int, kind: str, value: str) -> dict[str, Any]:
    """A phone or email the debtor gave on the call, kept unverified (cases.add_contact_points)."""
    if kind not in ("phone", "email") or not value.strip() or len(value) > 320:
        raise Invalid("a contact point is a phone or an email, of 1 to 320 characters")
    with uow:
        session, now = uow.session, uow.now()
        call, account = _call(session, call_id, staff)
        update = cases.add_contact_points(uow, account.account_ref, [(kind, value.strip())], conversation_of(call))
        audit.record(session, "call_contact_point", actor=staff.login, account=account,
                     conversation_id=conversation_of(call), at=now, added=len(update.added))
        if update.unreadable:
            raise Invalid(f"{value.strip()} is not a phone number we can use")
        return {"added": list(update.added), "known": list(update.known), "call": _view(uow, call, account)}


# --- how the call ended -------------------------------------------------------------------------------------

def set_outcome(uow: SqlUnitOfWork, staff: Staff, call_id: int, outcome: str) -> dict[str, Any]:
    """No answer, voicemail, wrong party or conversation: what the attempt came to (the call rules count it).
    A wrong party marks the number as reaching the wrong person."""
    if outcome not in rules.OUTCOMES:
        raise Invalid(f"outcome must be one of {', '.join(rules.OUTCOMES)}")
    with uow:
        session, now = uow.session, uow.now()
        call, account = _call(session, call_id, staff)
        call.outcome = outcome
        if outcome == "wrong_party":
            cases.report_wrong_party(uow, conversation_of(call), [call.phone], account.account_ref)
        audit.record(session, "call_outcome", actor=staff.login, account=account, conversation_id=conversation_of(call),
                     at=now, outcome=outcome)
        return _view(uow, call, account)


def draft_summary(uow: SqlUnitOfWork, staff: Staff, call_id: int) -> str:
    """The call's note, drafted from its record: the debtor's intents, the warnings, the offers made and agreed."""
    with uow:
        session = uow.session
        call, account = _call(session, call_id, staff, open_only=False)
        intents = Counter(u.intent for u in call.utterances if u.speaker == "debtor" and u.intent
                          and u.intent != "nlu_fallback")
        conversation = conversation_of(call)
        recorded = [_describe(e.action, e.details, account.currency) for e in audit.events_for(session, account)
                    if e.conversation_id == conversation and e.action.endswith("_agreed")]
        asked = [_describe(e.action, e.details, account.currency) for e in audit.events_for(session, account)
                 if e.conversation_id == conversation and e.action == "approval_requested"]
        return words.summary(call.agent, account.account_ref, intents, _raised(call),
                             [f"{a} (sent to a supervisor)" for a in asked], call.outcome, recorded)


def _describe(action: str, details: dict[str, Any], currency: str) -> str:
    try:
        return en.summary(terms_from_dict(details["terms"]), currency)
    except (KeyError, TypeError, ValueError):
        return action.replace("_", " ")


def end(uow: SqlUnitOfWork, staff: Staff, call_id: int, outcome: str, disposition: str, note: str) -> dict[str, Any]:
    """End the call with its outcome and disposition; the (corrected) summary is saved as a note on the account."""
    if outcome not in rules.OUTCOMES:
        raise Invalid(f"outcome must be one of {', '.join(rules.OUTCOMES)}")
    if disposition not in DISPOSITIONS:
        raise Invalid(f"disposition must be one of {', '.join(DISPOSITIONS)}")
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise Invalid(f"a note has at most {MAX_NOTE_CHARS} characters")
    with uow:
        session, now = uow.session, uow.now()
        call, account = _call(session, call_id, staff)
        if outcome == "wrong_party" and call.outcome != "wrong_party":
            cases.report_wrong_party(uow, conversation_of(call), [call.phone], account.account_ref)
        call.outcome, call.disposition, call.ended_at = outcome, disposition, now
        if note:
            session.add(StaffNote(account_id=account.id, author=staff.login, text=note, created_at=now))
        audit.record(session, "call_ended", actor=staff.login, account=account, conversation_id=conversation_of(call),
                     at=now, outcome=outcome, disposition=disposition)
        return _view(uow, call, account)


# --- the telephony provider's side ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Transcribed:
    """Whose call a transcription event is on: the person (at their tier) and the account."""

    staff: Staff
    account_ref: str


def transcribed_call(uow: SqlUnitOfWork, call_id: int, call_sid: str) -> Transcribed:
    """The call a signed transcription event belongs to. The first event binds the provider's call sid to it;
    an event of another call is refused (Forbidden), and so is one after the call ended."""
    with uow:
        session = uow.session
        call = session.get(Call, call_id)
        if call is None:
            raise NotFound(f"no call {call_id}")
        if call.ended_at is not None:
            raise CallEnded()
        if call.call_sid is None:
            call.call_sid = call_sid
        elif call.call_sid != call_sid:
            raise Forbidden("this event is from another call")
        account = session.get(Account, call.account_id)
        assert account is not None  # the foreign key
        return Transcribed(Staff(call.agent, _role(session, call.agent)), account.account_ref)

