"""The Metro 2® file of the monthly credit-bureau update, pure: a Header Record, one Base Segment (with its K1
Original Creditor segment) per account, and a Trailer Record with the file's totals, in the 426-character
("unpacked", character) format with fixed-length records, one record per line.

We report as a third-party collection agency: Portfolio Type O (open), Account Type 48 (collection
agency/attorney), Terms Duration 001, Date Opened = the date the account was placed with us, Highest
Credit = the placed balance, and a K1 segment naming the original creditor on every account.
`bureau_codes` maps our account and dispute states to Metro 2 codes:

    open, plan_active, settlement_pending, promise_pending, disputed, ceased   -> status 93
    paid                                                                       -> status 62
    settled (paid less than the full balance)                                 -> status 62 + special comment AU
    dispute open                                                               -> compliance condition XB
    dispute rejected, consumer disagrees with the result                       -> XC
    dispute rejected (or upheld without deletion) and resolved                 -> XH
    dispute upheld, not_mine (reported in error); account closed (returned)   -> status DA (delete)
    dispute upheld, identity_theft (confirmed fraud)                           -> status DF (delete, fraud)

Record lengths: a data record is the Base Segment (426) plus its appended segments; a K1 adds 34, so our
data records are 460 characters with Record Descriptor Word 0460. With fixed-length records every data record
has the same length (an account without an original creditor still carries "K1" and blanks), and the Header
and Trailer are padded with blanks to that length (their RDW says so too). A file with no K1 at all has
426-character records throughout.

Sources (positions are 1-based here; moov's table is 0-based):
- [MOOV] moov-io/metro2, pkg/lib/specifications.go (character-format tables of the header, base, K1 and
  trailer) and the CRRG field definitions quoted in pkg/lib/{base_segment,header_record,trailer_record,
  kn_segment}.go; docs/file-structure.md (whole dollars with cents truncated, alphanumeric left-justified
  blank-filled, numeric zero-filled, upper case; header/trailer padded to the data-record length).
  https://github.com/moov-io/metro2
- [CFPB] cfpb/Metro2, django/parse_m2/fields.py ("start and end positions ... match those in the CRRG"):
  header, base and K1 positions. https://github.com/cfpb/Metro2
- [RUBY] teamupstart/metro_2, lib/metro_2/records/{header,base,trailer}_segment.rb: field order and lengths,
  including the trailer. https://github.com/teamupstart/metro_2
- [GALILEO] https://docs.galileo-ft.com/pro/page/metro-2-base-segment (base positions 1-101).
- [SWITCH] https://metro2.switchlabs.dev/metro2/field/ (record-descriptor-word, header-record-identifier,
  date-created, program-date, program-revision-date, trailer-record-identifier, total-base-records).
- [COLLECT] Collect! help, excerpts of the Metro 2 manual: K1 positions
  http://www.collect.org/cv11/Help/metro2formatk1segment.html, header positions
  http://www.collect.org/cv11/Help/metro2formatheaderrecord.html, collection-agency guidelines (do not delete
  paid collections; delete only accounts returned to the creditor, forwarded, or reported in error)
  http://collect.org/cv11/Help/collectionagencyanddebtcollectorreporting.html, settlement = status 62 with
  special comment AU https://collect.org/cv12/Help/howtoreportasettlementtothecreditbureau.html
- [M2R] https://www.m2reporter.com/debt-collection-ref.html (collection agencies: portfolio O, account type
  48, Date Opened = date placed, Highest Credit = amount placed, Terms Duration 001, statuses 93/62/DA/DF,
  AU with 62, compliance codes XB/XC/XH/XR).
- [GENESYS] https://help.genesys.com/latitude/Liquid_2022r2/mergedProjects/Latitude/desktop/compliance_condition_codes.htm
  (XB disputed under the FCRA; XC investigation completed, consumer disagrees; XH previously in dispute, now
  resolved; XR removes the last code). [NETSOL]
  https://docsuite.netsoltech.com/v76a/docsuite/metro2/business_processes/contract_cancellation/report_as_deleted.php
  (DA delete entire account for reasons other than fraud; DF delete entire account due to confirmed fraud).

Confirmed by two or more sources: every header, base, K1 and trailer position written here. Disagreements,
and fields with only one source:
- Base position 20: Correction Indicator (0 = normal update) in MOOV, RUBY, GALILEO and COLLECT; "reserved"
  in CFPB. We write "0".
- Base 215-231: reserved in MOOV and CFPB; RUBY (and COLLECT's older layout) has Consumer Transaction Type
  at 231. We blank-fill all of it, which satisfies both.
- Header 226-280: Software Vendor Name 226-265 and Version 266-270 in MOOV, CFPB and RUBY; PRBC/MicroBilt
  identifier 271-280 in MOOV and CFPB only (reserved in RUBY, COLLECT has 226-426 reserved). We blank-fill
  271-426 and write vendor/version only when given.
- Trailer: MOOV and RUBY agree on every position; CFPB does not parse the trailer and SWITCH shows only
  5-11 and 12-20 (and the packed layout). Positions 75-83 are "Total Status Code 05" in MOOV and RUBY but
  "reserved" in SWITCH's packed layout; we zero-fill them (we never report 05).
- Payment History Profile: "B" = no history available (CRRG text quoted in MOOV); MOOV also lists blank as
  "no history (collections and debt buyers)". We B-fill; the guidelines found do not say which.
- Terms Frequency (105): no collection-agency value found; blank-filled.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal

BASE_LENGTH = 426
K1_LENGTH = 34
RECORD_END = "\n"  # one record per line, as moov-io and Collect! write them; the RDW does not count it

# CRRG Exhibit 4 codes, as the trailer counts them (MOOV, RUBY).
ACCOUNT_STATUSES = ("05", "11", "13", "61", "62", "63", "64", "65", "71", "78", "80", "82", "83", "84",
                    "88", "89", "93", "94", "95", "96", "97", "DA", "DF")
# These need a Payment Rating (base 126), which a collection agency has no use for (MOOV field 17B).
_NEEDS_PAYMENT_RATING = frozenset({"05", "13", "65", "88", "89", "94", "95"})
COMPLIANCE_CONDITIONS = ("", "XA", "XB", "XC", "XD", "XE", "XF", "XG", "XH", "XJ", "XR")
PORTFOLIO_TYPES = ("C", "I", "M", "O", "R")
ECOA_CODES = ("1", "2", "3", "5", "7", "T", "W", "X", "Z")
CREDITOR_CLASSIFICATIONS = tuple(f"{n:02d}" for n in range(1, 16))  # 01 retail ... 02 medical ... 15


class Metro2Error(ValueError):
    """Data that cannot be written as Metro 2 (says which account and field)."""


@dataclass(frozen=True, kw_only=True)
class BureauHeader:
    """Who reports, and for when: the Header Record."""

    reporter_name: str
    reporter_address: str  # the complete mailing address on one line
    reporter_phone: str  # ten digits (E.164 +1 numbers are accepted)
    program_id: str  # the furnisher's Identification Number (base 21-40): 5-20 letters/digits
    activity_date: date  # the as-of date of the update (Date of Account Information unless paid)
    created_on: date
    equifax_program_id: str = ""
    experian_program_id: str = ""
    transunion_program_id: str = ""
    innovis_program_id: str = ""
    software_vendor: str = ""
    software_version: str = ""


@dataclass(frozen=True, kw_only=True)
class BureauAccount:
    """One account as the bureaus get it: a Base Segment and its K1 segment."""

    account_ref: str  # reported without its separators (ACC-1001 -> ACC1001)
    portfolio_type: str = "O"  # O = open: collection accounts (M2R)
    account_type: str = "48"  # collection agency/attorney (M2R)
    date_opened: date  # the date placed with us
    original_amount: Decimal  # the placed balance (Highest Credit/Original Amount)
    current_balance: Decimal
    amount_past_due: Decimal
    account_status: str  # 93 | 62 | DA | DF for a collection agency; see bureau_codes
    special_comment: str = ""  # e.g. AU with 62: paid in full for less than the full balance
    compliance_condition: str = ""  # XB | XC | XH | XR | "" (nothing new this month)
    date_of_first_delinquency: date | None = None  # with the original creditor (FCRA 623(a)(5))
    date_closed: date | None = None  # for 62: the date paid
    date_of_last_payment: date | None = None
    actual_payment_amount: Decimal = Decimal(0)  # received in this reporting period
    date_of_account_information: date | None = None  # None: the header's activity date (date paid for 62)
    consumer_name: str  # "Surname, First Middle" or "First Middle Surname"
    date_of_birth: date | None = None
    address: str  # first line of the consumer's address
    address_line2: str = ""
    city: str = ""
    state: str = ""  # USPS two-letter code
    postcode: str = ""
    country_code: str = "US"
    phone: str = ""  # ten digits (or E.164 +1); anything else is not reported
    ecoa_code: str = "1"  # 1 individual; X deceased
    original_creditor_name: str = ""  # K1; "" = no original creditor to report
    creditor_classification: str = ""  # K1, two digits: 01 retail ... 02 medical ... 12 financial ... 15
    delete: bool = False  # report status DA (or DF when account_status is DF): the account leaves the file


@dataclass(frozen=True)
class BureauCodes:
    """The Metro 2 codes of one account's situation (fields of BureauAccount)."""

    account_status: str
    special_comment: str
    compliance_condition: str
    delete: bool


def bureau_codes(status: str, dispute_status: str | None = None, dispute_reason: str | None = None,
                 consumer_disagrees: bool = False) -> BureauCodes:
    """Metro 2 codes for our account `status` (SPEC 5) and its latest dispute (status open|upheld|rejected,
    reason not_mine|wrong_amount|already_paid|identity_theft|other).

    A collection agency reports 93 while collecting, 62 once paid (with AU when settled for less) and
    deletes (DA) only what was returned to the creditor or reported in error; confirmed identity theft is
    DF (M2R, COLLECT, NETSOL). A paid collection is never deleted. XB while a dispute is open, then XC when
    the consumer disagrees with the result or XH when it is resolved (GENESYS).
    """
    if dispute_status == "upheld" and dispute_reason == "identity_theft":
        return BureauCodes("DF", "", "", True)
    if dispute_status == "upheld" and dispute_reason == "not_mine":
        return BureauCodes("DA", "", "", True)
    if status == "closed":  # closed without payment: returned to the creditor
        return BureauCodes("DA", "", "", True)
    if status == "paid":
        account_status, comment = "62", ""
    elif status == "settled":
        account_status, comment = "62", "AU"
    else:
        account_status, comment = "93", ""
    if dispute_status == "open" or (status == "disputed" and dispute_status is None):
        condition = "XB"
    elif dispute_status == "rejected":
        condition = "XC" if consumer_disagrees else "XH"
    elif dispute_status == "upheld":  # corrected (wrong amount, already paid...), not deleted
        condition = "XH"
    else:
        condition = ""
    return BureauCodes(account_status, comment, condition, False)


# --- text as Metro 2 takes it ---------------------------------------------------------------------

# Letters NFKD does not decompose, and punctuation that has an ASCII twin.
_FOLD = str.maketrans({
    "ß": "SS", "ẞ": "SS", "æ": "AE", "Æ": "AE", "ø": "O", "Ø": "O", "œ": "OE", "Œ": "OE", "ł": "L", "Ł": "L",
    "đ": "D", "Đ": "D", "ð": "D", "Ð": "D", "þ": "TH", "Þ": "TH", "ı": "I", "ħ": "H", "Ħ": "H", "ŋ": "N",
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "‘": "'", "’": "'", "&": " AND ",
})
_NAME_CHARS = re.compile(r"[^A-Z \-]")  # CRRG: no special characters in names other than the hyphen
_ADDRESS_CHARS = re.compile(r"[^A-Z0-9 .\-/]")  # RUBY's and the Elixir port's address set
_PLAIN_CHARS = re.compile(r"[^A-Z0-9 .\-/]")
_ALNUM = re.compile(r"[^A-Z0-9]")


def ascii_upper(text: str) -> str:
    """Upper-case ASCII of any text: accents dropped (José -> JOSE), ß/Ø/Ł spelt out, the rest removed."""
    decomposed = unicodedata.normalize("NFKD", (text or "").translate(_FOLD))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return plain.encode("ascii", "ignore").decode("ascii").upper()


def _clean(text: str, disallowed: re.Pattern[str]) -> str:
    text = ascii_upper(text).replace("'", "")  # O'BRIEN -> OBRIEN, not O BRIEN
    text = " ".join(disallowed.sub(" ", text).split())
    return re.sub(r" ?- ?", "-", text).strip("-")


def _text(value: str, length: int, disallowed: re.Pattern[str] = _PLAIN_CHARS) -> str:
    """Alphanumeric: upper case, left-justified, blank-filled, cut at the field's end."""
    cut = _clean(value, disallowed)[:length].rstrip(" -")
    return cut.ljust(length)


def _digits(value: int, length: int, what: str) -> str:
    """Numeric: right-justified, zero-filled; never wider than its field."""
    if value < 0 or len(str(value)) > length:
        raise Metro2Error(f"{what}: {value} does not fit {length} digits")
    return str(value).zfill(length)


def whole_dollars(amount: Decimal) -> int:
    """Metro 2 money: whole dollars with the cents truncated; credit (negative) balances are zero."""
    return max(0, int(amount.to_integral_value(rounding=ROUND_DOWN)))


def _money(amount: Decimal, what: str) -> str:
    return _digits(whole_dollars(amount), 9, what)


def _date(value: date | None) -> str:
    """MMDDYYYY, or zeros when there is none."""
    return value.strftime("%m%d%Y") if value else "00000000"


def _phone(value: str) -> str:
    """Ten digits (area code + number), or "" when the number is not a North American one."""
    digits = re.sub(r"\D", "", value or "")
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) == 10 else ""


_GENERATIONS = {"JR": "J", "SR": "S", "II": "2", "III": "3", "IV": "4", "VI": "6", "VII": "7", "VIII": "8",
                "IX": "9"}  # "V" is left out: more often a middle initial than "the fifth"
_PARTICLES = frozenset({"DA", "DAL", "DE", "DEL", "DELLA", "DEN", "DER", "DI", "DOS", "DU", "LA", "LE", "TER",
                        "VAN", "VON", "ST", "BIN", "BINT", "AL", "EL"})


def split_name(name: str) -> tuple[str, str, str, str]:
    """(surname, first, middle, generation code) of "Surname, First Middle" or "First Middle Surname".

    Surname particles stay with the surname (Maria de la Cruz -> DE LA CRUZ); Jr/Sr/II-IX become the
    Generation Code (J, S, 2-9).
    """
    def words(text: str) -> list[str]:
        return _clean(text.replace(".", " "), _NAME_CHARS).split()

    def pop_generation(tokens: list[str]) -> str:
        return _GENERATIONS[tokens.pop()] if len(tokens) > 1 and tokens[-1] in _GENERATIONS else ""

    if "," in name:
        surname_part, _, rest = name.partition(",")
        surname = words(surname_part)
        given = words(rest.replace(",", " "))
        generation = pop_generation(given) or pop_generation(surname)
    else:
        tokens = words(name)
        generation = pop_generation(tokens)
        cut = max(len(tokens) - 1, 1) if len(tokens) > 1 else 0
        while cut > 1 and tokens[cut - 1] in _PARTICLES:
            cut -= 1
        given, surname = tokens[:cut], tokens[cut:]
    first = given[0] if given else ""
    return " ".join(surname), first, " ".join(given[1:]), generation


def _account_number(ref: str) -> str:
    number = _ALNUM.sub("", ascii_upper(ref))  # CRRG: no embedded blanks or special characters
    if not number or len(number) > 30:
        raise Metro2Error(f"account {ref!r}: the account number must be 1-30 letters or digits")
    return number


# --- records --------------------------------------------------------------------------------------

def _record(length: int, fields: Sequence[tuple[int, str]]) -> str:
    """A record of `length` blanks with each (1-based start, exact-width value) in place; fields never
    overlap, so none can run into the next."""
    chars = [" "] * length
    taken = [False] * length
    for start, value in fields:
        end = start - 1 + len(value)
        if start < 1 or end > length or any(taken[start - 1:end]):
            raise AssertionError(f"field at {start} (width {len(value)}) overlaps or overruns")  # a bug here
        chars[start - 1:end] = value
        taken[start - 1:end] = [True] * len(value)
    record = "".join(chars)
    assert record.isascii() and len(record) == length
    return record


def _header(header: BureauHeader, length: int) -> str:
    phone = _phone(header.reporter_phone)
    return _record(length, [
        (1, _digits(length, 4, "record descriptor word")),
        (5, "HEADER"),
        (13, _identifier(header.innovis_program_id, 10, "Innovis program identifier")),
        (23, _identifier(header.equifax_program_id, 10, "Equifax program identifier")),
        (33, _identifier(header.experian_program_id, 5, "Experian program identifier")),
        (38, _identifier(header.transunion_program_id, 10, "TransUnion program identifier")),
        (48, _date(header.activity_date)),
        (56, _date(header.created_on)),
        (64, _date(None)),  # program date: not kept
        (72, _date(None)),  # program revision date
        (80, _text(header.reporter_name, 40)),
        (120, _text(header.reporter_address, 96, _ADDRESS_CHARS)),
        (216, phone.zfill(10)),
        (226, _text(header.software_vendor, 40)),
        (266, _text(header.software_version, 5)),
    ])


def _identifier(value: str, length: int, what: str) -> str:
    cleaned = _ALNUM.sub("", ascii_upper(value))
    if len(cleaned) > length:
        raise Metro2Error(f"{what} {value!r} is longer than {length}")
    return cleaned.ljust(length)


def _status(account: BureauAccount) -> str:
    """The status reported: DF stays DF; `delete` otherwise means DA."""
    status = account.account_status.strip().upper()
    if status != "DF" and account.delete:
        status = "DA"
    if status not in ACCOUNT_STATUSES:
        raise Metro2Error(f"account {account.account_ref}: {account.account_status!r} is not a Metro 2 status")
    if status in _NEEDS_PAYMENT_RATING:
        raise Metro2Error(f"account {account.account_ref}: status {status} needs a Payment Rating (not written)")
    return status


def _information_date(account: BureauAccount, status: str, as_of: date) -> date:
    """Date of Account Information: the as-of date; for paid statuses (13, 61-65) the date paid (MOOV 24)."""
    if account.date_of_account_information:
        return account.date_of_account_information
    if status in {"13", "61", "62", "63", "64", "65"}:
        return account.date_closed or account.date_of_last_payment or as_of
    return as_of


def _check_codes(account: BureauAccount) -> None:
    ref = account.account_ref
    if account.portfolio_type not in PORTFOLIO_TYPES:
        raise Metro2Error(f"account {ref}: portfolio type {account.portfolio_type!r} is not one of {PORTFOLIO_TYPES}")
    if not re.fullmatch(r"[0-9A-Z]{2}", account.account_type):
        raise Metro2Error(f"account {ref}: account type {account.account_type!r} is not a two-character code")
    if account.special_comment and not re.fullmatch(r"[0-9A-Z]{1,2}", account.special_comment):
        raise Metro2Error(f"account {ref}: special comment {account.special_comment!r} is not a code")
    if account.compliance_condition not in COMPLIANCE_CONDITIONS:
        raise Metro2Error(f"account {ref}: compliance condition {account.compliance_condition!r} is unknown")
    if account.ecoa_code not in ECOA_CODES:
        raise Metro2Error(f"account {ref}: ECOA code {account.ecoa_code!r} is unknown")
    if has_k1(account) and account.creditor_classification not in CREDITOR_CLASSIFICATIONS:
        raise Metro2Error(f"account {ref}: creditor classification {account.creditor_classification!r} "
                          "is not 01-15")


def _base(account: BureauAccount, header: BureauHeader, status: str, identification: str, length: int) -> str:
    _check_codes(account)
    ref = account.account_ref
    surname, first, middle, generation = split_name(account.consumer_name)
    if not surname:
        raise Metro2Error(f"account {ref}: the consumer's name {account.consumer_name!r} has no surname in A-Z")
    information_date = _information_date(account, status, header.activity_date)
    return _record(BASE_LENGTH, [
        (1, _digits(length, 4, "record descriptor word")),  # the whole data record's length, K1 included
        (5, "1"),  # processing indicator: constant 1
        (6, _date(information_date) + "000000"),  # time stamp MMDDYYYYHHMMSS
        (20, "0"),  # correction indicator: a normal update
        (21, identification),
        (43, _account_number(ref).ljust(30)),
        (73, account.portfolio_type),
        (74, account.account_type),
        (76, _date(account.date_opened)),
        (84, _money(Decimal(0), "credit limit")),
        (93, _money(account.original_amount, f"account {ref}: original amount")),
        (102, "001"),  # terms duration: open accounts report 001
        (106, _money(Decimal(0), "scheduled monthly payment")),
        (115, _money(account.actual_payment_amount, f"account {ref}: actual payment")),
        (124, status),
        (127, "B" * 24),  # payment history profile: none we can furnish
        (151, _text(account.special_comment, 2)),
        (153, account.compliance_condition.ljust(2)),
        (155, _money(account.current_balance, f"account {ref}: current balance")),
        (164, _money(account.amount_past_due, f"account {ref}: amount past due")),
        (173, _money(Decimal(0), "original charge-off amount")),
        (182, _date(information_date)),
        (190, _date(account.date_of_first_delinquency)),
        (198, _date(account.date_closed)),
        (206, _date(account.date_of_last_payment)),
        (232, surname[:25].rstrip(" -").ljust(25)),
        (257, first[:20].rstrip(" -").ljust(20)),
        (277, middle[:20].rstrip(" -").ljust(20)),
        (297, generation or " "),
        (298, "0" * 9),  # social security number: not held
        (307, _date(account.date_of_birth)),
        (315, _phone(account.phone).zfill(10)),
        (325, account.ecoa_code),
        (328, _text(account.country_code, 2)),
        (330, _text(account.address, 32, _ADDRESS_CHARS)),
        (362, _text(account.address_line2, 32, _ADDRESS_CHARS)),
        (394, _text(account.city, 20, _ADDRESS_CHARS)),
        (414, _text(account.state, 2)),
        (416, _ALNUM.sub("", ascii_upper(account.postcode))[:9].ljust(9)),
    ])


def has_k1(account: BureauAccount) -> bool:
    """Whether the account has an original creditor to report (a name left once made plain ASCII)."""
    return bool(_clean(account.original_creditor_name, _PLAIN_CHARS))


def _k1(account: BureauAccount) -> str:
    """K1 Original Creditor: name and classification, or the identifier and blanks (fixed-length files)."""
    name = _text(account.original_creditor_name, 30)
    classification = account.creditor_classification if has_k1(account) else "  "
    return _record(K1_LENGTH, [(1, "K1"), (3, name), (33, classification)])


# Trailer: each status total's start (MOOV, RUBY); 9 digits each.
_STATUS_TOTALS = {"DF": 30, "DA": 66, "05": 75, "11": 84, "13": 93, "61": 102, "62": 111, "63": 120, "64": 129,
                  "65": 138, "71": 147, "78": 156, "80": 165, "82": 174, "83": 183, "84": 192, "88": 201,
                  "89": 210, "93": 219, "94": 228, "95": 237, "96": 246, "97": 255}


def _trailer(length: int, statuses: Sequence[str], accounts: Sequence[BureauAccount], k1_segments: int) -> str:
    counts = Counter(statuses)
    births = sum(1 for account in accounts if account.date_of_birth)
    phones = sum(1 for account in accounts if _phone(account.phone))
    ecoa_z = sum(1 for account in accounts if account.ecoa_code == "Z")

    def total(value: int, what: str) -> str:
        return _digits(value, 9, f"trailer {what}")

    fields = [
        (1, _digits(length, 4, "record descriptor word")),
        (5, "TRAILER"),
        (12, total(len(accounts), "base records")),
        (39, total(0, "J1 segments")),
        (48, total(0, "J2 segments")),
        (57, total(0, "block count")),  # unblocked file
        (264, total(ecoa_z, "ECOA code Z")),
        (273, total(0, "N1 segments")),
        (282, total(k1_segments, "K1 segments")),
        (291, total(0, "K2 segments")),
        (300, total(0, "K3 segments")),
        (309, total(0, "K4 segments")),
        (318, total(0, "L1 segments")),
        (327, total(0, "SSNs, all segments")),
        (336, total(0, "SSNs, base")),
        (345, total(0, "SSNs, J1")),
        (354, total(0, "SSNs, J2")),
        (363, total(births, "dates of birth, all segments")),
        (372, total(births, "dates of birth, base")),
        (381, total(0, "dates of birth, J1")),
        (390, total(0, "dates of birth, J2")),
        (399, total(phones, "telephone numbers, all segments")),
    ]
    fields += [(start, total(counts[code], f"status {code}")) for code, start in _STATUS_TOTALS.items()]
    return _record(length, fields)


def record_length(accounts: Sequence[BureauAccount]) -> int:
    """Every record's length in the file: 426, or 460 when any account has an original creditor (K1)."""
    return BASE_LENGTH + (K1_LENGTH if any(has_k1(account) for account in accounts) else 0)


def metro2_file(header: BureauHeader, accounts: Sequence[BureauAccount]) -> str:
    """The whole file: Header, one data record per account (Base Segment + K1), Trailer; fixed-length
    records, each followed by a newline, ASCII only. Metro2Error names the account whose data does not fit."""
    identification = _ALNUM.sub("", ascii_upper(header.program_id))
    if not 5 <= len(identification) <= 20 or identification != header.program_id.strip().upper():
        raise Metro2Error(f"identification number {header.program_id!r} must be 5-20 letters or digits")
    numbers = Counter(_account_number(account.account_ref) for account in accounts)
    duplicated = sorted(number for number, n in numbers.items() if n > 1)
    if duplicated:
        raise Metro2Error(f"account numbers reported twice (after removing separators): {', '.join(duplicated)}")

    length = record_length(accounts)
    with_k1 = length > BASE_LENGTH
    records = [_header(header, length)]
    statuses = []
    for account in accounts:
        status = _status(account)
        statuses.append(status)
        base = _base(account, header, status, identification.ljust(20), length)
        records.append(base + (_k1(account) if with_k1 else ""))
    k1_segments = sum(1 for account in accounts if has_k1(account))
    records.append(_trailer(length, statuses, accounts, k1_segments))
    return "".join(record + RECORD_END for record in records)
