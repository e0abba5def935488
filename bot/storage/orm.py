"""Tables. Money is stored as integer minor units of the account's currency; times in UTC.

Typing (SQLAlchemy 1.4's mypy plugin): every column that cannot be NULL says `Mapped[T]`, so that code reading
it gets a `T`; a nullable column with a SQL type is left unannotated and the plugin infers `T | None` (it rejects
an explicit `Mapped[T | None]` there under current mypy); a foreign key, from which it can infer nothing, is
always annotated; relationships say whether they are one row or a list.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, declarative_base, declarative_mixin, relationship

Base = declarative_base()


def utcnow() -> datetime:
    """Now, in UTC: the default of every timestamp column."""
    return datetime.now(UTC)


class Creditor(Base):
    __tablename__ = "creditors"
    id: Mapped[str] = Column(String(64), primary_key=True)
    name: Mapped[str] = Column(String(200), nullable=False)
    policy: Mapped[dict[str, Any]] = Column(JSON, nullable=False)  # as imported: the contract keys plus any extras
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class Debtor(Base):
    __tablename__ = "debtors"
    __table_args__ = (UniqueConstraint("name", "date_of_birth", "postcode", name="uq_debtor_identity"),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    name: Mapped[str] = Column(String(200), nullable=False)
    date_of_birth: Mapped[date] = Column(Date, nullable=False)
    postcode: Mapped[str] = Column(String(20), nullable=False, default="")
    timezone: Mapped[str] = Column(String(64), nullable=False)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    contact_points: Mapped[list[ContactPoint]] = relationship(
        "ContactPoint", back_populates="debtor", order_by="ContactPoint.id")
    accounts: Mapped[list[Account]] = relationship("Account", back_populates="debtor", order_by="Account.id")


class ContactPoint(Base):
    __tablename__ = "contact_points"
    __table_args__ = (UniqueConstraint("debtor_id", "kind", "value", name="uq_contact_point"),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    debtor_id: Mapped[int] = Column(ForeignKey("debtors.id"), nullable=False, index=True)
    kind: Mapped[str] = Column(String(16), nullable=False)  # phone | email | address
    value: Mapped[str] = Column(String(320), nullable=False, index=True)
    source: Mapped[str] = Column(String(16), nullable=False)  # import | debtor | agent
    verified: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    status: Mapped[str] = Column(String(16), nullable=False, default="active")  # active | wrong
    sms_opt_out: Mapped[bool] = Column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    debtor: Mapped[Debtor] = relationship("Debtor", back_populates="contact_points")


class Account(Base):
    __tablename__ = "accounts"
    # References are matched without regard to case (accounts.find): an index on what the queries compare.
    __table_args__ = (Index("ix_accounts_account_ref_upper", func.upper(text("account_ref"))),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    account_ref: Mapped[str] = Column(String(64), nullable=False, unique=True)
    creditor_id: Mapped[str] = Column(ForeignKey("creditors.id"), nullable=False, index=True)
    debtor_id: Mapped[int] = Column(ForeignKey("debtors.id"), nullable=False, index=True)
    original_creditor: Mapped[str] = Column(String(200), nullable=False, default="")
    currency: Mapped[str] = Column(String(3), nullable=False)
    principal_minor: Mapped[int] = Column(BigInteger, nullable=False)
    interest_minor: Mapped[int] = Column(BigInteger, nullable=False)
    fees_minor: Mapped[int] = Column(BigInteger, nullable=False)
    paid_minor: Mapped[int] = Column(BigInteger, nullable=False, default=0)
    written_off_minor: Mapped[int] = Column(BigInteger, nullable=False, default=0)  # a settlement's discount, paid
    placed_on: Mapped[date] = Column(Date, nullable=False)
    validation_ends_on: Mapped[date] = Column(Date, nullable=False)
    status: Mapped[str] = Column(String(24), nullable=False, default="open")
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)
    creditor: Mapped[Creditor] = relationship("Creditor")
    debtor: Mapped[Debtor] = relationship("Debtor", back_populates="accounts")
    plans: Mapped[list[Plan]] = relationship("Plan", order_by="Plan.id")
    settlements: Mapped[list[Settlement]] = relationship("Settlement", order_by="Settlement.id")
    promises: Mapped[list[Promise]] = relationship("Promise", order_by="Promise.id")
    disputes: Mapped[list[Dispute]] = relationship("Dispute", order_by="Dispute.id")
    flags: Mapped[list[AccountFlag]] = relationship("AccountFlag", order_by="AccountFlag.id")
    handoffs: Mapped[list[Handoff]] = relationship("Handoff", order_by="Handoff.id")


@declarative_mixin  # tells the mypy plugin to map these columns onto each agreement table
class _Agreement:
    """Columns every agreement shares: who authorised it, under which policy, from where."""

    status: Mapped[str] = Column(String(16), nullable=False)
    authorized_tier: Mapped[str] = Column(String(16), nullable=False)
    authorized_actor: Mapped[str] = Column(String(100), nullable=False)
    policy_snapshot: Mapped[dict[str, Any]] = Column(JSON, nullable=False)
    conversation_id = Column(String(200), nullable=True, index=True)
    request_key = Column(String(200), nullable=True, unique=True)  # makes retried requests idempotent
    requested_by = Column(String(100), nullable=True)  # an agent's login when a supervisor approved it for them
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    ended_on = Column(Date, nullable=True)  # the day the daily run found it completed, paid, kept or broken
    end_reason = Column(Text, nullable=True)  # why it was broken, in words the debtor may be told
    told_at = Column(DateTime(timezone=True), nullable=True)  # when the assistant told the debtor it was broken


class Plan(_Agreement, Base):
    __tablename__ = "plans"
    id: Mapped[int] = Column(Integer, primary_key=True)
    account_id: Mapped[int] = Column(ForeignKey("accounts.id"), nullable=False, index=True)
    total_minor: Mapped[int] = Column(BigInteger, nullable=False)
    superseded_by_id: Mapped[int | None] = Column(ForeignKey("plans.id"), nullable=True)
    installments: Mapped[list[Installment]] = relationship("Installment", order_by="Installment.sequence")


class Installment(Base):
    __tablename__ = "installments"
    __table_args__ = (UniqueConstraint("plan_id", "sequence", name="uq_installment_sequence"),)
    id: Mapped[int] = Column(Integer, primary_key=True)
    plan_id: Mapped[int] = Column(ForeignKey("plans.id"), nullable=False, index=True)
    sequence: Mapped[int] = Column(Integer, nullable=False)
    due_on: Mapped[date] = Column(Date, nullable=False)
    amount_minor: Mapped[int] = Column(BigInteger, nullable=False)
    status: Mapped[str] = Column(String(16), nullable=False, default="scheduled")
    paid_minor: Mapped[int] = Column(BigInteger, nullable=False, default=0)
    paid_on = Column(Date, nullable=True)


class Settlement(_Agreement, Base):
    __tablename__ = "settlements"
    id: Mapped[int] = Column(Integer, primary_key=True)
    account_id: Mapped[int] = Column(ForeignKey("accounts.id"), nullable=False, index=True)
    amount_minor: Mapped[int] = Column(BigInteger, nullable=False)
    discount_basis_points: Mapped[int] = Column(Integer, nullable=False)
    pay_by: Mapped[date] = Column(Date, nullable=False)


class Promise(_Agreement, Base):
    __tablename__ = "promises"
    id: Mapped[int] = Column(Integer, primary_key=True)
    account_id: Mapped[int] = Column(ForeignKey("accounts.id"), nullable=False, index=True)
    amount_minor: Mapped[int] = Column(BigInteger, nullable=False)
    pay_on: Mapped[date] = Column(Date, nullable=False)


class Dispute(Base):
    __tablename__ = "disputes"
    id: Mapped[int] = Column(Integer, primary_key=True)
    account_id: Mapped[int] = Column(ForeignKey("accounts.id"), nullable=False, index=True)
    reference: Mapped[str] = Column(String(32), nullable=False, unique=True)
    reason: Mapped[str] = Column(String(32), nullable=False)
    details: Mapped[str] = Column(Text, nullable=False, default="")
    status: Mapped[str] = Column(String(16), nullable=False, default="open")
    conversation_id = Column(String(200), nullable=True)
    opened_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    resolved_at = Column(DateTime(timezone=True), nullable=True)
    resolution_note = Column(Text, nullable=True)


class AccountFlag(Base):
    __tablename__ = "account_flags"
    id: Mapped[int] = Column(Integer, primary_key=True)
    account_id: Mapped[int] = Column(ForeignKey("accounts.id"), nullable=False, index=True)
    # cease | attorney | bankruptcy | deceased | deceased_reported
    flag: Mapped[str] = Column(String(32), nullable=False)
    details: Mapped[dict[str, Any]] = Column(JSON, nullable=False, default=dict)
    set_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    cleared_at = Column(DateTime(timezone=True), nullable=True)


class Handoff(Base):
    __tablename__ = "handoffs"
    id: Mapped[int] = Column(Integer, primary_key=True)
    account_id: Mapped[int | None] = Column(ForeignKey("accounts.id"), nullable=True, index=True)
    conversation_id: Mapped[str] = Column(String(200), nullable=False, index=True)
    reason: Mapped[str] = Column(String(32), nullable=False)
    status: Mapped[str] = Column(String(16), nullable=False, default="open", index=True)
    details: Mapped[dict[str, Any]] = Column(JSON, nullable=False, default=dict)
    assigned_to = Column(String(100), nullable=True)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    closed_at = Column(DateTime(timezone=True), nullable=True)
    assigned_at = Column(DateTime(timezone=True), nullable=True)
    disposition = Column(String(16), nullable=True)  # bot.domain.console.DISPOSITIONS, set when closed
    note = Column(Text, nullable=True)  # the closing note (staff only)
    callback_at = Column(DateTime(timezone=True), nullable=True, index=True)  # back in the queue then


class PhoneConversation(Base):
    """The conversation id of each phone number that texts us.

    Ids are random, not the number: the REST and web channels let clients name their conversation,
    and must not be able to name an SMS debtor's (and so read a conversation verified by phone).
    """

    __tablename__ = "phone_conversations"
    id: Mapped[int] = Column(Integer, primary_key=True)
    phone: Mapped[str] = Column(String(32), nullable=False, unique=True)
    conversation_id: Mapped[str] = Column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class AuditEvent(Base):
    """Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "audit_events"
    id: Mapped[int] = Column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    actor: Mapped[str] = Column(String(100), nullable=False)
    action: Mapped[str] = Column(String(48), nullable=False, index=True)
    account_id: Mapped[int | None] = Column(ForeignKey("accounts.id"), nullable=True, index=True)
    conversation_id = Column(String(200), nullable=True, index=True)
    details: Mapped[dict[str, Any]] = Column(JSON, nullable=False, default=dict)


class VerificationAttempt(Base):
    """Every answer to a verification question, kept across conversations and channels.

    Failures are counted per account reference (as given, normalised, whether on file or not, so a lock
    says nothing about which references exist) and per client (an IP address or a phone number).
    """

    __tablename__ = "verification_attempts"
    id: Mapped[int] = Column(Integer, primary_key=True)
    reference = Column(String(64), nullable=True, index=True)
    client = Column(String(200), nullable=True, index=True)
    channel = Column(String(16), nullable=True)
    conversation_id = Column(String(200), nullable=True)
    succeeded: Mapped[bool] = Column(Boolean, nullable=False)
    attempted_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)


class SmsConsent(Base):
    """SMS consent of one phone number (E.164), whether or not the number is on file yet (SPEC 2.9)."""

    __tablename__ = "sms_consents"
    phone: Mapped[str] = Column(String(32), primary_key=True)
    opted_out: Mapped[bool] = Column(Boolean, nullable=False)
    updated_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class InboundMessage(Base):
    """Provider message ids already handled (Twilio's MessageSid): a redelivered webhook is handled once."""

    __tablename__ = "inbound_messages"
    message_id: Mapped[str] = Column(String(64), primary_key=True)
    received_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class OfferedChoices(Base):
    """The button payloads last offered in a conversation: the only `/...` texts passed on as commands."""

    __tablename__ = "offered_choices"
    conversation_id: Mapped[str] = Column(String(200), primary_key=True)
    payloads: Mapped[list[str]] = Column(JSON, nullable=False, default=list)
    offered_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class RunLock(Base):
    """A named lock for a batch run (reminders) on SQLite; PostgreSQL uses an advisory lock instead."""

    __tablename__ = "run_locks"
    name: Mapped[str] = Column(String(64), primary_key=True)
    holder: Mapped[str] = Column(String(200), nullable=False)
    acquired_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False)


class Agent(Base):
    """A collector or supervisor of the console; `role` is the policy tier they act at (agent | supervisor)."""

    __tablename__ = "agents"
    login: Mapped[str] = Column(String(64), primary_key=True)
    role: Mapped[str] = Column(String(16), nullable=False)
    password_hash: Mapped[str] = Column(String(200), nullable=False)  # Argon2id, argon2-cffi's encoded form
    active: Mapped[bool] = Column(Boolean, nullable=False, default=True)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class AgentToken(Base):
    """A personal API token (`python -m bot agent-token`): only its SHA-256 is kept."""

    __tablename__ = "agent_tokens"
    token_hash: Mapped[str] = Column(String(64), primary_key=True)
    login: Mapped[str] = Column(ForeignKey("agents.login"), nullable=False, index=True)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    revoked_at = Column(DateTime(timezone=True), nullable=True)


class ConsoleSession(Base):
    """A logged-in browser: the cookie holds the token, this table its SHA-256 (a stolen table logs no one in)."""

    __tablename__ = "console_sessions"
    token_hash: Mapped[str] = Column(String(64), primary_key=True)
    login: Mapped[str] = Column(ForeignKey("agents.login"), nullable=False, index=True)
    csrf_token: Mapped[str] = Column(String(64), nullable=False)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_seen_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    ended_at = Column(DateTime(timezone=True), nullable=True)


class LoginAttempt(Base):
    """Console login attempts, counted per login and per client to throttle guessing."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = Column(Integer, primary_key=True)
    login: Mapped[str] = Column(String(64), nullable=False, index=True)
    client: Mapped[str] = Column(String(200), nullable=False, index=True)
    succeeded: Mapped[bool] = Column(Boolean, nullable=False)
    attempted_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)


class ApprovalRequest(Base):
    """Terms beyond an agent's tier, waiting for a supervisor: approved (then recorded) or rejected with a reason."""

    __tablename__ = "approval_requests"
    id: Mapped[int] = Column(Integer, primary_key=True)
    account_id: Mapped[int] = Column(ForeignKey("accounts.id"), nullable=False, index=True)
    handoff_id: Mapped[int | None] = Column(ForeignKey("handoffs.id"), nullable=True, index=True)
    conversation_id = Column(String(200), nullable=True)
    kind: Mapped[str] = Column(String(16), nullable=False)  # plan | settlement | promise
    terms: Mapped[dict[str, Any]] = Column(JSON, nullable=False)  # bot.domain.negotiation.terms_to_dict
    requested_by: Mapped[str] = Column(String(64), nullable=False)
    note: Mapped[str] = Column(Text, nullable=False, default="")
    status: Mapped[str] = Column(String(16), nullable=False, default="pending")  # pending | approved | rejected
    decided_by = Column(String(64), nullable=True)
    decision_note = Column(Text, nullable=True)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    decided_at = Column(DateTime(timezone=True), nullable=True)


class StaffNote(Base):
    """A note on an account by a person of the console: never shown to the debtor."""

    __tablename__ = "staff_notes"
    id: Mapped[int] = Column(Integer, primary_key=True)
    account_id: Mapped[int | None] = Column(ForeignKey("accounts.id"), nullable=True, index=True)
    handoff_id: Mapped[int | None] = Column(ForeignKey("handoffs.id"), nullable=True, index=True)
    author: Mapped[str] = Column(String(64), nullable=False)
    text: Mapped[str] = Column(Text, nullable=False)
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class ConsoleOffer(Base):
    """Terms a person sent to the debtor for a yes or no; recorded (at the person's tier) on the debtor's yes."""

    __tablename__ = "console_offers"
    id: Mapped[int] = Column(Integer, primary_key=True)
    conversation_id: Mapped[str] = Column(String(200), nullable=False, index=True)
    account_id: Mapped[int] = Column(ForeignKey("accounts.id"), nullable=False)
    terms: Mapped[dict[str, Any]] = Column(JSON, nullable=False)
    offered_by: Mapped[str] = Column(String(64), nullable=False)
    tier: Mapped[str] = Column(String(16), nullable=False)
    requested_by = Column(String(64), nullable=True)
    status: Mapped[str] = Column(String(16), nullable=False, default="open")  # open | accepted | declined | withdrawn
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    answered_at = Column(DateTime(timezone=True), nullable=True)


class Call(Base):
    """A call attempt a person made from the console, with its outcome: what the 7-in-7 call rule counts."""

    __tablename__ = "calls"
    id: Mapped[int] = Column(Integer, primary_key=True)
    account_id: Mapped[int] = Column(ForeignKey("accounts.id"), nullable=False, index=True)
    agent: Mapped[str] = Column(String(64), nullable=False)
    phone: Mapped[str] = Column(String(32), nullable=False)
    call_sid = Column(String(64), nullable=True, unique=True)  # Twilio's, bound by the first transcription event
    outcome = Column(String(16), nullable=True)  # no_answer | voicemail | wrong_party | conversation
    disposition = Column(String(16), nullable=True)
    started_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    ended_at = Column(DateTime(timezone=True), nullable=True)
    verified_at = Column(DateTime(timezone=True), nullable=True)
    disclosure_at = Column(DateTime(timezone=True), nullable=True)
    validation_notice_at = Column(DateTime(timezone=True), nullable=True)
    utterances: Mapped[list[CallUtterance]] = relationship(
        "CallUtterance", order_by="CallUtterance.id", cascade="all, delete-orphan")


class CallUtterance(Base):
    """One thing said on a call, as typed by the person or transcribed, and what call-assist made of it."""

    __tablename__ = "call_utterances"
    id: Mapped[int] = Column(Integer, primary_key=True)
    call_id: Mapped[int] = Column(ForeignKey("calls.id"), nullable=False, index=True)
    speaker: Mapped[str] = Column(String(8), nullable=False)  # debtor | agent
    text: Mapped[str] = Column(Text, nullable=False)
    intent = Column(String(48), nullable=True)
    warnings: Mapped[list[str]] = Column(JSON, nullable=False, default=list)
    source: Mapped[str] = Column(String(16), nullable=False)  # typed | transcription
    event_id = Column(String(120), nullable=True, unique=True)  # TranscriptionSid:SequenceId, once only
    said_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Payment(Base):
    """Money received, from a creditor's or bank's file: matched to an account, or kept unmatched for a person."""

    __tablename__ = "payments"
    id: Mapped[int] = Column(Integer, primary_key=True)
    reference: Mapped[str] = Column(String(140), nullable=False, unique=True)  # imports are idempotent on it
    account_id: Mapped[int | None] = Column(ForeignKey("accounts.id"), nullable=True, index=True)
    amount_minor: Mapped[int] = Column(BigInteger, nullable=False)
    currency = Column(String(3), nullable=True)  # as the file gave it (None: the CSV did not say)
    paid_on: Mapped[date] = Column(Date, nullable=False, index=True)
    account_ref_given = Column(String(64), nullable=True)  # as the file gave it
    remittance: Mapped[str] = Column(Text, nullable=False, default="")
    source: Mapped[str] = Column(String(16), nullable=False)  # csv | camt053
    status: Mapped[str] = Column(String(16), nullable=False)  # matched | unmatched
    unmatched_reason = Column(Text, nullable=True)
    imported_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    assigned_by = Column(String(64), nullable=True)  # the person who matched an unmatched payment
    applied: Mapped[bool] = Column(Boolean, nullable=False, default=False)  # counted in the account's paid total


class Notification(Base):
    """A message the daily run sent (or could not) about an agreement: each `key` once."""

    __tablename__ = "notifications"
    id: Mapped[int] = Column(Integer, primary_key=True)
    key: Mapped[str] = Column(String(200), nullable=False, unique=True)
    account_id: Mapped[int] = Column(ForeignKey("accounts.id"), nullable=False, index=True)
    kind: Mapped[str] = Column(String(16), nullable=False)  # thanks | missed | upcoming
    status: Mapped[str] = Column(String(16), nullable=False)  # sent | withheld | failed
    detail: Mapped[str] = Column(Text, nullable=False, default="")  # the message sid, or why not
    created_at: Mapped[datetime] = Column(DateTime(timezone=True), nullable=False, default=utcnow)
