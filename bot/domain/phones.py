"""Phone numbers in one form: E.164, parsed by Google's libphonenumber (the `phonenumbers` package).

Every number the system stores, looks up or texts goes through `to_e164` first, so that "555-123-0001"
typed by a debtor in Chicago, "+1 (555) 123-0001" and Twilio's "+15551230001" are one number, and an
opt-out keyed by it covers them all. Numbers written without a country code are read in the debtor's
country, which `region_of_timezone` derives from their IANA time zone.

Pure: the only reading is of the libraries' own packaged data (libphonenumber's metadata, the IANA
zone tables shipped in pytz), loaded once.
"""
from __future__ import annotations

from functools import lru_cache

import phonenumbers
import pytz
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

# Longer than any way of writing a phone number; spares the parser a pasted essay.
_MAX_INPUT = 64


def to_e164(raw: str, region: str | None) -> str | None:
    """The number in E.164 (`+15551230001`), or None when `raw` is not a possible phone number.

    `region` (ISO 3166 alpha-2, e.g. "US") is where a number written without a country code is read;
    with None, only numbers that carry one ("+1 ...") are understood. "Possible" (a known country code
    and a length that country's numbers have) rather than "valid" (an assigned range): the fictional
    555 numbers of the demo portfolio and the tests are not assigned anywhere, and what matters here
    is that one number always has one key. Numbers only diallable locally (a US number without its
    area code) are refused: the same digits are a different number in every area.
    """
    if not raw or len(raw) > _MAX_INPUT:
        return None
    try:
        number = phonenumbers.parse(raw, region.upper() if region else None)
    except NumberParseException:
        return None
    if phonenumbers.is_possible_number_with_reason(number) != ValidationResult.IS_POSSIBLE:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


@lru_cache(maxsize=1)
def _country_of_zone() -> dict[str, str]:
    """IANA zone -> ISO 3166 country: zone.tab lists each zone under exactly one country."""
    return {zone: country for country, zones in pytz.country_timezones.items() for zone in zones}


@lru_cache(maxsize=1)
def _links() -> dict[str, str]:
    """Backward-compatible zone names -> the zone they stand for (`L TARGET LINK` lines of tzdata.zi)."""
    links: dict[str, str] = {}
    with pytz.open_resource("tzdata.zi") as data:  # type: ignore[attr-defined]  # exported, missing from types-pytz
        for line in data.read().decode("utf-8").splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "L":
                links[parts[2]] = parts[1]
    return links


def region_of_timezone(tz: str) -> str | None:
    """The country (ISO 3166 alpha-2) whose zone `tz` is, e.g. "America/Chicago" -> "US"; None if no country's.

    From the IANA database's own zone-to-country table (zone.tab, as pytz ships it), with links such as
    "US/Central" or "Asia/Calcutta" followed to the zone they name. Zones of no country (UTC, Etc/GMT+5)
    give None: then only numbers written with their country code are understood.
    """
    zone = (tz or "").strip()
    countries = _country_of_zone()
    for _ in range(3):  # a link names a zone, which may itself be an older link
        if zone in countries:
            return countries[zone]
        if zone not in _links():
            break
        zone = _links()[zone]
    return None
