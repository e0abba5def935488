from datetime import date
from decimal import Decimal

import pytest

from bot.domain.phrases import amounts_in, future_date_in, is_per_month, months_in

TODAY = date(2026, 11, 23)  # a Monday


@pytest.mark.parametrize("text, expected", [
    ("150 a month", [Decimal(150)]),
    ("$1,200", [Decimal(1200)]),
    ("150 dollars", [Decimal(150)]),
    ("I can do £80.50 per month", [Decimal("80.50")]),
    ("would you take 1.2k", [Decimal(1200)]),
    ("I can pay 50 a month over 12 months", [Decimal(50)]),
    ("pay 300 on the 15th", [Decimal(300)]),
    ("I'll pay 200 on December 1", [Decimal(200)]),
    ("no amounts here", []),
])
def test_amounts(text, expected):
    assert amounts_in(text) == expected


def test_months_and_per_month():
    assert months_in("over 12 months") == 12 and months_in("6mo") == 6 and months_in("two years") == 24
    assert months_in("150 a month") is None
    assert is_per_month("150 a month") and is_per_month("$90/mo") and not is_per_month("$1,200")


@pytest.mark.parametrize("text, expected", [
    ("today", date(2026, 11, 23)),
    ("tomorrow", date(2026, 11, 24)),
    ("next Friday", date(2026, 11, 27)),
    ("on monday", date(2026, 11, 23)),
    ("next monday", date(2026, 11, 30)),
    ("the 15th", date(2026, 12, 15)),
    ("the 23rd", date(2026, 11, 23)),
    ("December 1", date(2026, 12, 1)),
    ("1st of December", date(2026, 12, 1)),
    ("jan 5th", date(2027, 1, 5)),
    ("in 2 weeks", date(2026, 12, 7)),
    ("2026-12-02", date(2026, 12, 2)),
    ("on fri", date(2026, 11, 27)),
    ("150 a month", None),
    ("I sat down and worked it out", None),
    ("whenever", None),
    ("2026-11-01", None),
])
def test_future_dates(text, expected):
    assert future_date_in(text, TODAY) == expected
