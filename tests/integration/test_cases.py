"""Protective cases: reading what debtors write, the status that follows, and the services on a real database."""
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import yaml

from bot.cli import DEMO
from bot.domain.accounts import AccountStatus
from bot.domain.cases import (
    case_number_in,
    collection_status,
    contact_details_in,
    dispute_reason_in,
)
from bot.domain.negotiation import NotAuthorised, authorise, nearest_plan
from bot.domain.policy import PolicyError, parse_policy
from bot.services import accounts, agreements, audit, cases, handoffs, imports, sms
from bot.services.contact import outbound_verdict
from bot.storage.db import unit_of_work
from bot.storage.orm import Call
from tests.support.database import in_locking_transaction, in_transaction, noon_utc, run_cli

TODAY = date(2026, 11, 23)


@pytest.fixture
def demo(db):
    in_transaction(imports.import_policies, DEMO / "policies.yml")
    in_transaction(imports.import_accounts, DEMO / "accounts.csv", TODAY)
    return db


def state(ref="ACC-1001") -> dict:
    with unit_of_work() as session:
        return accounts.view(session, accounts.get(session, ref))


def audit_actions(ref="ACC-1001") -> list[str]:
    with unit_of_work() as session:
        return [e.action for e in audit.events_for(session, accounts.get(session, ref))]


@pytest.mark.parametrize("text, reason", [
    ("this debt is not mine", "not_mine"),
    ("I never had an account with Acme", "not_mine"),
    ("the amount is wrong, it should be 300", "wrong_amount"),
    ("I already paid it", "already_paid"),
    ("paid it off last year, I have the receipt", "already_paid"),
    ("someone stole my identity and opened this", "identity_theft"),
    ("Identity theft", "identity_theft"),
    ("Something else", "other"),
    ("hmm", None),
])
def test_dispute_reasons_are_read_from_free_text(text, reason):
    assert dispute_reason_in(text) == reason


def test_contact_details_are_read_and_normalised():
    assert contact_details_in("new number +1 (555) 010-0199 and email Jo.Avery@Example.com") == [
        ("email", "jo.avery@example.com"), ("phone", "+15550100199")]
    assert contact_details_in("I moved to 42 Elm Street, Springfield IL 62704") == [
        ("address", "42 Elm Street, Springfield IL 62704")]
    assert contact_details_in("born 12 March 1985, owe 1234.56") == []


def test_bankruptcy_case_numbers():
    assert case_number_in("filed chapter 7, case number 23-12345") == "23-12345"
    assert case_number_in("case no: BK-2026-0042") == "BK-2026-0042"
    assert case_number_in("I filed last month") is None


def test_a_stop_outranks_a_dispute_which_outranks_an_agreement():
    plan = AccountStatus.PLAN_ACTIVE
    assert collection_status(plan, open_dispute=False, stopping_flags=[]) is plan
    assert collection_status(plan, open_dispute=True, stopping_flags=[]) is AccountStatus.DISPUTED
    assert collection_status(plan, open_dispute=True, stopping_flags=["attorney"]) is AccountStatus.CEASED


def test_a_dispute_pauses_collection_until_a_person_resolves_it(demo):
    in_locking_transaction(
        agreements.record, "ACC-1001", nearest_plan(Decimal("1234.56"), _policy(), "bot", TODAY, "USD", months=10),
        agreements.ASSISTANT, "c1", now=noon_utc(TODAY))
    record = in_transaction(cases.open_dispute, "ACC-1001", "wrong_amount", "should be 300", "c2")
    assert record.new and record.reference.startswith("DSP-")
    again = in_transaction(cases.open_dispute, "ACC-1001", "not_mine", "and it isn't mine", "c3")
    assert (again.reference, again.new) == (record.reference, False)  # one open dispute, details added
    view = state()
    assert view["status"] == "disputed"
    assert view["disputes"] == [{**view["disputes"][0], "reason": "wrong_amount", "status": "open",
                                 "reference": record.reference}]
    assert "and it isn't mine" in view["disputes"][0]["details"]
    with pytest.raises(agreements.CollectionPaused):
        in_locking_transaction(
            agreements.record, "ACC-1001", nearest_plan(Decimal("1234.56"), _policy(), "bot", TODAY, "USD", months=6),
            agreements.ASSISTANT, "c4", now=noon_utc(TODAY))
    assert in_transaction(cases.hold_on, "ACC-1001") == cases.Hold("disputed", record.reference)

    assert in_transaction(cases.resolve_dispute, record.reference.lower(), "rejected", "sup1", "validation sent") == (
        "ACC-1001", "plan_active")  # the plan in force before is in force again
    assert state()["disputes"][0]["status"] == "rejected" and in_transaction(cases.hold_on, "ACC-1001") is None
    with pytest.raises(ValueError, match="already resolved"):
        in_transaction(cases.resolve_dispute, record.reference, "upheld", "sup1")
    assert audit_actions()[-2:] == ["dispute_opened", "dispute_rejected"]


def test_an_upheld_dispute_closes_the_account_and_cancels_what_was_agreed(demo):
    in_locking_transaction(
        agreements.record, "ACC-1001", nearest_plan(Decimal("1234.56"), _policy(), "bot", TODAY, "USD", months=10),
        agreements.ASSISTANT, "c1", now=noon_utc(TODAY))
    reference = in_transaction(cases.open_dispute, "ACC-1001", "not_mine", "", "c2").reference
    in_transaction(cases.resolve_dispute, reference, "upheld", "sup1", "not the debtor's account")
    view = state()
    assert view["status"] == "closed" and view["plans"][0]["status"] == "cancelled"


def test_dispute_resolution_from_the_command_line(demo):
    reference = in_transaction(cases.open_dispute, "ACC-1002", "already_paid", "paid in May", "c1").reference
    assert run_cli("resolve-dispute", "DSP-NOPE", "upheld", "--actor", "sup1", database=demo, check=False
                   ).returncode == 3
    assert run_cli("resolve-dispute", reference, "maybe", "--actor", "sup1", database=demo, check=False
                   ).returncode == 2  # argparse: not an outcome
    done = run_cli("resolve-dispute", reference, "rejected", "--actor", "sup1", "--note", "statement sent",
                   database=demo)
    assert "account ACC-1002 is now open" in done.stdout
    again = run_cli("resolve-dispute", reference, "upheld", "--actor", "sup1", database=demo, check=False)
    assert again.returncode == 1 and "already resolved" in again.stderr


def test_stopping_flags_stop_collection_and_show_in_the_json(demo):
    assert in_transaction(cases.raise_flag, "BB-77310", "attorney", "c1", attorney_contact="Ms Kaur, +44 20 7946 0000")
    assert not in_transaction(cases.raise_flag, "BB-77310", "attorney", "c2")  # already set: recorded once
    assert in_transaction(cases.raise_flag, "BB-77310", "cease", "c2")
    view = state("BB-77310")
    assert view["status"] == "ceased"
    assert view["flags"] == {"sms_opt_out": False, "cease": True, "attorney": True, "bankruptcy": False,
                             "deceased": False, "deceased_reported": False}
    assert in_transaction(cases.hold_on, "BB-77310").status == "ceased"
    with pytest.raises(ValueError):
        in_transaction(cases.raise_flag, "BB-77310", "vacation", "c3")
    with pytest.raises(ValueError):  # only a person sets it (cases.decide_death_report)
        in_transaction(cases.raise_flag, "BB-77310", "deceased", "c3")


def test_new_contact_details_are_kept_unverified_and_never_twice(demo):
    given = [("email", "jo@example.com"), ("phone", "+15550100199")]
    first = in_transaction(cases.add_contact_points, "ACC-1001", given, "c1")
    assert first.added == ("jo@example.com", "+15550100199") and first.known == ()
    again = in_transaction(cases.add_contact_points, "ACC-1001", [("email", "jo@example.com")], "c2")
    assert again.added == () and again.known == ("jo@example.com",)
    with unit_of_work() as session:
        points = accounts.get(session, "ACC-1001").debtor.contact_points
        new = [(p.kind, p.value, p.source, p.verified) for p in points if p.source == "debtor"]
    assert new == [("email", "jo@example.com", "debtor", False), ("phone", "+15550100199", "debtor", False)]


def test_a_wrong_party_marks_the_number_they_were_reached_on(demo):
    with unit_of_work() as session:
        phone = next(p.value for p in accounts.get(session, "ACC-1002").debtor.contact_points if p.kind == "phone")
    assert in_transaction(cases.report_wrong_party, phone, [phone]) == 1
    assert in_transaction(cases.report_wrong_party, "web-visitor", ["web-visitor"]) == 0
    with unit_of_work() as session:
        account = accounts.get(session, "ACC-1002")
        verdict = outbound_verdict(session, account, "sms", phone, datetime(2026, 11, 23, 17, tzinfo=UTC))
    assert not verdict.allowed and "wrong person" in verdict.reason


def test_one_open_handoff_per_conversation(demo):
    first = in_transaction(handoffs.open_handoff, "c1", "complain", "ACC-1001", words="this is harassment")
    assert in_transaction(handoffs.open_handoff, "c1", "request_human", None) == first
    # Unverified: no account tied to it.
    assert in_transaction(handoffs.open_handoff, "c2", "request_human", None) != first
    assert [(h["reason"], h["status"]) for h in state()["handoffs"]] == [("complain", "open")]


def test_outbound_contact_follows_the_rules_and_the_account(demo):
    noon_chicago = datetime(2026, 11, 23, 18, tzinfo=UTC)
    with unit_of_work() as session:
        account = accounts.get(session, "ACC-1001")
        phone = next(p.value for p in account.debtor.contact_points if p.kind == "phone")
        assert outbound_verdict(session, account, "sms", phone, noon_chicago).allowed
        assert outbound_verdict(session, account, "sms", phone, noon_chicago).needs_opt_out_notice
        late = outbound_verdict(session, account, "sms", phone, datetime(2026, 11, 24, 3, 0, tzinfo=UTC))
        assert not late.allowed and "21:00" in late.reason  # 21:00 in Chicago
        assert not outbound_verdict(session, account, "sms", "+19999999999", noon_chicago).allowed
        for hours in range(7):  # seven attempts in the hours before "now", on the test's clock
            session.add(Call(account_id=account.id, agent="ana", phone=phone,
                             started_at=noon_chicago - timedelta(hours=hours)))
        session.flush()
        verdict = outbound_verdict(session, account, "call", phone, noon_chicago + timedelta(hours=1))
        assert not verdict.allowed and "7 call attempts" in verdict.reason  # the 8th is refused
    in_transaction(cases.open_dispute, "ACC-1001", "other", "", "c1")
    with unit_of_work() as session:
        account = accounts.get(session, "ACC-1001")
        verdict = outbound_verdict(session, account, "sms", phone, noon_chicago)
    assert not verdict.allowed and "disputed" in verdict.reason


def _policy():
    return parse_policy(yaml.safe_load((DEMO / "policies.yml").read_text())["creditors"][0]["policy"])


def test_hardship_limits_are_gentler_and_only_for_hardship_plans():
    policy = _policy()
    balance = Decimal("1234.56")
    hardship = nearest_plan(balance, policy, "bot", TODAY, "USD", monthly=Decimal("20"), hardship=True)
    assert hardship.hardship and hardship.monthly == Decimal("51.44")  # 24 months at most for the bot in hardship
    authorise(hardship, balance, policy, "bot", TODAY, "USD")
    normal = nearest_plan(balance, policy, "bot", TODAY, "USD", monthly=Decimal("20"))
    assert normal.monthly == Decimal("102.88")  # 12 months at most otherwise
    from dataclasses import replace
    with pytest.raises(NotAuthorised) as refused:
        authorise(replace(hardship, hardship=False), balance, policy, "bot", TODAY, "USD")
    assert refused.value.escalate_to == "agent"


def test_a_hardship_override_may_not_be_harsher_than_the_tier():
    raw = yaml.safe_load((DEMO / "policies.yml").read_text())["creditors"][0]["policy"]
    raw["tiers"]["bot"]["hardship"] = {"max_plan_months": 6}
    with pytest.raises(PolicyError, match="gentle"):
        parse_policy(raw)
    raw["tiers"]["bot"]["hardship"] = {"max_discount_pct": 90}
    with pytest.raises(PolicyError, match="may set"):
        parse_policy(raw)


def test_an_sms_opt_out_covers_the_number_on_every_record(demo):
    jordans = "+15551230001"
    in_transaction(cases.add_contact_points, "ACC-1002", [("phone", jordans)], "c1")  # Sam gave Jordan's number too
    noon_chicago = datetime(2026, 11, 23, 18, tzinfo=UTC)
    assert in_transaction(sms.set_opt_out, jordans, True, "c1") == 2
    with unit_of_work() as session:
        for ref in ("ACC-1001", "ACC-1002"):
            verdict = outbound_verdict(session, accounts.get(session, ref), "sms", jordans, noon_chicago)
            assert not verdict.allowed and verdict.reason == "opted out of sms"
    assert in_transaction(sms.is_opted_out, jordans)
    assert in_transaction(sms.set_opt_out, jordans, False, "c1") == 2
    with unit_of_work() as session:
        assert outbound_verdict(session, accounts.get(session, "ACC-1002"), "sms", jordans, noon_chicago).allowed
    with unit_of_work() as session:
        actions = [e.action for e in audit.events_for(session, accounts.get(session, "ACC-1002"))]
    assert [a for a in actions if a.startswith("sms_")] == ["sms_opt_out", "sms_opt_in"]
