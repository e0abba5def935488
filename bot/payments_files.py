"""Reading the payment files a creditor or a bank sends: CSV rows or ISO 20022 camt.053 credit entries.

No database here: `read_payments` turns a file into payments and problems, and the import decides what
they pay. A row or entry that cannot be read becomes a `RowProblem` (kept in the import report, never
dropped); only a file that is neither kind, too large or hostile is refused whole (`PaymentFileError`).

The file is untrusted input. It is refused over `MAX_FILE_BYTES` before it is parsed, and XML is read
with defusedxml with DTDs forbidden: a bank statement never declares one, and a declaration is how
entity-expansion ("billion laughs") and external-entity attacks start.

camt.053 is read by hand (ElementTree paths in the document's own namespace) rather than with a
statement library: pycamt 1.1.1 pairs the instructed amount of a foreign-currency payment with the
booked currency and leaves out NtryRef; camt053 0.0.23 does not read the remittance information at all;
bankstatementparser needs pydantic 2 and pandas (Rasa 3.6 pins pydantic 1.10); fintech is proprietary.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError
from defusedxml.ElementTree import fromstring as parse_xml

from bot.domain.dates import DateError, parse_iso_date
from bot.domain.money import MoneyError, check_currency, parse_amount
from bot.domain.verification import reference_candidates

MAX_FILE_BYTES = 50 * 1024 * 1024  # a day's statement is kilobytes; far larger is a mistake or an attack
REQUIRED_COLUMNS = ("account_ref", "amount", "paid_on", "reference")
OPTIONAL_COLUMNS = ("currency", "remittance")
REFERENCE_MAX_CHARS = 100  # a camt.053 reference is at most 35 + 1 + 35 characters and a batch suffix

_CAMT_NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:(camt\.\d{3})\.001\.(\d{2})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Thousands separators in their places only: 1,234.50 and 12,345 but not 1,23 or 1.234,50.
_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
# What a person may write before an amount, and the currencies it can stand for.
_SYMBOLS = {"$": ("USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN"), "£": ("GBP",), "€": ("EUR",)}
_DECIMAL = re.compile(r"^\d+(\.\d+)?$")
# Tokens of remittance text that are not account references: amounts (250.00) and IBANs.
_AMOUNT_TOKEN = re.compile(r"^\d+\.\d{1,3}$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
# Written by SEPA banks where the payer gave no end-to-end reference: shared by many payments.
_NOT_PROVIDED = "NOTPROVIDED"


@dataclass(frozen=True)
class PaymentRow:
    """One payment received, as the file gives it."""

    line: int  # the row's line in a CSV file (the header is line 1), or the entry's number in a camt.053
    reference: str  # the payment's unique reference: the import records each reference once
    account_ref: str | None  # as written; None when the file names no account (kept as unmatched)
    amount: Decimal  # > 0
    currency: str | None  # ISO 4217 when the file says (camt always; CSV with a `currency` column)
    paid_on: date
    remittance: str  # the payer's free text as given ("" when there is none)


@dataclass(frozen=True)
class RowProblem:
    """A row or entry that was not read, and why: reported, never silently dropped."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class PaymentFileError(Exception):
    """The file as a whole cannot be read: nothing in it is imported."""


def read_payments(path: Path) -> tuple[list[PaymentRow], list[RowProblem]]:
    """The payments of a CSV file or a camt.053 statement, told apart by content (not by extension).

    Raises PaymentFileError for a file that is neither, cannot be opened, is over MAX_FILE_BYTES or
    carries a DTD. Rows and entries that cannot be read come back as problems, in file order.
    """
    data = _read_bytes(path)
    if _looks_like_xml(data):
        return _read_camt053(data)
    return _read_csv(data)


def account_ref_candidates(text: str) -> list[str]:
    """Tokens of remittance text that may be an account reference, as written, likeliest first.

    Account references carry a digit (see `reference_candidates`, which also skips dates). Letters and
    digits with a separator (ACC-1001, bb-77310) come first, then letters and digits (NOV2026), then
    digits alone; amounts (250.00) and IBANs are never taken for one. An import that finds no account
    under the first may try the others, as `bot.services.identity.likely_reference` does.
    """
    def rank(token: str) -> int:
        if not any(ch.isalpha() for ch in token):
            return 2
        return 0 if any(ch in "-_/." for ch in token) else 1

    candidates = [token for token in reference_candidates(text)
                  if not _AMOUNT_TOKEN.match(token) and not _IBAN.match(token.upper())]
    return sorted(candidates, key=rank)  # stable: the text's order within a rank


def account_ref_in(text: str) -> str | None:
    """The likeliest account reference in remittance text, as written; None if there is none."""
    candidates = account_ref_candidates(text)
    return candidates[0] if candidates else None


# --- the file ------------------------------------------------------------------------------------

def _read_bytes(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise PaymentFileError(f"{path} is over {MAX_FILE_BYTES // (1024 * 1024)} MB: not a payment file")
        with path.open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)  # the file may have grown since stat()
    except FileNotFoundError:
        raise PaymentFileError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise PaymentFileError(f"{path} is a directory, not a file") from None
    except PermissionError:
        raise PaymentFileError(f"no permission to read {path}") from None
    if len(data) > MAX_FILE_BYTES:
        raise PaymentFileError(f"{path} is over {MAX_FILE_BYTES // (1024 * 1024)} MB: not a payment file")
    if not data.strip():
        raise PaymentFileError(f"{path} is empty")
    return data


def _looks_like_xml(data: bytes) -> bool:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text: only XML says how it is encoded
        return True
    return data.removeprefix(b"\xef\xbb\xbf").lstrip().startswith(b"<")


# --- CSV -----------------------------------------------------------------------------------------

def _read_csv(data: bytes) -> tuple[list[PaymentRow], list[RowProblem]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise PaymentFileError(
            f"neither a camt.053 statement nor a UTF-8 CSV file ({error.reason} at byte {error.start})") from None
    if "\x00" in text:
        raise PaymentFileError("binary data: neither a camt.053 statement nor a CSV file")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in next(reader, [])]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        raise PaymentFileError(f"not a payment CSV file: the header (line 1) lacks column(s) {', '.join(missing)}")
    twice = sorted({name for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if header.count(name) > 1})
    if twice:
        raise PaymentFileError(f"the header (line 1) has column(s) {', '.join(twice)} more than once")
    column = {name: header.index(name) for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if name in header}
    rows: list[PaymentRow] = []
    problems: list[RowProblem] = []
    first_line_of: dict[str, int] = {}
    row_start = 2
    for fields in reader:
        line, row_start = row_start, reader.line_num + 1  # a quoted field may span lines
        if not any(field.strip() for field in fields):
            continue  # a blank line
        if len(fields) != len(header):
            problems.append(RowProblem(line, f"has {len(fields)} fields, the header has {len(header)}"))
            continue
        value = {name: fields[index].strip() for name, index in column.items()}
        _keep(_csv_row(line, value), rows, problems, first_line_of)
    return rows, problems


def _csv_row(line: int, value: dict[str, str]) -> PaymentRow | RowProblem:
    """The payment of one row, or a problem naming everything wrong with it."""
    reasons = [f"{name} is empty" for name in ("reference", "amount", "paid_on") if not value[name]]
    currency: str | None = None
    if value.get("currency"):
        try:
            currency = check_currency(value["currency"].upper())
        except MoneyError as error:
            reasons.append(str(error))
    amount: Decimal | None = None
    if value["amount"]:
        try:
            amount = _csv_amount(value["amount"], currency)
        except MoneyError as error:
            reasons.append(str(error))
    paid_on: date | None = None
    if value["paid_on"]:
        try:
            paid_on = _iso_date(value["paid_on"])
        except DateError as error:
            reasons.append(f"paid_on: {error}")
    if reasons or amount is None or paid_on is None:
        return RowProblem(line, "; ".join(reasons))
    # An empty account_ref is still money received: kept, unmatched, like a statement entry naming no account.
    return PaymentRow(line=line, reference=value["reference"], account_ref=value["account_ref"] or None, amount=amount,
                      currency=currency, paid_on=paid_on, remittance=value.get("remittance", ""))


def _csv_amount(text: str, currency: str | None) -> Decimal:
    """An amount as people export it: '1,234.50', '$50', ' 80.00 '; positive, within the currency's precision.

    A leading symbol must fit the row's currency; thousands separators are taken only in their places,
    so a decimal comma (1.234,50) is refused rather than read as a thousand times too little or much.
    """
    written = text
    text = text.strip()
    if text.startswith("-") or (text.startswith("(") and text.endswith(")")):
        raise MoneyError(f"amount {written!r} is negative: a payment is more than zero")
    symbol = text[:1]
    if symbol in _SYMBOLS:
        if currency is not None and currency not in _SYMBOLS[symbol]:
            raise MoneyError(f"amount {written!r} is written in {symbol} but the row's currency is {currency}")
        text = text[1:].strip()
    if _GROUPED.match(text):
        text = text.replace(",", "")
    if not _DECIMAL.match(text):
        raise MoneyError(f"amount {written!r} is not an amount such as 1234.50, 1,234.50 or $50")
    try:
        # Without a currency column, the usual two decimal places (ISO 4217 XXX: no currency named).
        amount = parse_amount(text, currency or "XXX")
    except MoneyError as error:  # too many decimal places, or implausibly large
        raise MoneyError(str(error).replace(" for XXX", "")) from None
    if amount <= 0:
        raise MoneyError(f"amount {written!r} is not more than zero")
    return amount


def _iso_date(text: str) -> date:
    """YYYY-MM-DD only: 03/11/2026 is 3 November or 11 March depending on who wrote it."""
    if not _ISO_DATE.match(text):
        raise DateError(f"{text!r} is not a date written YYYY-MM-DD, such as 2026-11-03 (the only form taken)")
    try:
        return parse_iso_date(text)
    except DateError:
        raise DateError(f"{text!r} is not a real date") from None


def _keep(item: PaymentRow | RowProblem, rows: list[PaymentRow], problems: list[RowProblem],
          first_line_of: dict[str, int]) -> None:
    """A payment read, or the problem it is, noted in file order.

    A reference used twice in one file: the first is imported and the next reported. The import records
    each reference once, so a second payment under a reference already used would otherwise vanish
    quietly as "already imported".
    """
    if isinstance(item, RowProblem):
        problems.append(item)
    elif len(item.reference) > REFERENCE_MAX_CHARS:
        problems.append(RowProblem(item.line, f"reference {item.reference[:20]!r}... is longer than "
                                              f"{REFERENCE_MAX_CHARS} characters"))
    elif item.reference in first_line_of:
        problems.append(RowProblem(item.line, f"reference {item.reference!r} is already used on line "
                                              f"{first_line_of[item.reference]}: not imported"))
    else:
        first_line_of[item.reference] = item.line
        rows.append(item)


# --- camt.053 ------------------------------------------------------------------------------------

class _Tree:
    """Element lookups by local names in the document's namespace ("Ntry/Amt")."""

    def __init__(self, namespace: str):
        self._prefix = f"{{{namespace}}}" if namespace else ""

    def path(self, names: str) -> str:
        return "/".join(self._prefix + name for name in names.split("/"))

    def all(self, element: Element | None, names: str) -> list[Element]:
        return [] if element is None else element.findall(self.path(names))

    def one(self, element: Element | None, names: str) -> Element | None:
        return None if element is None else element.find(self.path(names))

    def text(self, element: Element | None, names: str) -> str:
        found = self.one(element, names)
        return (found.text or "").strip() if found is not None else ""


def _parse_xml(data: bytes) -> Element:
    try:
        root: Element = parse_xml(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise PaymentFileError("the XML declares a DTD or entities, which a bank statement never does: refused"
                               ) from None
    except ParseError as error:
        raise PaymentFileError(f"not well-formed XML ({error})") from None
    return root


def _read_camt053(data: bytes) -> tuple[list[PaymentRow], list[RowProblem]]:
    root = _parse_xml(data)
    namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    kind = _CAMT_NAMESPACE.match(namespace)
    if local != "Document" or kind is None:
        raise PaymentFileError(f"XML, but not an ISO 20022 camt.053 statement (root <{local}> in {namespace!r})")
    if kind.group(1) != "camt.053":
        raise PaymentFileError(f"a {kind.group(1)} message, not a camt.053 bank statement")
    tree = _Tree(namespace)
    rows: list[PaymentRow] = []
    problems: list[RowProblem] = []
    first_line_of: dict[str, int] = {}
    line = 0
    for statement in tree.all(root, "BkToCstmrStmt/Stmt"):
        statement_id = tree.text(statement, "Id")
        for entry in tree.all(statement, "Ntry"):
            line += 1  # every entry is numbered, debits too, so a number finds its entry in the file
            for item in _entry_payments(tree, entry, line, statement_id):
                _keep(item, rows, problems, first_line_of)
    return rows, problems


def _entry_payments(tree: _Tree, entry: Element, line: int, statement_id: str) -> list[PaymentRow | RowProblem]:
    """The payments one entry books: none for a debit, one per transaction for a batch of credits."""
    indicator = tree.text(entry, "CdtDbtInd")
    reversal = tree.text(entry, "RvslInd").lower() == "true"
    amount_text, currency_text = _amount_of(tree, entry)
    if indicator == "DBIT":  # money out (charges, refunds) is not a payment, except a payment handed back
        return [RowProblem(line, f"a reversed credit of {amount_text} {currency_text} (a returned payment?): "
                                 "not imported, check it by hand")] if reversal else []
    if indicator != "CRDT":
        return [RowProblem(line, f"credit/debit indicator {indicator!r} is neither CRDT nor DBIT")]
    if reversal:
        return [RowProblem(line, "a reversed debit, not a payment received: not imported")]
    status = tree.text(entry, "Sts/Cd") or tree.text(entry, "Sts")  # Sts/Cd from camt.053.001.08 on
    if status and status != "BOOK":
        return [RowProblem(line, f"not booked (status {status}): it is imported from the statement that books it")]
    if not amount_text:
        return [RowProblem(line, "no amount")]
    reasons: list[str] = []
    try:
        currency = check_currency(currency_text)
        amount = parse_amount(amount_text, currency)
    except MoneyError as error:
        return [RowProblem(line, f"amount: {error}")]
    if amount <= 0:
        reasons.append(f"amount {amount_text} is not more than zero")
    paid_on = _entry_date(tree, entry, reasons)
    if reasons or paid_on is None:
        return [RowProblem(line, "; ".join(reasons))]
    transactions = [tx for details in tree.all(entry, "NtryDtls") for tx in tree.all(details, "TxDtls")]
    if len(transactions) <= 1:
        transaction = transactions[0] if transactions else None
        reference = _entry_reference(tree, entry, statement_id, transaction)
        if not reference:
            return [RowProblem(line, "no reference (AcctSvcrRef, NtryRef or EndToEndId) to record it under")]
        remittance, account_ref = _remittance(tree, transaction, tree.text(entry, "AddtlNtryInf"))
        return [PaymentRow(line=line, reference=reference, account_ref=account_ref, amount=amount, currency=currency,
                           paid_on=paid_on, remittance=remittance)]
    entry_reference = _entry_reference(tree, entry, statement_id, None)
    return _batch(tree, transactions, line, entry_reference, statement_id, amount, currency, paid_on)


def _batch(tree: _Tree, transactions: list[Element], line: int, entry_reference: str, statement_id: str,
           total: Decimal, currency: str, paid_on: date) -> list[PaymentRow | RowProblem]:
    """One entry crediting several payments at once (a lockbox or a batched transfer): one row for each.

    Refused whole when the transactions' amounts do not make up the entry's: a split that does not add
    up cannot be trusted for any one debtor.
    """
    rows: list[PaymentRow | RowProblem] = []
    amounts: list[Decimal] = []
    for number, tx in enumerate(transactions, start=1):
        amount_text, currency_text = _amount_of(tree, tx)
        if not amount_text:
            return [RowProblem(line, f"transaction {number} of the batch has no amount: the entry's {total} {currency} "
                                     "cannot be split between its payers, not imported")]
        if currency_text != currency:
            return [RowProblem(line, f"transaction {number} of the batch is in {currency_text or 'no currency'}, "
                                     f"the entry in {currency}: not imported")]
        try:
            amount = parse_amount(amount_text, currency)
        except MoneyError as error:
            return [RowProblem(line, f"transaction {number} of the batch: amount: {error}")]
        amounts.append(amount)
        reference = tree.text(tx, "Refs/AcctSvcrRef")
        if not reference and entry_reference:
            reference = f"{entry_reference}/{number}"  # the position in the batch: stable when re-imported
        reference = reference or _end_to_end(tree, tx, statement_id)
        if not reference:
            return [RowProblem(line, f"transaction {number} of the batch has no reference to record it under")]
        remittance, account_ref = _remittance(tree, tx, "")
        rows.append(PaymentRow(line=line, reference=reference, account_ref=account_ref, amount=amount,
                               currency=currency, paid_on=paid_on, remittance=remittance))
    if sum(amounts) != total or min(amounts) <= 0:
        return [RowProblem(line, f"the batch's transactions do not add up to the entry's {total} {currency}: "
                                 "not imported")]
    return rows


def _amount_of(tree: _Tree, element: Element) -> tuple[str, str]:
    """(amount, currency) as written: the booked amount (Amt, or AmtDtls/TxAmt/Amt in camt.053.001.02).

    Never the instructed amount (AmtDtls/InstdAmt), which may be in the payer's currency.
    """
    found = tree.one(element, "Amt")
    if found is None:  # (an Element without children is false: compare with None)
        found = tree.one(element, "AmtDtls/TxAmt/Amt")
    if found is None:
        return "", ""
    return (found.text or "").strip(), found.get("Ccy", "").strip()


def _entry_date(tree: _Tree, entry: Element, reasons: list[str]) -> date | None:
    """The booking date, else the value date (a date-time counts by its date as written)."""
    for name in ("BookgDt", "ValDt"):
        text = tree.text(entry, f"{name}/Dt") or tree.text(entry, f"{name}/DtTm")[:10]
        if text:
            try:
                return _iso_date(text)
            except DateError as error:
                reasons.append(f"{name}: {error}")
                return None
    reasons.append("no booking date or value date")
    return None


def _entry_reference(tree: _Tree, entry: Element, statement_id: str, transaction: Element | None) -> str:
    """The bank's AcctSvcrRef (the entry's, else its transaction's), else NtryRef, else the payer's
    EndToEndId; '' if there is none.

    A NtryRef is unique only within its statement (banks number entries from 1 again each day), and a
    payer may reuse an EndToEndId every month, so these are recorded as "<Stmt Id>/<ref>": importing
    the same statement twice gives the same reference, another day's entry 0001 does not.
    """
    servicer = tree.text(entry, "AcctSvcrRef") or tree.text(transaction, "Refs/AcctSvcrRef")
    if servicer:
        return servicer
    entry_ref = tree.text(entry, "NtryRef")
    return _qualified(statement_id, entry_ref) if entry_ref else _end_to_end(tree, transaction, statement_id)


def _end_to_end(tree: _Tree, transaction: Element | None, statement_id: str) -> str:
    """The payer's EndToEndId, qualified by the statement's Id; '' if none."""
    end_to_end = tree.text(transaction, "Refs/EndToEndId")
    if not end_to_end or end_to_end.upper() == _NOT_PROVIDED:
        return ""
    return _qualified(statement_id, end_to_end)


def _qualified(statement_id: str, reference: str) -> str:
    return f"{statement_id}/{reference}" if statement_id else reference


def _remittance(tree: _Tree, transaction: Element | None, entry_info: str) -> tuple[str, str | None]:
    """(the remittance text as given, the account reference in it).

    The creditor reference of structured remittance (Strd/CdtrRefInf/Ref) is the account reference when
    present; else the likeliest token of the unstructured lines; else of the additional information some
    banks put the payer's text in instead.
    """
    parts: list[str] = []
    structured: list[str] = []
    for information in tree.all(transaction, "RmtInf"):
        for child in information:
            local = child.tag.rpartition("}")[2]
            if local == "Ustrd" and (child.text or "").strip():
                parts.append((child.text or "").strip())
            elif local == "Strd":
                for ref in tree.all(child, "CdtrRefInf/Ref"):
                    if (ref.text or "").strip():
                        structured.append(re.sub(r"\s+", "", ref.text or ""))
                        parts.append((ref.text or "").strip())
                if tree.text(child, "AddtlRmtInf"):
                    parts.append(tree.text(child, "AddtlRmtInf"))
    extra = tree.text(transaction, "AddtlTxInf") or entry_info
    remittance = " ".join(parts) or extra
    if structured:
        return remittance, structured[0]
    return remittance, account_ref_in(" ".join(parts)) or account_ref_in(extra)
