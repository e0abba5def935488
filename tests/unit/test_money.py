from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.money import (
    MoneyError,
    format_money,
    from_minor,
    parse_amount,
    to_minor,
)


def test_parses_decimal_strings_exactly():
    assert parse_amount("1234.56", "USD") == Decimal("1234.56")
    assert parse_amount("0", "USD") == Decimal("0")


@pytest.mark.parametrize("text", ["", "abc", "-5.00", "1,234.56", "1e5", "12.345", "NaN", "Infinity", "100000000.01"])
def test_rejects_what_is_not_an_amount(text):
    with pytest.raises(MoneyError):
        parse_amount(text, "USD")


def test_precision_follows_the_currency():
    assert parse_amount("1200", "JPY") == Decimal("1200")
    with pytest.raises(MoneyError):
        parse_amount("12.5", "JPY")
    assert parse_amount("1.234", "KWD") == Decimal("1.234")


@pytest.mark.parametrize("code", ["usd", "US", "DOLLARS", ""])
def test_rejects_malformed_currency_codes(code):
    with pytest.raises(MoneyError):
        parse_amount("1.00", code)


@given(minor=st.integers(min_value=0, max_value=10**10), currency=st.sampled_from(["USD", "JPY", "KWD", "GBP"]))
def test_minor_units_round_trip(minor, currency):
    assert to_minor(from_minor(minor, currency), currency) == minor


def test_formats_for_people():
    assert format_money(Decimal("1234.5"), "USD") == "$1,234.50"
    assert format_money(Decimal("80"), "GBP") == "£80.00"
    assert format_money(Decimal("1200"), "JPY") == "¥1,200"
    assert format_money(Decimal("3.25"), "CHF") == "3.25 CHF"
