"""The security phones tests that need the real servers (the rest: tests/integration/test_security_phones.py)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.storage.db import unit_of_work
from bot.storage.orm import PhoneConversation
from tests.integration.test_security_phones import (  # noqa: F401 - helpers, and fixtures used by name
    DAYTIME,
    HEADER,
    JORDAN,
    STRANGER,
    dry_run_skips,
    post_text,
    sms_verdict,
)
from tests.support.database import run_cli, write


@pytest.mark.stack
def test_a_texted_stop_from_an_unknown_number_holds_for_the_account_imported_later(demo_stack, db, tmp_path):
    """The attack end to end: STOP by SMS from a number on file nowhere, then a creditor places that number."""
    demo_stack.twilio.clear()
    assert post_text(demo_stack, STRANGER, "STOP").status_code == 200
    replies = [m["body"] for m in demo_stack.twilio.messages(STRANGER)]
    assert len(replies) == 1 and "unsubscribed" in replies[0]
    csv = write(tmp_path / "later.csv", HEADER + f"R-LATER,ACME,Acme Mobile,Lee Later,1990-05-05,60601,"
                                                  f"{STRANGER},,America/Chicago,USD,300.00,0,0,2026-10-01\n")
    run_cli("import-accounts", str(csv), database=db)
    sends, skips = dry_run_skips(db, DAYTIME)
    assert skips.get("R-LATER") == "opted out of sms" and STRANGER not in sends
    assert not sms_verdict("R-LATER", STRANGER).allowed
    assert json.loads(run_cli("account", "R-LATER", "--json", database=db).stdout)["flags"]["sms_opt_out"] is True


@pytest.mark.stack
@pytest.mark.parametrize("sender", ["not-a-number", "+1555", "12345"])
def test_a_webhook_from_what_is_not_a_phone_number_is_refused_cleanly(demo_stack, sender):
    """Attack: a signed webhook whose From is not a number. On 5e1d85d it started a conversation keyed by the
    junk and the assistant tried to text it; now nothing is stored, nothing is sent, Twilio gets its 200."""
    demo_stack.twilio.clear()
    response = post_text(demo_stack, sender, "what do I owe?")
    assert response.status_code == 200 and "<Response>" in response.text
    assert demo_stack.twilio.messages() == []
    with unit_of_work() as session:
        assert session.scalars(select(PhoneConversation)).all() == []
    assert post_text(demo_stack, JORDAN, "hi").status_code == 200  # the channel still works for a real number
    assert demo_stack.twilio.messages(JORDAN)
