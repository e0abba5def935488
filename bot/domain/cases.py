"""Protective cases: disputes, flags that stop collection, contact details, and what they do to an account.

Pure functions: reading what a debtor wrote, and the account status that follows from its cases.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from bot.domain.accounts import PAUSING_FLAGS, STOPPING_FLAGS, AccountStatus
from bot.domain.phones import to_e164

DISPUTE_REASONS = ("not_mine", "wrong_amount", "already_paid", "identity_theft", "other")
# The flags a death report moves through: reported (pausing) until a person confirms it (stopping).
DEATH_REPORTED, DECEASED = "deceased_reported", "deceased"
DEATH_REPORT_DECISIONS = ("confirm", "reject")

# Checked in this order: "someone stole my identity and it's not mine" is identity theft.
_REASON_PATTERNS = (
    ("identity_theft", r"identity|stole|stolen|fraud|scam|hack|someone (?:else )?(?:opened|used|took)|impersonat"),
    ("already_paid", r"\bpaid\b|paid (?:it|this|that) off|receipt|settled already|already (?:paid|settled)"),
    ("wrong_amount", r"wrong amount|too (?:much|high)|incorrect|overcharg|amount is wrong|should (?:only )?be|"
                     r"less than that|not that much|don'?t owe (?:that|this) much|charges? (?:are|is) wrong"),
    ("not_mine", r"not (?:my|mine)|isn'?t (?:my|mine)|never had|don'?t recogni[sz]e|no idea what|never (?:heard|opened|"
                 r"signed)|not me\b|never an? (?:customer|account)|don'?t owe"),
    ("other", r"\bother\b|something else"),
)
_REASONS = tuple((reason, re.compile(pattern, re.I)) for reason, pattern in _REASON_PATTERNS)

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PHONE = re.compile(r"(?<![\w+])(\+?\d[\d ().-]{8,}\d)(?!\w)")
_STREET = re.compile(
    r"\b\d{1,5}[a-z]?\s+(?:[a-z'-]+\s+){1,4}(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|way|close|court|ct|"
    r"place|pl|boulevard|blvd|crescent|terrace|gardens|square|parkway|highway|hwy)\b.*",
    re.I,
)
_CASE_NUMBER = re.compile(
    r"\b(?:case|petition|docket|iva|reference|ref)\s*(?:number|no\.?|num|#)?\s*(?:is\s*)?[:#]?\s*([a-z0-9][a-z0-9:/-]{3,})"
    r"|\b(\d{1,2}[-:]\d{4,6}(?:-[a-z]{2,4})?)\b",
    re.I,
)


def dispute_reason_in(text: str) -> str | None:
    """Which of the SPEC's dispute reasons a message gives, if any."""
    for reason, pattern in _REASONS:
        if pattern.search(text or ""):
            return reason
    return None


def phone_numbers_in(text: str, region: str | None = None) -> list[str]:
    """Phone numbers a message gives, in E.164 (`bot.domain.phones`) read in `region` (the debtor's country).

    Without a region, a number written without its country code is returned as its digits, a candidate that
    whoever stores it reads in the debtor's region (`services.cases.add_contact_points` does).
    """
    found = []
    for raw in _PHONE.findall(text or ""):
        digits = re.sub(r"\D", "", raw)
        if not 10 <= len(digits) <= 15:
            continue
        number = to_e164(raw, region)
        if number is None and region is None and not raw.startswith("+"):
            number = digits
        if number is not None and number not in found:
            found.append(number)
    return found


def contact_details_in(text: str, region: str | None = None) -> list[tuple[str, str]]:
    """(kind, value) pairs for the phones (see `phone_numbers_in`), emails and street addresses a message gives."""
    text = text or ""
    details = [("email", email.lower()) for email in _EMAIL.findall(text)]
    without_emails = _EMAIL.sub(" ", text)
    details += [("phone", phone) for phone in phone_numbers_in(without_emails, region)]
    street = _STREET.search(without_emails)
    if street:
        details.append(("address", " ".join(street.group(0).split()).strip(" .")))
    return details


def case_number_in(text: str) -> str | None:
    """The court or case number a message gives (a bankruptcy's, say), upper-cased, if any."""
    match = _CASE_NUMBER.search(text or "")
    return (match.group(1) or match.group(2)).upper() if match else None


def collection_status(agreement_status: AccountStatus, *, open_dispute: bool, stopping_flags: Iterable[str]
                      ) -> AccountStatus:
    """The account's status: a stop outranks a dispute, which outranks whatever agreement is in force.

    A reported death (a pausing flag) shows as `ceased` too: SPEC 5 has no "paused" status, and whatever reads
    only the status (an integration, a campaign) must take no collection step while a person checks it. It is
    not `disputed`: nobody disputes the debt. Rejected, the flag clears and the status follows the account again.
    """
    if any(flag in STOPPING_FLAGS or flag in PAUSING_FLAGS for flag in stopping_flags):
        return AccountStatus.CEASED
    if open_dispute:
        return AccountStatus.DISPUTED
    return agreement_status


def details_given(topic: str, text: str) -> str | None:
    """The details a case's opening message already gives (so the debtor is not asked for them again), or None."""
    if topic == "hardship" and len(text.split()) >= 6:
        return text
    if topic in ("attorney", "deceased", "update_contact") and contact_details_in(text):
        return text
    if topic == "bankruptcy" and case_number_in(text):
        return text
    return None
