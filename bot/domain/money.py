"""Money as Decimal in the domain and integer minor units in storage; never float."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# ISO 4217 minor-unit exponents that differ from the usual two decimals.
_EXPONENTS = {
    "BIF": 0, "CLP": 0, "ISK": 0, "JPY": 0, "KRW": 0, "PYG": 0, "UGX": 0, "VND": 0, "XAF": 0, "XOF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}
_SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "JPY": "¥", "INR": "₹", "CAD": "CA$", "AUD": "A$"}
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
_DECIMAL_STRING = re.compile(r"^\d+(\.\d+)?$")

# No single debt placed with a collector comes near this; larger figures are data errors.
MAX_AMOUNT = Decimal("100000000")


class MoneyError(ValueError):
    """An amount or currency that cannot be money."""


def check_currency(code: str) -> str:
    """The code itself, if it is a three-letter ISO 4217 code; else MoneyError."""
    if not _CURRENCY_CODE.match(code or ""):
        raise MoneyError(f"currency {code!r} is not a three-letter ISO 4217 code")
    return code


def exponent(currency: str) -> int:
    """Decimal places of the currency's minor unit (2 unless ISO 4217 says otherwise)."""
    return _EXPONENTS.get(check_currency(currency), 2)


def parse_amount(text: str, currency: str) -> Decimal:
    """A strict decimal string such as '1234.56' (files and APIs), within the currency's precision."""
    text = (text or "").strip()
    if not _DECIMAL_STRING.match(text):
        raise MoneyError(f"amount {text!r} is not a decimal string such as 1234.56")
    try:
        amount = Decimal(text)
    except InvalidOperation as error:  # pragma: no cover - the pattern already excludes this
        raise MoneyError(f"amount {text!r} is not a number") from error
    if amount > MAX_AMOUNT:
        raise MoneyError(f"amount {text} is implausibly large (over {MAX_AMOUNT})")
    places = exponent(currency)
    if amount != amount.quantize(Decimal(1).scaleb(-places)):
        raise MoneyError(f"amount {text} has more than {places} decimal places for {currency}")
    return amount


def to_minor(amount: Decimal, currency: str) -> int:
    """Whole minor units (cents) of an amount, as stored; MoneyError if it has finer fractions."""
    minor = amount.scaleb(exponent(currency))
    if minor != minor.to_integral_value():
        raise MoneyError(f"{amount} {currency} is not a whole number of minor units")
    return int(minor)


def from_minor(minor: int, currency: str) -> Decimal:
    """The amount of stored minor units, with the currency's number of decimal places."""
    places = exponent(currency)
    return Decimal(minor).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def format_money(amount: Decimal, currency: str) -> str:
    """How a person reads an amount: '$1,234.56', '£80.00', '1,200.000 KWD'."""
    places = exponent(currency)
    number = f"{amount:,.{places}f}"
    symbol = _SYMBOLS.get(currency)
    return f"{symbol}{number}" if symbol else f"{number} {currency}"
