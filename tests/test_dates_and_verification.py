from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.dates import format_date, past_dates_in
from bot.domain.verification import date_of_birth_matches, is_locked, postcode_matches, reference_candidates

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
    ("XKCDREF", ["XKCDREF"]),
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
