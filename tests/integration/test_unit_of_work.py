"""The SQL unit of work on both backends: its clock, one read per account, nesting, and all-or-nothing."""
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from bot.cli import DEMO
from bot.services import accounts, audit, imports, negotiation
from bot.services.agreements import ASSISTANT
from bot.services.negotiation import Amount, Escalation, Proposal, Request
from bot.services.unit_of_work import SqlUnitOfWork
from bot.storage.db import as_utc
from tests.support.database import in_transaction

# 03:30 UTC on 24 November is still 23 November in Chicago, where ACC-1001's debtor lives.
LATE_EVENING_IN_CHICAGO = datetime(2026, 11, 24, 3, 30, tzinfo=UTC)


@pytest.fixture
def demo(db):
    in_transaction(imports.import_policies, DEMO / "policies.yml")
    in_transaction(imports.import_accounts, DEMO / "accounts.csv", date(2026, 11, 23))
    return db


def at(moment: datetime) -> SqlUnitOfWork:
    return SqlUnitOfWork(clock=lambda: moment)


def audit_log(ref: str) -> list[audit.AuditEvent]:
    with SqlUnitOfWork() as uow:
        return audit.events_for(uow.session, accounts.get(uow.session, ref))


def test_the_snapshot_is_the_debtors_today_at_the_units_clock(demo):
    account = negotiation.negotiable(at(LATE_EVENING_IN_CHICAGO), "acc-1001")
    assert (account.account_ref, account.balance, account.currency) == ("ACC-1001", Decimal("1234.56"), "USD")
    assert account.today == date(2026, 11, 23) and account.hold is None
    assert negotiation.negotiable(at(LATE_EVENING_IN_CHICAGO + timedelta(hours=3)), "ACC-1001").today == date(
        2026, 11, 24)
    with pytest.raises(accounts.UnknownAccount):
        negotiation.negotiable(at(LATE_EVENING_IN_CHICAGO), "NOPE")


def test_an_escalation_opens_its_handoff_in_the_same_transaction_at_the_units_clock(demo):
    request = Request("settlement", Amount(Decimal("100")), date(2026, 11, 23), rounds=9)
    outcome = negotiation.propose(at(LATE_EVENING_IN_CHICAGO), "ACC-1001", ASSISTANT, request, "conv-1")
    assert isinstance(outcome, Escalation) and outcome.their_offer == Decimal("100")
    [event] = [e for e in audit_log("ACC-1001") if e.action == "handoff_opened"]
    assert event.details["reason"] == "settlement_below_authority" and event.details["last_offer"] == "100"
    assert event.conversation_id == "conv-1" and as_utc(event.occurred_at) == LATE_EVENING_IN_CHICAGO


def test_a_caller_may_hold_several_use_cases_in_one_transaction_and_lose_them_all(demo):
    request = Request("settlement", Amount(Decimal("100")), date(2026, 11, 23), rounds=9)
    uow = at(LATE_EVENING_IN_CHICAGO)
    with pytest.raises(RuntimeError), uow:
        negotiation.disclose_balance(uow, "ACC-1001", "conv-1")  # its own `with uow:` does not commit
        assert isinstance(negotiation.propose(uow, "ACC-1001", ASSISTANT, request, "conv-1"), Escalation)
        raise RuntimeError("the caller fails after both")
    assert [e.action for e in audit_log("ACC-1001")] == ["account_placed"]  # neither disclosure nor handoff
    with uow:
        negotiation.disclose_balance(uow, "ACC-1001", "conv-1")
        outcome = negotiation.propose(uow, "ACC-1001", ASSISTANT, Request("plan", when=date(2026, 11, 30)),
                                      "conv-1")
    assert isinstance(outcome, Proposal)
    log = audit_log("ACC-1001")
    assert [e.action for e in log] == ["account_placed", "balance_disclosed"]
    assert as_utc(log[-1].occurred_at) == LATE_EVENING_IN_CHICAGO
