"""Reading the files creditors send: every bad row is reported, and a bad file yields nothing."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.domain.dates import DateError, parse_iso_date
from bot.domain.money import MoneyError, check_currency, parse_amount
from bot.domain.phones import region_of_timezone, to_e164
from bot.domain.policy import PolicyError, parse_policy

ACCOUNT_COLUMNS = (
    "account_ref", "creditor_id", "original_creditor", "debtor_name", "date_of_birth", "postcode",
    "phone", "email", "timezone", "currency", "principal", "interest", "fees", "placed_on",
)
# Regulation F lets a collector assume the validation notice arrived five days after placement.
VALIDATION_PERIOD = timedelta(days=35)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_/.]{0,63}$")


@dataclass(frozen=True)
class Problem:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else self.reason  # 0: the file as a whole


class ImportRejected(Exception):
    """The file was not imported; `problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class AccountRecord:
    line: int
    account_ref: str
    creditor_id: str
    original_creditor: str
    debtor_name: str
    date_of_birth: date
    postcode: str
    phone: str
    email: str
    timezone: str
    currency: str
    principal: Decimal
    interest: Decimal
    fees: Decimal
    placed_on: date
    validation_ends_on: date


@dataclass(frozen=True)
class CreditorRecord:
    line: int
    id: str
    name: str
    policy: dict[str, Any]


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise ImportRejected([Problem(0, f"no such file: {path}")]) from None
    except IsADirectoryError:
        raise ImportRejected([Problem(0, f"{path} is a directory, not a file")]) from None
    except PermissionError:
        raise ImportRejected([Problem(0, f"no permission to read {path}")]) from None
    except UnicodeDecodeError as error:
        raise ImportRejected([Problem(0, f"not UTF-8 text ({error.reason} at byte {error.start})")]) from None


_ISO_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
REQUIRED_ACCOUNT_COLUMNS = ("account_ref", "creditor_id", "debtor_name", "date_of_birth", "timezone", "currency",
                            "principal", "interest", "fees", "placed_on")


_Args = ParamSpec("_Args")
_Value = TypeVar("_Value")


class _RowProblems(list[str]):
    """The problems of one row: every check runs, so the creditor sees all of them at once."""

    def check(self, reader: Callable[_Args, _Value], *args: _Args.args, **kwargs: _Args.kwargs) -> _Value | None:
        """reader(*args), or None with its complaint noted."""
        try:
            return reader(*args, **kwargs)
        except (ValueError, DateError, MoneyError) as error:
            self.append(str(error))
            return None


def _date_field(value: dict[str, str], name: str) -> date:
    text = (value.get(name) or "").strip()
    try:
        return parse_iso_date(text)
    except DateError:
        if _ISO_SHAPE.match(text):  # shaped right, but no such day (1970-02-31)
            raise ValueError(f"{name}: {text!r} is not a real date") from None
        raise ValueError(f"{name}: {text!r} is not an ISO 8601 date such as 1985-03-12") from None


def _amount_field(value: dict[str, str], name: str, currency: str) -> Decimal:
    try:
        return parse_amount(value[name], currency)
    except MoneyError as error:
        raise ValueError(f"{name}: {error}") from None


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone {name!r} is not an IANA time zone such as America/Chicago") from None
    return name


def _account_from_row(row: dict[str, str], line: int, today: date) -> AccountRecord:
    """One row, or ValueError naming everything wrong with it ("; "-separated)."""
    value = {key: (row.get(key) or "").strip() for key in ACCOUNT_COLUMNS}
    problems = _RowProblems(f"{name} is empty" for name in REQUIRED_ACCOUNT_COLUMNS if not value[name])

    def given(name: str) -> bool:  # an empty field is reported once, as empty
        return bool(value[name])

    if given("account_ref") and not _REF.match(value["account_ref"]):
        problems.append(f"account_ref {value['account_ref']!r} has characters other than letters, digits and - _ / .")
    date_of_birth = problems.check(_date_field, value, "date_of_birth") if given("date_of_birth") else None
    if date_of_birth is not None and not date(1900, 1, 1) <= date_of_birth < today:
        problems.append(f"date_of_birth {date_of_birth} is not a plausible date of birth")
    placed_on = problems.check(_date_field, value, "placed_on") if given("placed_on") else None
    if placed_on is not None and placed_on > today:
        problems.append(f"placed_on {placed_on} is in the future")
    # Stored in E.164 (the key opt-outs are kept by); a number without its country code is read in the
    # debtor's country, which their time zone gives.
    phone = to_e164(value["phone"], region_of_timezone(value["timezone"])) if value["phone"] else ""
    if phone is None:
        problems.append(f"phone {value['phone']!r} is not a possible phone number: write it in E.164 such as"
                        " +15551230001")
    if value["email"] and not _EMAIL.match(value["email"]):
        problems.append(f"email {value['email']!r} is not an email address")
    if given("timezone"):
        problems.check(_time_zone, value["timezone"])
    currency = problems.check(check_currency, value["currency"]) if given("currency") else None
    amounts: dict[str, Decimal] = {}
    for key in ("principal", "interest", "fees"):
        amount = problems.check(_amount_field, value, key, currency) if currency and given(key) else None
        if amount is not None:
            amounts[key] = amount
    if len(amounts) == 3 and sum(amounts.values()) == 0:
        problems.append("principal, interest and fees are all zero: nothing is owed")
    validation_ends_on = None
    if (row.get("validation_ends_on") or "").strip():
        validation_ends_on = problems.check(_date_field, row, "validation_ends_on")
    elif placed_on is not None:
        validation_ends_on = placed_on + VALIDATION_PERIOD
    if problems:
        raise ValueError("; ".join(problems))
    # No problem noted: every check above returned its value (a failed one notes a problem).
    assert date_of_birth is not None and phone is not None and currency is not None
    assert placed_on is not None and validation_ends_on is not None
    return AccountRecord(
        line=line, account_ref=value["account_ref"], creditor_id=value["creditor_id"],
        original_creditor=value["original_creditor"], debtor_name=value["debtor_name"],
        date_of_birth=date_of_birth, postcode=value["postcode"], phone=phone, email=value["email"],
        timezone=value["timezone"], currency=currency, placed_on=placed_on,
        validation_ends_on=validation_ends_on,
        principal=amounts["principal"], interest=amounts["interest"], fees=amounts["fees"],
    )


def read_accounts_csv(path: Path, today: date) -> list[AccountRecord]:
    """Every account of a creditor's CSV file, or ImportRejected with every problem of every row."""
    text = _read_text(path)
    if "\x00" in text:
        raise ImportRejected([Problem(0, "binary data, not a CSV file")])
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    missing = [column for column in ACCOUNT_COLUMNS if column not in header]
    if missing:
        raise ImportRejected([Problem(1, f"header lacks column(s): {', '.join(missing)}")])
    records: list[AccountRecord] = []
    problems: list[Problem] = []
    first_line_of: dict[str, int] = {}
    row_start = 2
    for row in reader:
        line, row_start = row_start, reader.line_num + 1
        if None in row:
            problems.append(Problem(line, f"has {len(header) + len(row[None])} fields, the header has {len(header)}"))
            continue
        if not any((v or "").strip() for v in row.values()):
            continue  # blank line
        try:
            record = _account_from_row(row, line, today)
        except (ValueError, DateError, MoneyError) as error:
            problems.append(Problem(line, str(error)))
            continue
        key = record.account_ref.upper()
        if key in first_line_of:
            problems.append(
                Problem(line, f"account_ref {record.account_ref} already appears on line {first_line_of[key]}"))
            continue
        first_line_of[key] = line
        records.append(record)
    if problems:
        raise ImportRejected(problems)
    if not records:
        raise ImportRejected([Problem(1, "no accounts in the file")])
    return records


class _LineLoader(yaml.SafeLoader):
    """Remembers on which line each mapping starts, so problems can name it."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def _without_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_without_lines(v) for v in value]
    return value


def _jsonable(value: Any) -> Any:
    """Policy values as stored: floats kept exactly as written (never as binary floats)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (date,)):
        return value.isoformat()
    return value


def read_policies_yaml(path: Path) -> list[CreditorRecord]:
    """Every creditor of a policies file with its validated policy, or ImportRejected with every problem."""
    text = _read_text(path)
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ImportRejected([Problem(mark.line + 1 if mark else 0, f"not valid YAML: {error}")]) from None
    if not isinstance(document, dict) or not isinstance(document.get("creditors"), list):
        raise ImportRejected([Problem(1, "the file must have a top-level 'creditors' list")])
    records: list[CreditorRecord] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for entry in document["creditors"]:
        line = entry.get("__line__", 0) if isinstance(entry, dict) else 0
        try:
            if not isinstance(entry, dict):
                raise ValueError("each creditor must be a mapping with id, name and policy")
            creditor_id, name = str(entry.get("id") or "").strip(), str(entry.get("name") or "").strip()
            if not creditor_id or not name:
                raise ValueError("creditor needs an id and a name")
            if len(creditor_id) > 64 or len(name) > 200:
                raise ValueError("creditor id (64) or name (200) is too long")
            if creditor_id in seen:
                raise ValueError(f"creditor {creditor_id} already appears on line {seen[creditor_id]}")
            policy = _without_lines(entry.get("policy"))
            parse_policy(policy)
        except (ValueError, PolicyError) as error:
            problems.append(Problem(line, str(error)))
            continue
        seen[creditor_id] = line
        records.append(CreditorRecord(line=line, id=creditor_id, name=name, policy=_jsonable(policy)))
    if problems:
        raise ImportRejected(problems)
    if not records:
        raise ImportRejected([Problem(1, "no creditors in the file")])
    return records
