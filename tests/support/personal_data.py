"""Whether stored or published text holds a date of birth: what the redaction tests look for."""
from __future__ import annotations

import re


def holds_date_of_birth(text: str, year: str, month: str) -> bool:
    """The year as a number of its own, or the month's name. A timestamp's digits (1796148117.7119796 holds
    "1979") or a model id's hex (…a1985f…) hold any year on some day, so a bare substring test is flaky."""
    return bool(re.search(rf"(?<![\w.]){year}(?!\w)", text)) or month in text
