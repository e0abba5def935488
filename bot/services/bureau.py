"""The month's credit-bureau update (`python -m bot bureau-export`): a Metro 2 file of the accounts whose
creditor's policy says to report them (`credit_reporting`), as they stand on the as-of date.

What each account is reported as is `bot.bureau.metro2.bureau_codes` (open collection 93, paid 62, settled 62 with
AU, a consumer dispute XB while it is open, deleted DA/DF when a dispute was upheld or the account returned);
the format is `metro2_file`. A dispute raised in the validation period and not yet validated is left out
altogether when the policy says so (the default). Accounts in another currency than US dollars are not reported:
Metro 2 amounts are whole dollars.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from bot.bureau.metro2 import BureauAccount, BureauHeader, bureau_codes, metro2_file
from bot.config import agency_name, agency_phone
from bot.domain.money import from_minor
from bot.domain.policy import parse_policy
from bot.services import accounts, audit
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage.orm import Account, Payment

CURRENCY = "USD"


@dataclass(frozen=True)
class Export:
    text: str
    reported: list[str]
    skipped: list[tuple[str, str]]  # (account reference, why)


def export(uow: SqlUnitOfWork, as_of: date, reporter_address: str = "") -> Export:
    """The Metro 2 file for `as_of`; audited with the counts."""
    with uow:
        session = uow.session
        rows = session.scalars(select(Account).options(joinedload(Account.creditor), joinedload(Account.debtor))
                               .where(Account.placed_on <= as_of).order_by(Account.account_ref)).unique().all()
        last_paid: dict[int, date] = {}
        for account_id, paid_on in session.execute(select(Payment.account_id, Payment.paid_on).where(
                Payment.applied.is_(True), Payment.paid_on <= as_of).order_by(Payment.paid_on)):
            last_paid[account_id] = paid_on
        reported: list[BureauAccount] = []
        skipped: list[tuple[str, str]] = []
        program_ids: set[str] = set()
        for account in rows:
            setting = parse_policy(account.creditor.policy).credit_reporting
            if setting is None:
                continue
            if account.currency != CURRENCY:
                skipped.append((account.account_ref, f"in {account.currency}: Metro 2 reports US dollars"))
                continue
            dispute = account.disputes[-1] if account.disputes else None
            if (dispute is not None and dispute.status == "open" and setting.skip_unvalidated_disputes
                    and dispute.opened_at.date() <= account.validation_ends_on):
                skipped.append((account.account_ref, "disputed in the validation period, not yet validated"))
                continue
            program_ids.add(setting.program_id)
            reported.append(_base(account, as_of, last_paid.get(account.id), dispute))
        header = BureauHeader(reporter_name=agency_name(), reporter_address=reporter_address or agency_name(),
                              reporter_phone=agency_phone(), program_id=sorted(program_ids)[0]
                              if program_ids else "0000000000", activity_date=as_of, created_on=uow.now().date())
        text = metro2_file(header, reported)
        audit.record(session, "bureau_exported", actor="operations", at=uow.now(), as_of=as_of.isoformat(),
                     reported=len(reported), skipped=len(skipped))
        return Export(text, [a.account_ref for a in reported], skipped)


def _base(account: Account, as_of: date, last_payment: date | None, dispute: Any) -> BureauAccount:
    def money(minor: int) -> Any:
        return from_minor(minor, account.currency)

    codes = bureau_codes(account.status, dispute.status if dispute else None, dispute.reason if dispute else None)
    placed = account.principal_minor + account.interest_minor + account.fees_minor
    balance = 0 if codes.account_status == "62" else max(0, placed - account.paid_minor - account.written_off_minor)
    addresses = [c.value for c in account.debtor.contact_points if c.kind == "address"]
    phones = accounts.phones_of(account)
    return BureauAccount(
        account_ref=account.account_ref, date_opened=account.placed_on, original_amount=money(placed),
        current_balance=money(balance), amount_past_due=money(balance), account_status=codes.account_status,
        special_comment=codes.special_comment, compliance_condition=codes.compliance_condition,
        date_of_first_delinquency=account.placed_on,
        date_closed=last_payment if codes.account_status == "62" else None,
        date_of_last_payment=last_payment, date_of_account_information=as_of, consumer_name=account.debtor.name,
        date_of_birth=account.debtor.date_of_birth, address=addresses[0] if addresses else "",
        postcode=account.debtor.postcode, phone=phones[0] if phones else "",  # metro2 reads +1 numbers itself
        original_creditor_name=account.original_creditor or account.creditor.name, creditor_classification="01",
        delete=codes.delete)
