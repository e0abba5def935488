from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.dates import date_mentions, format_date, past_dates_in
from bot.domain.verification import (
    CLIENT_FAILURE_LIMIT,
    REFERENCE_FAILURE_LIMIT,
    AnswerKind,
    Attempt,
    date_of_birth_matches,
    is_locked,
    lock_on,
    normalise_reference,
    postcode_in,
    postcode_matches,
    read_answer,
    reference_candidates,
)

TODAY = date(2026, 11, 23)
DOB = date(1985, 3, 12)


@pytest.mark.parametrize("text", [
    "12 March 1985", "March 12, 1985", "march 12th 1985", "12th of March, 1985", "12-Mar-1985", "Mar 12 85",
    "03/12/1985", "12/03/1985", "1985-03-12", "1985/03/12", "12.03.1985", "dob is 12 march 1985 thanks",
    "19850312", "03121985",
])
def test_date_of_birth_in_common_written_forms(text):
    assert date_of_birth_matches(DOB, text, TODAY)


@pytest.mark.parametrize("text", ["13 March 1985", "1985", "March 1985", "yesterday", "", "12/03/1986", "31/02/1985"])
def test_other_dates_and_non_dates_do_not_match(text):
    assert not date_of_birth_matches(DOB, text, TODAY)


def test_future_dates_are_not_birth_dates():
    assert past_dates_in("1 January 2030", TODAY) == []


def test_two_digit_years_are_in_the_past():
    assert past_dates_in("12/03/85", TODAY)[0].year == 1985
    assert past_dates_in("12 March 05", TODAY)[0].year == 2005


@given(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
def test_any_past_date_written_out_is_understood(day):
    for written in (format_date(day), day.isoformat(), f"{day.month:02d}/{day.day:02d}/{day.year}",
                    f"{day.strftime('%B')} {day.day}, {day.year}"):
        assert day in past_dates_in(written, TODAY), written


@pytest.mark.parametrize("text, expected", [
    ("ACC-1001", ["ACC-1001"]),
    ("my ref is acc-1001", ["acc-1001"]),
    ("reference number 7788123.", ["7788123"]),
    ("ACC-1001 and I was born 12/03/1985", ["ACC-1001"]),
    ("it's BB-77310, born 4 July 1990", ["BB-77310"]),
    ("XKCDREF", []),  # a reference carries a digit: a single word is small talk, not a reference
    ("hi", []),
    ("thanks", []),
    ("ok", []),
    ("what do I owe", []),
    ("", []),
])
def test_reference_candidates(text, expected):
    assert reference_candidates(text) == expected


def test_postcodes_match_regardless_of_spacing_and_case():
    assert postcode_matches("SW1A 1AA", "sw1a1aa")
    assert not postcode_matches("SW1A 1AA", "SW1A 1AB")
    assert not postcode_matches("", "")


def test_three_failures_lock():
    assert [is_locked(n) for n in range(5)] == [False, False, False, True, True]


# --- one answer, one date --------------------------------------------------------------------------

def test_an_all_numeric_date_is_one_date_read_both_ways():
    assert date_mentions("03/12/1985", TODAY) == [(date(1985, 3, 12), date(1985, 12, 3))]
    answer = read_answer("my dob is 03/12/1985", TODAY)
    assert answer.kind is AnswerKind.DATE and set(answer.dates) == {date(1985, 3, 12), date(1985, 12, 3)}


@pytest.mark.parametrize("text", [
    "12 March 1985 or 13 March 1985",
    "12/03/1985 1/1/1990",
    "01/02/1985-03-04",  # two forms overlapping: one place, three readings
    " ".join(f"{d}/{m}/1985" for d in range(1, 29) for m in range(1, 13))[:1000],
])
def test_several_dates_are_not_an_answer(text):
    assert read_answer(text, TODAY).kind is AnswerKind.SEVERAL_DATES
    assert not date_of_birth_matches(DOB, text, TODAY)


def test_a_stuffed_message_of_many_dates_does_not_match_the_date_of_birth_among_them():
    stuffed = " ".join(f"{day}/3/1985" for day in range(1, 29))
    assert DOB in past_dates_in(stuffed, TODAY)  # the date is in there...
    assert not date_of_birth_matches(DOB, stuffed, TODAY)  # ...and is not accepted


@pytest.mark.parametrize("text, kind", [
    ("hi", AnswerKind.NOTHING), ("ok", AnswerKind.NOTHING), ("thanks", AnswerKind.NOTHING),
    ("what?", AnswerKind.NOTHING), ("31/02/1985", AnswerKind.NOTHING),
    ("ACC-1001", AnswerKind.REFERENCE), ("it's bb-77310", AnswerKind.REFERENCE),
    ("12 March 1985", AnswerKind.DATE),
])
def test_what_an_answer_to_the_date_of_birth_question_is(text, kind):
    assert read_answer(text, TODAY).kind is kind


@pytest.mark.parametrize("text, postcode", [
    ("60614", "60614"), ("my postcode is SW1A 1AA", "SW1A1AA"), ("zip: 10027-1234", "10027-1234"),
    ("hi", None), ("ok", None), ("thanks", None), ("ACC-1001", None), ("no idea, sorry about that 1", None),
])
def test_postcode_shaped_answers(text, postcode):
    assert postcode_in(text) == postcode
    kind = read_answer(text, TODAY, postcode_allowed=True).kind
    assert (kind is AnswerKind.POSTCODE) == (postcode is not None)


def test_references_are_counted_whatever_their_case_and_spacing():
    assert normalise_reference(" acc-1001 ") == normalise_reference("ACC-1001") == "ACC-1001"
    assert normalise_reference("ab 123 456") == "AB123456"


# --- locks -------------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def failures(n, reference="ACC-1001", client=None, start=NOW - timedelta(hours=5)):
    return [Attempt(reference, client, False, start + timedelta(minutes=i)) for i in range(n)]


def test_five_failures_for_a_reference_in_24_hours_lock_it_until_the_oldest_is_24_hours_old():
    assert REFERENCE_FAILURE_LIMIT == 5
    assert not lock_on(failures(4), references=["ACC-1001"], client=None, now=NOW).locked
    lock = lock_on(failures(5), references=["ACC-1001"], client=None, now=NOW)
    assert lock.locked and lock.reference_failures == 5
    assert lock.until == NOW - timedelta(hours=5) + timedelta(hours=24)
    assert lock_on(failures(5), references=["ACC-1001"], client=None, now=lock.until - timedelta(seconds=1)).locked
    assert not lock_on(failures(5), references=["ACC-1001"], client=None, now=lock.until).locked
    assert not lock_on(failures(5), references=["ACC-9999"], client=None, now=NOW).locked  # another reference


def test_successes_and_old_failures_do_not_count():
    old = failures(5, start=NOW - timedelta(hours=30))
    ok = [Attempt("ACC-1001", None, True, NOW - timedelta(minutes=1))]
    assert not lock_on(old + failures(4) + ok, references=["ACC-1001"], client=None, now=NOW).locked


def test_a_client_failing_across_references_is_locked_too():
    assert CLIENT_FAILURE_LIMIT == 10
    spread = [a for i in range(CLIENT_FAILURE_LIMIT) for a in failures(1, f"REF-{i}", "ip:203.0.113.9",
                                                                        NOW - timedelta(hours=1, minutes=i))]
    assert lock_on(spread, references=["ACC-1001"], client="ip:203.0.113.9", now=NOW).locked
    assert not lock_on(spread, references=["ACC-1001"], client="ip:198.51.100.1", now=NOW).locked
    assert not lock_on(spread[1:], references=["ACC-1001"], client="ip:203.0.113.9", now=NOW).locked


def test_rows_of_one_sms_attempt_are_one_attempt_for_the_client():
    at = NOW - timedelta(hours=1)
    rows = [Attempt(ref, "phone:+15551230001", False, at + timedelta(minutes=i))
            for i in range(CLIENT_FAILURE_LIMIT - 1) for ref in ("ACC-1001", "ACC-2001")]
    lock = lock_on(rows, references=[], client="phone:+15551230001", now=NOW)
    assert lock.client_failures == CLIENT_FAILURE_LIMIT - 1 and not lock.locked
