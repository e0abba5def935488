"""Tables. Money is stored as integer minor units of the account's currency; times in UTC."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _created() -> Column:
    return Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Creditor(Base):
    __tablename__ = "creditors"
    id = Column(String(64), primary_key=True)
    name = Column(String(200), nullable=False)
    policy = Column(JSON, nullable=False)  # as imported: the contract keys plus any extras
    created_at = _created()
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class Debtor(Base):
    __tablename__ = "debtors"
    __table_args__ = (UniqueConstraint("name", "date_of_birth", "postcode", name="uq_debtor_identity"),)
    id = Column(Integer, primary_key=True)
    name = Column(String(200), nullable=False)
    date_of_birth = Column(Date, nullable=False)
    postcode = Column(String(20), nullable=False, default="")
    timezone = Column(String(64), nullable=False)
    created_at = _created()
    contact_points = relationship("ContactPoint", back_populates="debtor", order_by="ContactPoint.id")
    accounts = relationship("Account", back_populates="debtor", order_by="Account.id")


class ContactPoint(Base):
    __tablename__ = "contact_points"
    __table_args__ = (UniqueConstraint("debtor_id", "kind", "value", name="uq_contact_point"),)
    id = Column(Integer, primary_key=True)
    debtor_id = Column(ForeignKey("debtors.id"), nullable=False, index=True)
    kind = Column(String(16), nullable=False)  # phone | email | address
    value = Column(String(320), nullable=False, index=True)
    source = Column(String(16), nullable=False)  # import | debtor | agent
    verified = Column(Boolean, nullable=False, default=False)
    status = Column(String(16), nullable=False, default="active")  # active | wrong
    sms_opt_out = Column(Boolean, nullable=False, default=False)
    created_at = _created()
    debtor = relationship("Debtor", back_populates="contact_points")


class Account(Base):
    __tablename__ = "accounts"
    id = Column(Integer, primary_key=True)
    account_ref = Column(String(64), nullable=False, unique=True)
    creditor_id = Column(ForeignKey("creditors.id"), nullable=False, index=True)
    debtor_id = Column(ForeignKey("debtors.id"), nullable=False, index=True)
    original_creditor = Column(String(200), nullable=False, default="")
    currency = Column(String(3), nullable=False)
    principal_minor = Column(BigInteger, nullable=False)
    interest_minor = Column(BigInteger, nullable=False)
    fees_minor = Column(BigInteger, nullable=False)
    paid_minor = Column(BigInteger, nullable=False, default=0)
    placed_on = Column(Date, nullable=False)
    validation_ends_on = Column(Date, nullable=False)
    status = Column(String(24), nullable=False, default="open")
    created_at = _created()
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)
    creditor = relationship("Creditor")
    debtor = relationship("Debtor", back_populates="accounts")
    plans = relationship("Plan", order_by="Plan.id")
    settlements = relationship("Settlement", order_by="Settlement.id")
    promises = relationship("Promise", order_by="Promise.id")
    disputes = relationship("Dispute", order_by="Dispute.id")
    flags = relationship("AccountFlag", order_by="AccountFlag.id")
    handoffs = relationship("Handoff", order_by="Handoff.id")


class _Agreement:
    """Columns every agreement shares: who authorised it, under which policy, from where."""

    status = Column(String(16), nullable=False)
    authorized_tier = Column(String(16), nullable=False)
    authorized_actor = Column(String(100), nullable=False)
    policy_snapshot = Column(JSON, nullable=False)
    conversation_id = Column(String(200), nullable=True, index=True)
    request_key = Column(String(200), nullable=True, unique=True)  # makes retried requests idempotent
    created_at = _created()


class Plan(_Agreement, Base):
    __tablename__ = "plans"
    id = Column(Integer, primary_key=True)
    account_id = Column(ForeignKey("accounts.id"), nullable=False, index=True)
    total_minor = Column(BigInteger, nullable=False)
    superseded_by_id = Column(ForeignKey("plans.id"), nullable=True)
    installments = relationship("Installment", order_by="Installment.sequence")


class Installment(Base):
    __tablename__ = "installments"
    __table_args__ = (UniqueConstraint("plan_id", "sequence", name="uq_installment_sequence"),)
    id = Column(Integer, primary_key=True)
    plan_id = Column(ForeignKey("plans.id"), nullable=False, index=True)
    sequence = Column(Integer, nullable=False)
    due_on = Column(Date, nullable=False)
    amount_minor = Column(BigInteger, nullable=False)
    status = Column(String(16), nullable=False, default="scheduled")


class Settlement(_Agreement, Base):
    __tablename__ = "settlements"
    id = Column(Integer, primary_key=True)
    account_id = Column(ForeignKey("accounts.id"), nullable=False, index=True)
    amount_minor = Column(BigInteger, nullable=False)
    discount_basis_points = Column(Integer, nullable=False)
    pay_by = Column(Date, nullable=False)


class Promise(_Agreement, Base):
    __tablename__ = "promises"
    id = Column(Integer, primary_key=True)
    account_id = Column(ForeignKey("accounts.id"), nullable=False, index=True)
    amount_minor = Column(BigInteger, nullable=False)
    pay_on = Column(Date, nullable=False)


class Dispute(Base):
    __tablename__ = "disputes"
    id = Column(Integer, primary_key=True)
    account_id = Column(ForeignKey("accounts.id"), nullable=False, index=True)
    reference = Column(String(32), nullable=False, unique=True)
    reason = Column(String(32), nullable=False)
    details = Column(Text, nullable=False, default="")
    status = Column(String(16), nullable=False, default="open")
    conversation_id = Column(String(200), nullable=True)
    opened_at = _created()
    resolved_at = Column(DateTime(timezone=True), nullable=True)
    resolution_note = Column(Text, nullable=True)


class AccountFlag(Base):
    __tablename__ = "account_flags"
    id = Column(Integer, primary_key=True)
    account_id = Column(ForeignKey("accounts.id"), nullable=False, index=True)
    flag = Column(String(32), nullable=False)  # cease | attorney | bankruptcy | deceased | deceased_reported
    details = Column(JSON, nullable=False, default=dict)
    set_at = _created()
    cleared_at = Column(DateTime(timezone=True), nullable=True)


class Handoff(Base):
    __tablename__ = "handoffs"
    id = Column(Integer, primary_key=True)
    account_id = Column(ForeignKey("accounts.id"), nullable=True, index=True)
    conversation_id = Column(String(200), nullable=False, index=True)
    reason = Column(String(32), nullable=False)
    status = Column(String(16), nullable=False, default="open")
    details = Column(JSON, nullable=False, default=dict)
    assigned_to = Column(String(100), nullable=True)
    created_at = _created()
    closed_at = Column(DateTime(timezone=True), nullable=True)


class PhoneConversation(Base):
    """The conversation id of each phone number that texts us.

    Ids are random, not the number: the REST and web channels let clients name their conversation,
    and must not be able to name an SMS debtor's (and so read a conversation verified by phone).
    """

    __tablename__ = "phone_conversations"
    id = Column(Integer, primary_key=True)
    phone = Column(String(32), nullable=False, unique=True)
    conversation_id = Column(String(64), nullable=False, unique=True)
    created_at = _created()


class AuditEvent(Base):
    """Append-only: rows are inserted, never updated or deleted."""

    __tablename__ = "audit_events"
    id = Column(Integer, primary_key=True)
    occurred_at = _created()
    actor = Column(String(100), nullable=False)
    action = Column(String(48), nullable=False, index=True)
    account_id = Column(ForeignKey("accounts.id"), nullable=True, index=True)
    conversation_id = Column(String(200), nullable=True, index=True)
    details = Column(JSON, nullable=False, default=dict)


class VerificationAttempt(Base):
    """Every answer to a verification question, kept across conversations and channels.

    Failures are counted per account reference (as given, normalised, whether on file or not, so a lock
    says nothing about which references exist) and per client (an IP address or a phone number).
    """

    __tablename__ = "verification_attempts"
    id = Column(Integer, primary_key=True)
    reference = Column(String(64), nullable=True, index=True)
    client = Column(String(200), nullable=True, index=True)
    channel = Column(String(16), nullable=True)
    conversation_id = Column(String(200), nullable=True)
    succeeded = Column(Boolean, nullable=False)
    attempted_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)


class SmsConsent(Base):
    """SMS consent of one phone number (E.164), whether or not the number is on file yet (SPEC 2.9)."""

    __tablename__ = "sms_consents"
    phone = Column(String(32), primary_key=True)
    opted_out = Column(Boolean, nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class InboundMessage(Base):
    """Provider message ids already handled (Twilio's MessageSid): a redelivered webhook is handled once."""

    __tablename__ = "inbound_messages"
    message_id = Column(String(64), primary_key=True)
    received_at = _created()


class OfferedChoices(Base):
    """The button payloads last offered in a conversation: the only `/...` texts passed on as commands."""

    __tablename__ = "offered_choices"
    conversation_id = Column(String(200), primary_key=True)
    payloads = Column(JSON, nullable=False, default=list)
    offered_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class RunLock(Base):
    """A named lock for a batch run (reminders) on SQLite; PostgreSQL uses an advisory lock instead."""

    __tablename__ = "run_locks"
    name = Column(String(64), primary_key=True)
    holder = Column(String(200), nullable=False)
    acquired_at = _created()
    expires_at = Column(DateTime(timezone=True), nullable=False)
