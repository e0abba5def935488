"""The security data tests that need the real servers (the rest: tests/integration/test_security_data.py)."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy.engine import make_url

from bot.storage.db import unit_of_work
from bot.storage.orm import (
    PhoneConversation,
)
from tests.integration.test_security_data import (  # noqa: F401 - helpers, and fixtures used by name
    JORDAN_DOB_FORMS,
    JORDAN_PHONE,
    _holds_jordans_date_of_birth,
    _log_sizes,
    _say,
    _stored_events,
)
from tests.support import ARTEFACTS
from tests.support.database import run_cli
from tests.support.personal_data import holds_date_of_birth


@pytest.mark.stack
def test_the_date_of_birth_is_not_stored_in_clear_and_logs_hold_no_personal_data(demo_stack, db):
    backend = make_url(db).get_backend_name()
    logs_before = _log_sizes(backend)
    sender = f"dob-{uuid.uuid4().hex[:12]}"
    _say(demo_stack, sender, "hi")
    assert "date of birth" in _say(demo_stack, sender, "ACC-1001")
    assert "debt collector" in _say(demo_stack, sender, "12 March 1985")  # the form still validates

    stored = _stored_events(db, sender)
    assert stored, "Rasa's events table holds the conversation (the redacting store is the one configured)"
    assert not [row for row in stored if _holds_jordans_date_of_birth(row)]
    assert any("[date of birth withheld]" in row for row in stored)
    assert "$1,234.56" in _say(demo_stack, sender, "how much do I owe?")  # the conversation goes on
    assert not [row for row in _stored_events(db, sender) if _holds_jordans_date_of_birth(row)]
    other = f"dob-{uuid.uuid4().hex[:12]}"
    _say(demo_stack, other, "ACC-1002")
    assert "debt collector" in _say(demo_stack, other, "30 November 1979")
    assert "$455.00" in _say(demo_stack, other, "what's my balance?")
    stored = _stored_events(db, other)
    assert stored and not [row for row in stored if holds_date_of_birth(row, "1979", "November")]

    appended = ""
    for path in (ARTEFACTS / f"logs-{backend}").glob("*.log"):
        with path.open("rb") as handle:
            handle.seek(logs_before.get(path, 0))
            appended += handle.read().decode("utf-8", "replace")
    for personal in JORDAN_DOB_FORMS + (JORDAN_PHONE, "5551230001", "30 November 1979"):
        assert personal not in appended, personal

    # erasure over a conversation Rasa really stored
    run_cli("erase", "ACC-1001", "--actor", "dpo-alex", database=db)
    assert _stored_events(db, sender) == []
    audit = run_cli("audit", "ACC-1001", database=db).stdout
    assert "personal_data_erased" in audit and not _holds_jordans_date_of_birth(audit) and "5551230001" not in audit


@pytest.mark.stack
def test_the_sms_verification_answer_is_not_stored_in_clear(demo_stack, db):
    from tests.stack.test_sms_channel import Phone

    phone = Phone(demo_stack, JORDAN_PHONE)
    phone.text("what do I owe?")
    assert "$1,234.56" in "\n".join(phone.text("12 March 1985"))
    with unit_of_work() as session:
        conversation = session.query(PhoneConversation).filter_by(phone=JORDAN_PHONE).one().conversation_id
    stored = _stored_events(db, conversation)
    assert stored and not [row for row in stored if _holds_jordans_date_of_birth(row)]
