"""The Metro 2 writer against the published layout.

The position tables below are written out from the sources (1-based start, length), not taken from the
module: base/header/K1 from cfpb/Metro2 django/parse_m2/fields.py and moov-io/metro2 pkg/lib/specifications.go
(moov is 0-based), the trailer from moov-io and teamupstart/metro_2 trailer_segment.rb.
"""
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from bot.bureau.metro2 import (
    BureauAccount,
    BureauCodes,
    BureauHeader,
    Metro2Error,
    bureau_codes,
    metro2_file,
    split_name,
    whole_dollars,
)

BASE = {  # name: (start, length)
    "rdw": (1, 4), "processing_indicator": (5, 1), "time_stamp": (6, 14), "correction_indicator": (20, 1),
    "identification_number": (21, 20), "cycle_identifier": (41, 2), "account_number": (43, 30),
    "portfolio_type": (73, 1), "account_type": (74, 2), "date_opened": (76, 8), "credit_limit": (84, 9),
    "highest_credit": (93, 9), "terms_duration": (102, 3), "terms_frequency": (105, 1),
    "scheduled_payment": (106, 9), "actual_payment": (115, 9), "account_status": (124, 2),
    "payment_rating": (126, 1), "payment_history": (127, 24), "special_comment": (151, 2),
    "compliance_condition": (153, 2), "current_balance": (155, 9), "amount_past_due": (164, 9),
    "original_charge_off": (173, 9), "date_account_information": (182, 8), "date_first_delinquency": (190, 8),
    "date_closed": (198, 8), "date_last_payment": (206, 8), "interest_type": (214, 1), "reserved": (215, 17),
    "surname": (232, 25), "first_name": (257, 20), "middle_name": (277, 20), "generation_code": (297, 1),
    "ssn": (298, 9), "date_of_birth": (307, 8), "telephone": (315, 10), "ecoa_code": (325, 1),
    "consumer_information_indicator": (326, 2), "country_code": (328, 2), "address_1": (330, 32),
    "address_2": (362, 32), "city": (394, 20), "state": (414, 2), "zip": (416, 9), "address_indicator": (425, 1),
    "residence_code": (426, 1),
}
HEADER = {
    "rdw": (1, 4), "record_identifier": (5, 6), "cycle_identifier": (11, 2), "innovis": (13, 10),
    "equifax": (23, 10), "experian": (33, 5), "transunion": (38, 10), "activity_date": (48, 8),
    "date_created": (56, 8), "program_date": (64, 8), "program_revision_date": (72, 8),
    "reporter_name": (80, 40), "reporter_address": (120, 96), "reporter_phone": (216, 10),
    "software_vendor": (226, 40), "software_version": (266, 5), "prbc_identifier": (271, 10),
    "reserved": (281, 146),
}
TRAILER = {
    "rdw": (1, 4), "record_identifier": (5, 7), "total_base_records": (12, 9), "reserved_1": (21, 9),
    "status_DF": (30, 9), "j1_segments": (39, 9), "j2_segments": (48, 9), "block_count": (57, 9),
    "status_DA": (66, 9), "status_05": (75, 9), "status_11": (84, 9), "status_13": (93, 9), "status_61": (102, 9),
    "status_62": (111, 9), "status_63": (120, 9), "status_64": (129, 9), "status_65": (138, 9),
    "status_71": (147, 9), "status_78": (156, 9), "status_80": (165, 9), "status_82": (174, 9),
    "status_83": (183, 9), "status_84": (192, 9), "status_88": (201, 9), "status_89": (210, 9),
    "status_93": (219, 9), "status_94": (228, 9), "status_95": (237, 9), "status_96": (246, 9),
    "status_97": (255, 9), "ecoa_z": (264, 9), "n1_segments": (273, 9), "k1_segments": (282, 9),
    "k2_segments": (291, 9), "k3_segments": (300, 9), "k4_segments": (309, 9), "l1_segments": (318, 9),
    "ssn_all": (327, 9), "ssn_base": (336, 9), "ssn_j1": (345, 9), "ssn_j2": (354, 9), "dob_all": (363, 9),
    "dob_base": (372, 9), "dob_j1": (381, 9), "dob_j2": (390, 9), "phones_all": (399, 9), "reserved_2": (408, 19),
}
K1 = {"segment_identifier": (1, 2), "original_creditor_name": (3, 30), "creditor_classification": (33, 2)}

NUMERIC_BASE = ["rdw", "processing_indicator", "time_stamp", "correction_indicator", "date_opened", "credit_limit",
                "highest_credit", "scheduled_payment", "actual_payment", "current_balance", "amount_past_due",
                "original_charge_off", "date_account_information", "date_first_delinquency", "date_closed",
                "date_last_payment", "ssn", "date_of_birth", "telephone"]

HEAD = BureauHeader(
    reporter_name="Northwind Recoveries LLC", reporter_address="100 Main St, Springfield IL 62701",
    reporter_phone="+1 (555) 010-2000", program_id="NWR12345", activity_date=date(2026, 11, 30),
    created_on=date(2026, 12, 1), equifax_program_id="EFX77", experian_program_id="X123",
    transunion_program_id="TU0099", software_vendor="Collections Bot", software_version="1.4",
)
OPEN = BureauAccount(
    account_ref="ACC-1001", date_opened=date(2026, 9, 1), original_amount=Decimal("1234.56"),
    current_balance=Decimal("1100.99"), amount_past_due=Decimal("1100.99"), account_status="93",
    consumer_name="Jordan Avery", date_of_birth=date(1985, 3, 12), address="12 Lake Shore Dr",
    address_line2="Apt 4B", city="Chicago", state="IL", postcode="60614", phone="+15551230001",
    original_creditor_name="Acme Mobile", creditor_classification="11",
    date_of_first_delinquency=date(2026, 5, 3), date_of_last_payment=date(2026, 11, 14),
    actual_payment_amount=Decimal("50.00"),
)


def field(record: str, table: dict[str, tuple[int, int]], name: str) -> str:
    start, length = table[name]
    return record[start - 1:start - 1 + length]


def records(text: str) -> list[str]:
    assert text.endswith("\n") and "\r" not in text
    return text.split("\n")[:-1]


@pytest.mark.parametrize("table, total", [(BASE, 426), (HEADER, 426), (TRAILER, 426), (K1, 34)])
def test_the_position_tables_tile_their_record(table, total):
    # The tables themselves: no gap, no overlap, exactly the record's length.
    position = 1
    for start, length in sorted(table.values()):
        assert start == position
        position += length
    assert position - 1 == total


def test_every_record_is_fixed_length_and_says_so():
    text = metro2_file(HEAD, [OPEN, replace(OPEN, account_ref="ACC-1002", original_creditor_name="")])
    lines = records(text)
    assert len(lines) == 4
    assert text.isascii()
    for line in lines:  # Base 426 + K1 34 = 460 on every record; header and trailer padded to match
        assert len(line) == 460
        assert line[:4] == "0460"


def test_without_an_original_creditor_every_record_is_426():
    lines = records(metro2_file(HEAD, [replace(OPEN, original_creditor_name="")]))
    assert [len(line) for line in lines] == [426, 426, 426]
    assert [line[:4] for line in lines] == ["0426"] * 3


def test_header_fields_sit_where_the_layout_puts_them():
    header = records(metro2_file(HEAD, [OPEN]))[0]
    expected = {
        "rdw": "0460", "record_identifier": "HEADER", "cycle_identifier": "  ", "innovis": " " * 10,
        "equifax": "EFX77".ljust(10), "experian": "X123 ", "transunion": "TU0099".ljust(10),
        "activity_date": "11302026", "date_created": "12012026", "program_date": "00000000",
        "program_revision_date": "00000000", "reporter_name": "NORTHWIND RECOVERIES LLC".ljust(40),
        "reporter_address": "100 MAIN ST SPRINGFIELD IL 62701".ljust(96), "reporter_phone": "5550102000",
        "software_vendor": "COLLECTIONS BOT".ljust(40), "software_version": "1.4  ", "prbc_identifier": " " * 10,
        "reserved": " " * 146,
    }
    for name, value in expected.items():
        assert field(header, HEADER, name) == value, name
    assert header[426:] == " " * 34  # padded to the data records' length


def test_base_segment_fields_sit_where_the_layout_puts_them():
    data = records(metro2_file(HEAD, [OPEN]))[1]
    base, k1 = data[:426], data[426:]
    expected = {
        "rdw": "0460", "processing_indicator": "1", "time_stamp": "11302026000000", "correction_indicator": "0",
        "identification_number": "NWR12345".ljust(20), "cycle_identifier": "  ",
        "account_number": "ACC1001".ljust(30), "portfolio_type": "O", "account_type": "48",
        "date_opened": "09012026", "credit_limit": "000000000", "highest_credit": "000001234",
        "terms_duration": "001", "terms_frequency": " ", "scheduled_payment": "000000000",
        "actual_payment": "000000050", "account_status": "93", "payment_rating": " ",
        "payment_history": "B" * 24, "special_comment": "  ", "compliance_condition": "  ",
        "current_balance": "000001100", "amount_past_due": "000001100", "original_charge_off": "000000000",
        "date_account_information": "11302026", "date_first_delinquency": "05032026",
        "date_closed": "00000000", "date_last_payment": "11142026", "interest_type": " ", "reserved": " " * 17,
        "surname": "AVERY".ljust(25), "first_name": "JORDAN".ljust(20), "middle_name": " " * 20,
        "generation_code": " ", "ssn": "000000000", "date_of_birth": "03121985", "telephone": "5551230001",
        "ecoa_code": "1", "consumer_information_indicator": "  ", "country_code": "US",
        "address_1": "12 LAKE SHORE DR".ljust(32), "address_2": "APT 4B".ljust(32), "city": "CHICAGO".ljust(20),
        "state": "IL", "zip": "60614".ljust(9), "address_indicator": " ", "residence_code": " ",
    }
    assert set(expected) == set(BASE)
    for name, value in expected.items():
        assert field(base, BASE, name) == value, name
    assert field(k1, K1, "segment_identifier") == "K1"
    assert field(k1, K1, "original_creditor_name") == "ACME MOBILE".ljust(30)
    assert field(k1, K1, "creditor_classification") == "11"


def test_an_account_without_original_creditor_still_carries_a_blank_k1_in_a_fixed_length_file():
    data = records(metro2_file(HEAD, [OPEN, replace(OPEN, account_ref="ACC-1002", original_creditor_name="")]))[2]
    assert data[426:] == "K1" + " " * 32


def test_numbers_are_right_justified_zero_filled_and_text_left_justified_blank_filled():
    base = records(metro2_file(HEAD, [replace(OPEN, current_balance=Decimal("7"))]))[1]
    assert field(base, BASE, "current_balance") == "000000007"
    assert field(base, BASE, "account_number") == "ACC1001" + " " * 23
    assert field(base, BASE, "city") == "CHICAGO" + " " * 13


@pytest.mark.parametrize("amount, reported", [
    (Decimal("1234.99"), "000001234"),  # cents truncated, not rounded
    (Decimal("0.99"), "000000000"),
    (Decimal("-25.00"), "000000000"),  # credit balances are reported as zero
    (Decimal("999999999.99"), "999999999"),
])
def test_money_is_whole_dollars(amount, reported):
    base = records(metro2_file(HEAD, [replace(OPEN, current_balance=amount)]))[1]
    assert field(base, BASE, "current_balance") == reported


def test_money_too_large_for_its_field_is_refused_not_cut():
    with pytest.raises(Metro2Error, match="ACC-1001"):
        metro2_file(HEAD, [replace(OPEN, current_balance=Decimal("1000000000"))])
    assert whole_dollars(Decimal("12.50")) == 12


def test_dates_are_mmddyyyy_and_missing_dates_zeros():
    base = records(metro2_file(HEAD, [replace(OPEN, date_of_birth=None, date_of_first_delinquency=None)]))[1]
    assert field(base, BASE, "date_opened") == "09012026"
    assert field(base, BASE, "date_of_birth") == "00000000"
    assert field(base, BASE, "date_first_delinquency") == "00000000"


def test_a_paid_collection_reports_the_date_paid_as_its_information_date():
    paid = replace(OPEN, account_status="62", current_balance=Decimal(0), amount_past_due=Decimal(0),
                   date_closed=date(2026, 11, 20), date_of_last_payment=date(2026, 11, 20))
    base = records(metro2_file(HEAD, [paid]))[1]
    assert field(base, BASE, "account_status") == "62"
    assert field(base, BASE, "date_account_information") == "11202026"
    assert field(base, BASE, "date_closed") == "11202026"


def test_trailer_counts_what_the_file_holds():
    accounts = [
        OPEN,
        replace(OPEN, account_ref="ACC-1002", compliance_condition="XB", phone="020 7946 0000"),  # not a US number
        replace(OPEN, account_ref="ACC-1003", account_status="62", current_balance=Decimal(0),
                date_closed=date(2026, 11, 2)),
        replace(OPEN, account_ref="ACC-1004", account_status="62", special_comment="AU",
                current_balance=Decimal(0), date_closed=date(2026, 11, 3), date_of_birth=None),
        replace(OPEN, account_ref="ACC-1005", delete=True),
        replace(OPEN, account_ref="ACC-1006", account_status="DF", delete=True, original_creditor_name=""),
        replace(OPEN, account_ref="ACC-1007", ecoa_code="Z"),
    ]
    lines = records(metro2_file(HEAD, accounts))
    trailer = lines[-1]
    assert len(trailer) == 460 and trailer[426:] == " " * 34
    # What the data records actually say, read back by position.
    statuses = [field(line, BASE, "account_status") for line in lines[1:-1]]
    assert statuses == ["93", "93", "62", "62", "DA", "DF", "93"]
    expected = {name: "000000000" for name, (_, length) in TRAILER.items() if length == 9}
    expected.update({
        "total_base_records": "000000007", "status_93": "000000003", "status_62": "000000002",
        "status_DA": "000000001", "status_DF": "000000001", "ecoa_z": "000000001",
        "k1_segments": "000000006", "dob_all": "000000006", "dob_base": "000000006", "phones_all": "000000006",
    })
    expected.update({"rdw": "0460", "record_identifier": "TRAILER", "reserved_1": " " * 9, "reserved_2": " " * 19})
    assert set(expected) == set(TRAILER)
    for name, value in expected.items():
        assert field(trailer, TRAILER, name) == value, name


def test_an_empty_file_is_a_header_and_a_trailer():
    lines = records(metro2_file(HEAD, []))
    assert [len(line) for line in lines] == [426, 426]
    assert field(lines[1], TRAILER, "total_base_records") == "000000000"


def test_accented_names_are_transliterated_to_plain_upper_case():
    account = replace(OPEN, consumer_name="José María de la Cruz-Núñez Jr.", address="12 Rue de l'Église #4",
                      city="Zürich-Höngg", original_creditor_name="Crédit Agricole & Fils")
    data = records(metro2_file(HEAD, [account]))[1]
    assert data.isascii()
    assert field(data, BASE, "surname") == "DE LA CRUZ-NUNEZ".ljust(25)
    assert field(data, BASE, "first_name") == "JOSE".ljust(20)
    assert field(data, BASE, "middle_name") == "MARIA".ljust(20)
    assert field(data, BASE, "generation_code") == "J"
    assert field(data, BASE, "address_1") == "12 RUE DE LEGLISE 4".ljust(32)
    assert field(data, BASE, "city") == "ZURICH-HONGG".ljust(20)
    assert field(data[426:], K1, "original_creditor_name") == "CREDIT AGRICOLE AND FILS".ljust(30)


@pytest.mark.parametrize("name, parts", [
    ("Jordan Avery", ("AVERY", "JORDAN", "", "")),
    ("Avery, Jordan Lee", ("AVERY", "JORDAN", "LEE", "")),
    ("Smith, John Q, Jr.", ("SMITH", "JOHN", "Q", "J")),
    ("O'Brien-Nuñez, Siobhán", ("OBRIEN-NUNEZ", "SIOBHAN", "", "")),
    ("Łukasz Żółć", ("ZOLC", "LUKASZ", "", "")),
    ("Ludwig van Beethoven III", ("VAN BEETHOVEN", "LUDWIG", "", "3")),
    ("Straße, Jörg", ("STRASSE", "JORG", "", "")),
    ("Cher", ("CHER", "", "", "")),
])
def test_names_are_split_into_surname_first_middle_and_generation(name, parts):
    assert split_name(name) == parts


def test_very_long_values_are_cut_at_their_field_and_never_spill_into_the_next():
    long = replace(
        OPEN,
        consumer_name="Maximilianus-Alexandrinus Bartholomew-Fitzgerald Wolfeschlegelsteinhausenbergerdorff",
        address="1234567 North Very Long Boulevard Name Extension Street", address_line2="Building " * 10,
        city="Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch", state="Illinois",
        postcode="60614-1234-99", original_creditor_name="The Extraordinarily Long Original Creditor Name Inc",
        account_ref="ABCDEFGHIJ-KLMNOPQRST-UVWXYZ1234",
    )
    data = records(metro2_file(HEAD, [long]))[1]
    assert len(data) == 460
    assert field(data, BASE, "surname") == "WOLFESCHLEGELSTEINHAUSENB"
    assert field(data, BASE, "first_name") == "MAXIMILIANUS-ALEXANDR"[:20]
    assert field(data, BASE, "middle_name") == "BARTHOLOMEW-FITZGERA"
    assert field(data, BASE, "generation_code") == " "  # the neighbour is intact
    assert field(data, BASE, "address_1") == "1234567 NORTH VERY LONG BOULEVAR"
    assert field(data, BASE, "city") == "LLANFAIRPWLLGWYNGYLL"
    assert field(data, BASE, "state") == "IL"
    assert field(data, BASE, "zip") == "606141234"
    assert field(data, BASE, "address_indicator") == " "
    assert field(data, BASE, "account_number") == "ABCDEFGHIJKLMNOPQRSTUVWXYZ1234"
    assert field(data[426:], K1, "original_creditor_name") == "THE EXTRAORDINARILY LONG ORIGI"
    assert field(data[426:], K1, "creditor_classification") == "11"
    for name in NUMERIC_BASE:
        assert field(data, BASE, name).isdigit(), name


def test_an_account_number_longer_than_its_field_is_refused_not_cut():
    with pytest.raises(Metro2Error, match="account number"):
        metro2_file(HEAD, [replace(OPEN, account_ref="A" * 31)])


def test_two_references_that_become_the_same_account_number_are_refused():
    with pytest.raises(Metro2Error, match="ACC1001"):
        metro2_file(HEAD, [OPEN, replace(OPEN, account_ref="ACC1001")])


def test_a_name_with_nothing_in_a_to_z_is_refused():
    with pytest.raises(Metro2Error, match="ACC-1001"):
        metro2_file(HEAD, [replace(OPEN, consumer_name="王小明")])


@pytest.mark.parametrize("change", [
    {"account_status": "99"},
    {"account_status": "13"},  # needs a Payment Rating
    {"compliance_condition": "XZ"},
    {"portfolio_type": "Z"},
    {"creditor_classification": "16"},
    {"ecoa_code": "4"},
])
def test_codes_outside_metro2_are_refused(change):
    with pytest.raises(Metro2Error):
        metro2_file(HEAD, [replace(OPEN, **change)])


@pytest.mark.parametrize("program_id", ["1234", "NWR-12345", "X" * 21, ""])
def test_the_identification_number_must_be_5_to_20_letters_or_digits(program_id):
    with pytest.raises(Metro2Error):
        metro2_file(replace(HEAD, program_id=program_id), [OPEN])


@pytest.mark.parametrize("status, dispute, reason, disagrees, codes", [
    ("open", None, None, False, BureauCodes("93", "", "", False)),
    ("plan_active", None, None, False, BureauCodes("93", "", "", False)),
    ("ceased", None, None, False, BureauCodes("93", "", "", False)),
    ("paid", None, None, False, BureauCodes("62", "", "", False)),
    ("settled", None, None, False, BureauCodes("62", "AU", "", False)),
    ("disputed", "open", "wrong_amount", False, BureauCodes("93", "", "XB", False)),
    ("disputed", None, None, False, BureauCodes("93", "", "XB", False)),
    ("open", "rejected", "not_mine", False, BureauCodes("93", "", "XH", False)),
    ("open", "rejected", "not_mine", True, BureauCodes("93", "", "XC", False)),
    ("open", "upheld", "wrong_amount", False, BureauCodes("93", "", "XH", False)),
    ("paid", "upheld", "already_paid", False, BureauCodes("62", "", "XH", False)),
    ("disputed", "upheld", "not_mine", False, BureauCodes("DA", "", "", True)),
    ("disputed", "upheld", "identity_theft", False, BureauCodes("DF", "", "", True)),
    ("closed", None, None, False, BureauCodes("DA", "", "", True)),
])
def test_our_situations_map_to_metro2_codes(status, dispute, reason, disagrees, codes):
    assert bureau_codes(status, dispute, reason, disagrees) == codes


def test_mapped_codes_write_a_valid_record():
    for status, dispute, reason in [("settled", None, None), ("disputed", "open", "other"),
                                    ("open", "upheld", "identity_theft")]:
        codes = bureau_codes(status, dispute, reason)
        account = replace(OPEN, account_status=codes.account_status, special_comment=codes.special_comment,
                          compliance_condition=codes.compliance_condition, delete=codes.delete)
        data = records(metro2_file(HEAD, [account]))[1]
        assert field(data, BASE, "account_status") == codes.account_status
        assert field(data, BASE, "special_comment") == codes.special_comment.ljust(2)
        assert field(data, BASE, "compliance_condition") == codes.compliance_condition.ljust(2)
