import signal
import time
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from bot import payments_files
from bot.payments_files import (
    MAX_FILE_BYTES,
    PaymentFileError,
    PaymentRow,
    RowProblem,
    account_ref_candidates,
    account_ref_in,
    read_payments,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "payments"


@contextmanager
def within(seconds: int):
    """Fails the test instead of hanging it (a parser expanding entities would never return)."""
    def timed_out(signum, frame):
        raise AssertionError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, timed_out)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def write(tmp_path: Path, text: str, name: str = "payments.txt", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def camt(entries: str, version: str = "02", statement_id: str = "STMT-1") -> str:
    """A minimal camt.053 document around some <Ntry> elements."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-05T06:00:00</CreDtTm></GrpHdr>
    <Stmt><Id>{statement_id}</Id><Acct><Id><IBAN>GB33BUKB20201555555555</IBAN></Id></Acct>{entries}</Stmt>
  </BkToCstmrStmt>
</Document>"""


def entry(*, amount: str = "10.00", ccy: str = "GBP", indicator: str = "CRDT", extra: str = "",
          servicer_ref: str | None = "SVC-1", dates: str = "<BookgDt><Dt>2026-11-02</Dt></BookgDt>",
          details: str = "<NtryDtls><TxDtls><RmtInf><Ustrd>REF ACC-1001</Ustrd></RmtInf></TxDtls></NtryDtls>") -> str:
    ref = f"<AcctSvcrRef>{servicer_ref}</AcctSvcrRef>" if servicer_ref else ""
    return (f"<Ntry>{extra}<Amt Ccy=\"{ccy}\">{amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>"
            f"<Sts>BOOK</Sts>{dates}{ref}{details}</Ntry>")


# --- CSV -----------------------------------------------------------------------------------------

def test_csv_with_extra_columns_messy_amounts_and_bad_rows():
    rows, problems = read_payments(DATA / "payments_mixed.csv")

    assert rows == [
        PaymentRow(2, "PAY-20261102-0001", "ACC-1001", Decimal("1234.50"), "USD", date(2026, 11, 2),
                   "settlement in full"),
        PaymentRow(3, "PAY-20261102-0002", "ACC-1002", Decimal("50"), "USD", date(2026, 11, 2), ""),
        PaymentRow(4, "PAY-20261103-0003", "BB-77310", Decimal("80.00"), "GBP", date(2026, 11, 3),
                   "November instalment, 2 of 12"),
        # No account_ref: still money received, kept (the import records it unmatched).
        PaymentRow(9, "PAY-20261104-0007", None, Decimal("40.00"), "USD", date(2026, 11, 4),
                   "paid by phone,\r\nno account given"),
    ]
    assert all(type(row.amount) is Decimal for row in rows)
    reasons = {problem.line: problem.reason for problem in problems}
    assert sorted(reasons) == [5, 6, 7, 11, 12, 13, 14]
    assert "not more than zero" in reasons[5]
    assert "YYYY-MM-DD" in reasons[6] and "03/11/2026" in reasons[6]
    assert reasons[7] == "reference is empty"
    assert "negative" in reasons[11]
    assert reasons[12] == "reference 'PAY-20261102-0001' is already used on line 2: not imported"
    assert "1.234,50" in reasons[13]
    assert "not a real date" in reasons[14]
    assert str(problems[0]) == f"line 5: {reasons[5]}"


def test_csv_without_currency_column_has_no_currency_and_two_decimals(tmp_path):
    path = write(tmp_path, "reference,account_ref,paid_on,amount\nR1,ACC-1001,2026-11-02,12.5\nR2,ACC-1001,2026-11-02,"
                           "1.005\n")

    rows, problems = read_payments(path)

    assert [(row.reference, row.amount, row.currency, row.remittance) for row in rows] == [
        ("R1", Decimal("12.5"), None, "")]
    assert [problem.line for problem in problems] == [3]
    assert "decimal places" in problems[0].reason


@pytest.mark.parametrize("amount, currency, reason", [
    ("£50", "USD", "written in £ but the row's currency is USD"),
    ("1,23", "USD", "not an amount"),
    ("50 USD", "USD", "not an amount"),
    ("(20.00)", "USD", "negative"),
    ("1e3", "USD", "not an amount"),
    ("100000000.01", "USD", "implausibly large"),
    ("12.50", "JPY", "decimal places"),
    ("12.50", "DOLLARS", "ISO 4217"),
])
def test_csv_amounts_that_are_refused(tmp_path, amount, currency, reason):
    path = write(tmp_path, f"account_ref,amount,paid_on,reference,currency\nACC-1001,\"{amount}\",2026-11-02,R1,"
                           f"{currency}\n")

    rows, problems = read_payments(path)

    assert rows == []
    assert len(problems) == 1 and problems[0].line == 2 and reason in problems[0].reason


def test_csv_row_reports_every_problem_at_once(tmp_path):
    path = write(tmp_path, "account_ref,amount,paid_on,reference\nACC-1001,abc,20261102,\n")

    _, problems = read_payments(path)

    assert problems[0].reason.count(";") == 2  # the empty reference, the amount and the date


def test_csv_row_with_the_wrong_number_of_fields(tmp_path):
    path = write(tmp_path, "account_ref,amount,paid_on,reference\nACC-1001,10.00,2026-11-02\n")

    assert read_payments(path) == ([], [RowProblem(2, "has 3 fields, the header has 4")])


def test_csv_header_names_are_trimmed_and_case_insensitive_with_a_bom(tmp_path):
    path = write(tmp_path, "\ufeff ACCOUNT_REF ,Amount , PAID_ON,Reference\nACC-1001,10.00,2026-11-02,R1\n")

    rows, problems = read_payments(path)

    assert problems == [] and rows[0].account_ref == "ACC-1001" and rows[0].amount == Decimal("10.00")


def test_csv_lacking_a_required_column_is_refused(tmp_path):
    path = write(tmp_path, "account_ref,amount,reference\nACC-1001,10.00,R1\n")

    with pytest.raises(PaymentFileError, match="lacks column.*paid_on"):
        read_payments(path)


def test_csv_with_a_column_twice_is_refused(tmp_path):
    path = write(tmp_path, "account_ref,amount,paid_on,reference,Amount\nACC-1001,10.00,2026-11-02,R1,11.00\n")

    with pytest.raises(PaymentFileError, match="amount more than once"):
        read_payments(path)


def test_csv_reference_longer_than_a_reference_is_a_problem(tmp_path):
    path = write(tmp_path, f"account_ref,amount,paid_on,reference\nACC-1001,10.00,2026-11-02,{'R' * 101}\n")

    rows, problems = read_payments(path)

    assert rows == [] and "longer than 100 characters" in problems[0].reason


def test_csv_with_only_a_header_has_no_payments(tmp_path):
    assert read_payments(write(tmp_path, "account_ref,amount,paid_on,reference\n")) == ([], [])


# --- what the file is ------------------------------------------------------------------------------

def test_kind_is_told_by_content_not_extension(tmp_path):
    csv_named_xml = write(tmp_path, "account_ref,amount,paid_on,reference\nACC-1001,10.00,2026-11-02,R1\n",
                          "statement.xml")
    camt_named_csv = write(tmp_path, camt(entry()), "payments.csv")

    assert read_payments(csv_named_xml)[0][0].reference == "R1"
    assert read_payments(camt_named_csv)[0][0].reference == "SVC-1"


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"  \n", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a camt.053 statement nor a UTF-8 CSV|neither"),
    (b"name,phone\nJordan,+15551230001\n", "lacks column"),
    (b"<html><body>payments</body></html>", "not an ISO 20022 camt.053"),
    (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.001.001.03'/>", "not an ISO 20022 camt.053"),
    (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.054.001.02'/>", "camt.054 message"),
    (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.02'><BkToCstmrStmt>", "not well-formed"),
])
def test_files_that_are_neither_kind_are_refused(tmp_path, content, message):
    path = tmp_path / "upload"
    path.write_bytes(content)

    with pytest.raises(PaymentFileError, match=message):
        read_payments(path)


def test_a_missing_file_or_a_directory_is_refused(tmp_path):
    with pytest.raises(PaymentFileError, match="no such file"):
        read_payments(tmp_path / "nope.csv")
    with pytest.raises(PaymentFileError, match="directory"):
        read_payments(tmp_path)


def test_a_file_over_the_size_limit_is_refused_without_being_read(tmp_path):
    path = tmp_path / "huge.xml"
    with path.open("wb") as file:  # sparse: no disk used, and never read
        file.write(b"<")
        file.truncate(MAX_FILE_BYTES + 1)

    with within(5), pytest.raises(PaymentFileError, match="over 50 MB"):
        read_payments(path)


def test_a_file_that_grows_past_the_limit_after_stat_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(payments_files, "MAX_FILE_BYTES", 100)
    path = write(tmp_path, "account_ref,amount,paid_on,reference\n" + "ACC-1001,1.00,2026-11-02,R\n" * 10)

    with pytest.raises(PaymentFileError, match="over"):
        read_payments(path)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE Document [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
""" + camt(entry(details="<NtryDtls><TxDtls><RmtInf><Ustrd>&lol9;</Ustrd></RmtInf></TxDtls></NtryDtls>")).split(
    "\n", 1)[1]


def test_billion_laughs_is_refused_without_hanging(tmp_path):
    path = write(tmp_path, BILLION_LAUGHS, "statement.xml")

    started = time.monotonic()
    with within(10), pytest.raises(PaymentFileError, match="DTD or entities"):
        read_payments(path)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("prolog", [
    '<!DOCTYPE Document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',  # external entity (XXE)
    '<!DOCTYPE Document SYSTEM "http://127.0.0.1:9/camt.dtd">',  # external DTD
    "<!DOCTYPE Document>",  # any DTD: a bank statement never has one
])
def test_any_dtd_is_refused(tmp_path, prolog):
    document = camt(entry(details="")).replace("<Document", prolog + "\n<Document", 1)

    with pytest.raises(PaymentFileError, match="DTD or entities"):
        read_payments(write(tmp_path, document))


# --- camt.053 ------------------------------------------------------------------------------------

def test_camt053_v02_statement():
    rows, problems = read_payments(DATA / "statement_camt053_v02.xml")

    assert problems == []  # entry 3, the bank's charge, is a debit: not a payment, nothing to report
    assert [(row.line, row.reference, row.account_ref, row.amount, row.currency, row.paid_on) for row in rows] == [
        # The account reference in structured remittance (Strd/CdtrRefInf/Ref).
        (1, "BUKB26110200017731", "BB-77310", Decimal("150.00"), "GBP", date(2026, 11, 2)),
        # In unstructured remittance among other words, as written.
        (2, "BUKB26110300022108", "bb-77310", Decimal("80.00"), "GBP", date(2026, 11, 3)),
        # No AcctSvcrRef: the NtryRef, qualified by the statement's Id; no account reference at all.
        (4, "GB33BUKB20201555555555-20261104/BUKB-20261104-0004", None, Decimal("20.00"), "GBP",
         date(2026, 11, 4)),
        # 100.00 USD instructed, 79.20 GBP booked: the booked amount, in the booked currency.
        (5, "BUKB26110400051190", "BB-77310", Decimal("79.20"), "GBP", date(2026, 11, 4)),
        # Another currency (the second statement, a USD account); BookgDt given as a date-time.
        (6, "BUKB26110400060042", "ACC-1001", Decimal("250.00"), "USD", date(2026, 11, 4)),
    ]
    assert rows[1].remittance == "NOVEMBER INSTALMENT 2 OF 12 REF bb-77310 P SHAH"
    assert rows[2].remittance == "FOR PRIYA WITH LOVE FROM MUM"
    assert rows[4].remittance == "Jordan Avery acct ACC-1001 settlement, invoice dated 2026-10-28, 250.00"
    assert all(type(row.amount) is Decimal for row in rows)


def test_camt053_v08_statement():
    rows, problems = read_payments(DATA / "statement_camt053_v08.xml")

    assert [(row.line, row.reference, row.account_ref, row.amount, row.paid_on) for row in rows] == [
        (1, "2026111000091827", "NW-100234", Decimal("200.00"), date(2026, 11, 10)),
        # A lockbox entry of two cheques: one row each, numbered in the batch.
        (2, "LBX2026111000417/1", "ACC-1002", Decimal("125.50"), date(2026, 11, 10)),
        (2, "LBX2026111000417/2", "ACC-1001", Decimal("200.00"), date(2026, 11, 10)),
        # No booking date: the value date (a date-time); the reference in AddtlNtryInf.
        (4, "FW2026111000077", "BN-000123", Decimal("500.00"), date(2026, 11, 10)),
    ]
    assert {row.currency for row in rows} == {"USD"}
    assert rows[0].remittance == "NW-100234 NOV PAYMENT"
    # A returned payment is a debit, but one somebody must look at.
    assert [(problem.line, "returned payment" in problem.reason) for problem in problems] == [(3, True)]


def test_camt053_in_utf16_is_read(tmp_path):
    text = (DATA / "statement_camt053_v02.xml").read_text(encoding="utf-8")
    path = write(tmp_path, text.replace('encoding="UTF-8"', 'encoding="UTF-16"'), encoding="utf-16")

    assert len(read_payments(path)[0]) == 5


def test_camt053_reference_falls_back_to_end_to_end_id_but_never_notprovided(tmp_path):
    def with_e2e(e2e: str) -> str:
        return entry(servicer_ref=None, details=f"<NtryDtls><TxDtls><Refs><EndToEndId>{e2e}</EndToEndId></Refs>"
                                                 "<RmtInf><Ustrd>ACC-1001</Ustrd></RmtInf></TxDtls></NtryDtls>")

    rows, problems = read_payments(write(tmp_path, camt(with_e2e("E2E-77") + with_e2e("NOTPROVIDED"))))

    assert [row.reference for row in rows] == ["STMT-1/E2E-77"]
    assert problems == [RowProblem(2, "no reference (AcctSvcrRef, NtryRef or EndToEndId) to record it under")]


def test_camt053_transaction_account_servicer_reference_is_used(tmp_path):
    details = ("<NtryDtls><TxDtls><Refs><AcctSvcrRef>TX-SVC-9</AcctSvcrRef><EndToEndId>E2E</EndToEndId></Refs>"
               "</TxDtls></NtryDtls>")

    rows, _ = read_payments(write(tmp_path, camt(entry(servicer_ref=None, extra="<NtryRef>7</NtryRef>",
                                                       details=details))))

    assert rows[0].reference == "TX-SVC-9" and rows[0].account_ref is None and rows[0].remittance == ""


def test_camt053_same_reference_twice_reports_the_second(tmp_path):
    rows, problems = read_payments(write(tmp_path, camt(entry() + entry(amount="12.00"))))

    assert [row.amount for row in rows] == [Decimal("10.00")]
    assert problems == [RowProblem(2, "reference 'SVC-1' is already used on line 1: not imported")]


@pytest.mark.parametrize("ntry, reason", [
    (entry(extra="<RvslInd>true</RvslInd>"), "reversed debit"),
    (entry().replace("<Sts>BOOK</Sts>", "<Sts>PDNG</Sts>"), "not booked (status PDNG)"),
    (entry().replace("<Sts>BOOK</Sts>", "<Sts><Cd>INFO</Cd></Sts>"), "not booked (status INFO)"),
    (entry(indicator="CRED"), "neither CRDT nor DBIT"),
    (entry().replace('<Amt Ccy="GBP">10.00</Amt>', ""), "no amount"),
    (entry(amount="0.00"), "not more than zero"),
    (entry(amount="-5.00"), "amount"),
    (entry(amount="10.005"), "decimal places"),
    (entry(ccy="pounds"), "ISO 4217"),
    (entry(dates=""), "no booking date or value date"),
    (entry(dates="<BookgDt><Dt>02.11.2026</Dt></BookgDt>"), "BookgDt"),
])
def test_camt053_credit_entries_that_are_not_imported(tmp_path, ntry, reason):
    rows, problems = read_payments(write(tmp_path, camt(ntry)))

    assert rows == []
    assert len(problems) == 1 and problems[0].line == 1 and reason in problems[0].reason


def test_camt053_plain_debits_are_ignored(tmp_path):
    assert read_payments(write(tmp_path, camt(entry(indicator="DBIT")))) == ([], [])


def test_camt053_batch_that_does_not_add_up_is_refused_whole(tmp_path):
    details = ("<NtryDtls><TxDtls><Amt Ccy=\"GBP\">6.00</Amt></TxDtls>"
               "<TxDtls><AmtDtls><TxAmt><Amt Ccy=\"GBP\">3.00</Amt></TxAmt></AmtDtls></TxDtls></NtryDtls>")

    rows, problems = read_payments(write(tmp_path, camt(entry(details=details))))

    assert rows == [] and "do not add up to the entry's 10.00 GBP" in problems[0].reason


def test_camt053_batch_without_amounts_is_refused(tmp_path):
    details = "<NtryDtls><TxDtls><Refs><ChqNb>1</ChqNb></Refs></TxDtls><TxDtls><Refs><ChqNb>2</ChqNb></Refs></TxDtls>"

    _, problems = read_payments(write(tmp_path, camt(entry(details=details + "</NtryDtls>"))))

    assert "transaction 1 of the batch has no amount" in problems[0].reason


def test_camt053_batch_in_another_currency_is_refused(tmp_path):
    details = ("<NtryDtls><TxDtls><Amt Ccy=\"USD\">6.00</Amt></TxDtls>"
               "<TxDtls><Amt Ccy=\"GBP\">4.00</Amt></TxDtls></NtryDtls>")

    _, problems = read_payments(write(tmp_path, camt(entry(details=details))))

    assert "transaction 1 of the batch is in USD" in problems[0].reason


def test_camt053_entries_are_numbered_across_statements(tmp_path):
    statement = camt(entry(servicer_ref="A") + entry(servicer_ref="B"))
    two = statement.replace("</Stmt>", "</Stmt><Stmt><Id>STMT-2</Id>" + entry(servicer_ref="C") + "</Stmt>", 1)

    rows, _ = read_payments(write(tmp_path, two))

    assert [(row.line, row.reference) for row in rows] == [(1, "A"), (2, "B"), (3, "C")]


def test_camt053_ntry_ref_is_qualified_by_the_statement(tmp_path):
    day_one = camt(entry(servicer_ref=None, extra="<NtryRef>0001</NtryRef>"), statement_id="ACCT-20261102")
    day_two = camt(entry(servicer_ref=None, extra="<NtryRef>0001</NtryRef>"), statement_id="ACCT-20261103")

    references = [read_payments(write(tmp_path, text))[0][0].reference for text in (day_one, day_two)]

    assert references == ["ACCT-20261102/0001", "ACCT-20261103/0001"]


# --- account references in free text ----------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("REF ACC-1001 THANKS", "ACC-1001"),
    ("november instalment 2 of 12 ref bb-77310", "bb-77310"),
    ("NOV2026 PAYMENT NW-100234", "NW-100234"),  # a separator makes a reference likelier
    ("paid 250.00 on 2026-10-28 for BN-000123", "BN-000123"),  # neither the amount nor the date
    ("FROM GB94BARC10201530093459 ACC-1002", "ACC-1002"),  # nor the payer's IBAN
    ("INVOICE 4471", "4471"),  # digits alone when nothing else
    ("250.00 thank you", None),
    ("FOR PRIYA WITH LOVE FROM MUM", None),
    ("", None),
])
def test_account_ref_in_free_text(text, expected):
    assert account_ref_in(text) == expected


def test_account_ref_candidates_are_ranked():
    assert account_ref_candidates("CHECK 4471 NOV2026 ACC-1001") == ["ACC-1001", "NOV2026", "4471"]
