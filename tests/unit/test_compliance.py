"""Contact rules at their boundaries, in the debtor's own time zone."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.compliance import ContactSituation, may_contact, rule_set

RULES = rule_set("us_reg_f")
CHICAGO_NOON_UTC = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 12:00 in Chicago (CST, UTC-6)


def situation(**changes) -> ContactSituation:
    base = dict(channel="call", debtor_timezone="America/Chicago", account_status="open", flags=frozenset(),
                opted_out_channels=frozenset())
    return ContactSituation(**{**base, **changes})


@pytest.mark.parametrize("local_time, allowed", [("07:59", False), ("08:00", True), ("20:59", True),
                                                  ("21:00", False), ("23:30", False)])
def test_contact_window_in_the_debtors_zone(local_time, allowed):
    hour, minute = map(int, local_time.split(":"))
    now = datetime(2026, 11, 23, hour, minute, tzinfo=ZoneInfo("America/Chicago")).astimezone(UTC)
    assert may_contact(situation(), now, RULES).allowed is allowed


def test_the_same_utc_instant_differs_by_zone():
    now = datetime(2026, 7, 1, 12, 30, tzinfo=UTC)  # 08:30 in New York, 05:30 in Los Angeles
    assert may_contact(situation(debtor_timezone="America/New_York"), now, RULES).allowed
    assert not may_contact(situation(debtor_timezone="America/Los_Angeles"), now, RULES).allowed


def test_the_eighth_call_attempt_in_seven_days_is_refused():
    attempts = [CHICAGO_NOON_UTC - timedelta(days=6, hours=23) + timedelta(hours=20 * n) for n in range(7)]
    assert may_contact(situation(call_attempts=attempts[:6]), CHICAGO_NOON_UTC, RULES).allowed
    verdict = may_contact(situation(call_attempts=attempts), CHICAGO_NOON_UTC, RULES)
    assert not verdict.allowed and "7 call attempts" in verdict.reason
    # an attempt that has just left the 7-day window no longer counts
    aged = [CHICAGO_NOON_UTC - timedelta(days=7)] + attempts[1:]
    assert may_contact(situation(call_attempts=aged), CHICAGO_NOON_UTC, RULES).allowed
    # texts are not call attempts
    assert may_contact(situation(channel="sms", call_attempts=attempts), CHICAGO_NOON_UTC, RULES).allowed


def test_no_call_within_seven_days_of_a_phone_conversation():
    talked = CHICAGO_NOON_UTC - timedelta(days=6, hours=23)
    assert not may_contact(situation(last_phone_conversation=talked), CHICAGO_NOON_UTC, RULES).allowed
    assert may_contact(situation(last_phone_conversation=CHICAGO_NOON_UTC - timedelta(days=7)),
                       CHICAGO_NOON_UTC, RULES).allowed


@pytest.mark.parametrize("changes, reason", [
    ({"flags": frozenset({"cease"})}, "collection stopped: cease"),
    ({"flags": frozenset({"bankruptcy", "attorney"})}, "collection stopped: attorney, bankruptcy"),
    ({"account_status": "disputed"}, "collection paused"),
    ({"channel": "sms", "opted_out_channels": frozenset({"sms"})}, "opted out of sms"),
])
def test_stops_pauses_and_opt_outs(changes, reason):
    verdict = may_contact(situation(**changes), CHICAGO_NOON_UTC, RULES)
    assert not verdict.allowed and reason in verdict.reason


def test_texts_and_emails_carry_an_opt_out():
    assert may_contact(situation(channel="sms"), CHICAGO_NOON_UTC, RULES).needs_opt_out_notice
    assert not may_contact(situation(channel="call"), CHICAGO_NOON_UTC, RULES).needs_opt_out_notice
