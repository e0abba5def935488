"""Issue 10, finding 8: opt-outs leak. Every number is read as E.164 (phonenumbers, the debtor's country as the
default region), and consent is kept per number in `SmsConsent`, whether or not the number is on file yet.

Each attack test performs the attack as the issue describes it and fails on 5e1d85d.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
from alembic import command
from sqlalchemy import select, text

from bot.cli import DEMO
from bot.domain.cases import contact_details_in
from bot.domain.phones import region_of_timezone, to_e164
from bot.services import accounts, cases, imports, sms
from bot.services.contact import outbound_verdict
from bot.sms.standin import inbound_sms, signed_headers
from bot.storage.db import engine_for, unit_of_work
from bot.storage.migrate import alembic_config
from bot.storage.orm import AuditEvent, PhoneConversation, SmsConsent
from tests.support.database import HEADER, in_transaction, run_cli, write

TODAY = date(2026, 11, 23)
DAYTIME = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 09:00 in Chicago
JORDAN = "+15551230001"  # ACC-1001, America/Chicago
STRANGER = "+15551239999"  # on file nowhere


@pytest.fixture
def demo(db) -> str:
    in_transaction(imports.import_policies, DEMO / "policies.yml")
    in_transaction(imports.import_accounts, DEMO / "accounts.csv", TODAY)
    return db


def import_later(tmp_path: Path, phone: str, zone: str = "America/Chicago", ref: str = "R-LATER",
                 name: str = "Lee Later") -> None:
    """An account placed after the STOP, whose debtor's phone is the number that texted it."""
    row = f"{ref},ACME,Acme Mobile,{name},1990-05-05,60601,{phone},,{zone},USD,300.00,0,0,2026-10-01\n"
    in_transaction(imports.import_accounts, write(tmp_path / f"{ref}.csv", HEADER + row), TODAY)


def dry_run_skips(database: str, now: datetime) -> tuple[set[str], dict[str, str]]:
    """The numbers `remind --dry-run` would text, and why it skips each account it skips."""
    result = run_cli("remind", "--dry-run", "--now", now.strftime("%Y-%m-%dT%H:%M:%SZ"), database=database)
    sends = {m[1] for m in re.finditer(r"^send (\S+) ", result.stdout, re.M)}
    skips = {m[1]: m[2] for m in re.finditer(r"^skip (\S+): (.*)$", result.stdout, re.M)}
    return sends, skips


def sms_verdict(ref: str, phone: str):
    with unit_of_work() as session:
        return outbound_verdict(session, accounts.get(session, ref), "sms", phone, DAYTIME)


def json_of(ref: str) -> dict:
    with unit_of_work() as session:
        return accounts.view(session, accounts.get(session, ref))


# ---- the library, at the boundary --------------------------------------------------------------------------

@pytest.mark.parametrize("raw, region, number", [
    ("555-123-0001", "US", JORDAN),  # typed by a debtor in Chicago: no country code
    ("(555) 123-0001", "US", JORDAN),
    ("+1 (555) 123-0001", None, JORDAN),
    ("+1 555.123.0001", "GB", JORDAN),  # a country code outranks the region
    ("1 555 123 0001", "US", JORDAN),
    ("011 1 555 123 0001", "US", JORDAN),  # dialled from the US with the international prefix
    ("07700 900123", "GB", "+447700900123"),
    ("+44 (0)7700 900123", None, "+447700900123"),
    ("555-123-0001", None, None),  # no country code and no region: which country?
    ("555-1234", "US", None),  # only diallable locally: the area code is missing
    ("+1555", None, None),
    ("+999 555 123 0001", None, None),  # no such country code
    ("not a number", "US", None),
    ("", "US", None),
    ("5" * 200, "US", None),
])
def test_numbers_are_read_as_e164_in_the_debtors_country(raw, region, number):
    assert to_e164(raw, region) == number


@pytest.mark.parametrize("zone, region", [
    ("America/Chicago", "US"), ("America/Toronto", "CA"), ("Europe/London", "GB"), ("Asia/Kolkata", "IN"),
    ("US/Central", "US"), ("Asia/Calcutta", "IN"), ("Europe/Kiev", "UA"), ("GB", "GB"),  # older names: links
    ("UTC", None), ("Etc/GMT+5", None), ("Mars/Olympus", None), ("", None),
])
def test_a_debtors_country_comes_from_their_time_zone(zone, region):
    assert region_of_timezone(zone) == region


# ---- attacks ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("as_imported", [STRANGER, "(555) 123-9999", "555.123.9999"])
def test_a_stop_from_a_number_on_file_nowhere_holds_when_the_number_is_imported_later(demo, tmp_path, as_imported):
    """Attack: text STOP before the number is on file; on 5e1d85d it was only audited, and the reminder went out."""
    assert in_transaction(sms.set_opt_out, STRANGER, True, "sms-conversation") == 0  # nobody has the number yet
    import_later(tmp_path, as_imported)
    sends, skips = dry_run_skips(demo, DAYTIME)
    assert skips.get("R-LATER") == "opted out of sms" and STRANGER not in sends
    verdict = sms_verdict("R-LATER", STRANGER)
    assert not verdict.allowed and verdict.reason == "opted out of sms"
    assert json_of("R-LATER")["flags"]["sms_opt_out"] is True
    assert in_transaction(sms.is_opted_out, STRANGER)


def test_a_start_from_a_number_on_file_nowhere_is_remembered_too(demo, tmp_path):
    in_transaction(sms.set_opt_out, STRANGER, True, "c1")
    in_transaction(sms.set_opt_out, STRANGER, False, "c1")
    import_later(tmp_path, STRANGER)
    assert sms_verdict("R-LATER", STRANGER).allowed
    with unit_of_work() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("sms_opt_%"))
                                       .order_by(AuditEvent.id)))
    assert actions == ["sms_opt_out", "sms_opt_in"]  # audited as before, without an account then


def test_a_number_typed_without_its_country_code_is_the_number_an_opt_out_names(demo):
    """Attack: a debtor types a number as people do; on 5e1d85d it was kept as 5551230001 and a STOP from
    +15551230001 did not cover it, so it could still be texted."""
    # Jordan (Chicago) retypes his own number: the same number, nothing new.
    known = in_transaction(cases.add_contact_points, "ACC-1001", contact_details_in("my number is 555-123-0001"), "c1")
    assert known.known == (JORDAN,)
    # Sam (New York) gives Jordan's number, typed the same way.
    added = in_transaction(cases.add_contact_points, "ACC-1002", contact_details_in("or call 555-123-0001"), "c2")
    assert added.added == (JORDAN,)
    with unit_of_work() as session:
        added = [p.value for p in accounts.get(session, "ACC-1002").debtor.contact_points if p.source == "debtor"]
    assert added == [JORDAN]
    assert in_transaction(sms.set_opt_out, JORDAN, True, "c3") == 2  # Jordan's account and Sam's
    verdict = sms_verdict("ACC-1002", JORDAN)
    assert not verdict.allowed and verdict.reason == "opted out of sms"
    view = json_of("ACC-1002")
    assert view["flags"]["sms_opt_out"] is True
    assert [(c["value"], c["sms_opt_out"]) for c in view["contact_points"] if c["kind"] == "phone"] == [
        ("+15551230002", False), (JORDAN, True)]


@pytest.mark.parametrize("written", ["+1 (555) 123-0001", "+1 555-123-0001", "+1.555.123.0001"])
def test_an_opt_out_from_a_formatted_number_matches_the_number_on_file(demo, written):
    """Attack: the number arrives formatted; on 5e1d85d opt-outs matched exact strings and this one matched none."""
    assert in_transaction(sms.set_opt_out, written, True, "c1") == 1
    assert in_transaction(sms.is_opted_out, JORDAN)
    assert json_of("ACC-1001")["flags"]["sms_opt_out"] is True
    assert not sms_verdict("ACC-1001", JORDAN).allowed
    with unit_of_work() as session:
        assert session.get(SmsConsent, JORDAN).opted_out
        assert [a.account_ref for a in sms.accounts_on(session, written)] == ["ACC-1001"]
    # One number, one conversation.
    assert in_transaction(sms.conversation_for, written) == in_transaction(sms.conversation_for, JORDAN)
    assert in_transaction(sms.phone_of, in_transaction(sms.conversation_for, written)) == JORDAN


def test_what_is_not_a_phone_number_gets_nothing(demo):
    for junk in ("not-a-number", "+1555", "12345", ""):
        with pytest.raises(sms.NotAPhoneNumber):
            in_transaction(sms.conversation_for, junk)
        with pytest.raises(sms.NotAPhoneNumber):
            in_transaction(sms.set_opt_out, junk, True, "c1")
        assert in_transaction(sms.is_opted_out, junk)  # never texted
        with unit_of_work() as session:
            assert sms.accounts_on(session, junk) == []
    with unit_of_work() as session:
        assert session.scalars(select(PhoneConversation)).all() == []
        assert session.scalars(select(SmsConsent)).all() == []


def test_a_number_reported_wrong_is_matched_however_it_was_written(demo):
    assert in_transaction(cases.report_wrong_party, "c1", ["+1 (555) 123-0002"]) == 1  # Sam's number, formatted
    assert in_transaction(cases.report_wrong_party, "c2", ["555 123 0001"], "ACC-1001") == 1  # read in Jordan's country
    assert "wrong person" in sms_verdict("ACC-1002", "+15551230002").reason
    assert "wrong person" in sms_verdict("ACC-1001", JORDAN).reason


@pytest.mark.parametrize("phone, reason", [
    ("555-1234", "'555-1234' is not a possible phone number"),
    ("+999 555 123 0001", "'+999 555 123 0001' is not a possible phone number"),
    ("call me", "'call me' is not a possible phone number"),
])
def test_an_imported_phone_that_is_not_a_number_is_a_bad_row(db, tmp_path, phone, reason):
    in_transaction(imports.import_policies, DEMO / "policies.yml")
    row = f"R-1,ACME,,Bad Phone,1990-05-05,60601,{phone},,America/Chicago,USD,300.00,0,0,2026-10-01\n"
    with pytest.raises(imports.ImportRejected) as rejected:
        in_transaction(imports.import_accounts, write(tmp_path / "a.csv", HEADER + row), TODAY)
    assert [(p.line, p.reason) for p in rejected.value.problems] == [
        (2, f"phone {reason}: write it in E.164 such as +15551230001")]


def test_an_imported_national_number_is_stored_in_e164(db, tmp_path):
    in_transaction(imports.import_policies, DEMO / "policies.yml")
    import_later(tmp_path, "(555) 123-7777", ref="R-US")
    import_later(tmp_path, "07700 900456", zone="Europe/London", ref="R-GB", name="Gil Britton")
    with unit_of_work() as session:
        phones = {ref: [p.value for p in accounts.get(session, ref).debtor.contact_points if p.kind == "phone"]
                  for ref in ("R-US", "R-GB")}
    assert phones == {"R-US": ["+15551237777"], "R-GB": ["+447700900456"]}


# ---- existing databases: no opt-out lost in the move ------------------------------------------------------


def test_the_migration_moves_opt_outs_to_the_numbers_and_stores_numbers_in_e164(fresh_database):
    config = alembic_config(fresh_database)
    command.upgrade(config, "0002")
    engine = engine_for(fresh_database)
    points = [  # (debtor, value as kept before, opted out on that record, status)
        (1, "5551230001", True, "active"),  # typed in Chicago without the country code, then STOP
        (1, "+15551230001", False, "active"),  # ... and the same number from the import
        (1, "(555) 123-0003", False, "wrong"),
        (2, "+15551230002", True, "active"),
        (2, "07700 900123", False, "active"),  # London
        (2, "garbage", True, "active"),
    ]
    with engine.begin() as connection:
        now = datetime(2026, 11, 1, tzinfo=UTC)
        for debtor_id, zone in ((1, "America/Chicago"), (2, "Europe/London")):
            connection.execute(text(
                "INSERT INTO debtors (id, name, date_of_birth, postcode, timezone, created_at)"
                " VALUES (:id, :name, :born, '', :zone, :now)"),
                {"id": debtor_id, "name": f"D{debtor_id}", "born": date(1980, 1, 1), "zone": zone, "now": now})
        for number, (debtor_id, value, opted_out, status) in enumerate(points, start=1):
            connection.execute(text(
                "INSERT INTO contact_points (id, debtor_id, kind, value, source, verified, status, sms_opt_out,"
                " created_at) VALUES (:id, :debtor, 'phone', :value, 'import', :no, :status, :out, :now)"),
                {"id": number, "debtor": debtor_id, "value": value, "no": False, "status": status, "out": opted_out,
                 "now": now})
    command.upgrade(config, "head")
    with engine.connect() as connection:
        kept = connection.execute(text("SELECT debtor_id, value, status FROM contact_points ORDER BY id")).fetchall()
        consents = connection.execute(text("SELECT phone, opted_out FROM sms_consents ORDER BY phone")).fetchall()
    assert [tuple(row) for row in kept] == [
        (1, JORDAN, "active"), (1, "+15551230003", "wrong"), (2, "+15551230002", "active"),
        (2, "+447700900123", "active"), (2, "garbage", "active")]
    assert [(phone, bool(out)) for phone, out in consents] == [("+15551230001", True), ("+15551230002", True)]
    command.downgrade(config, "0002")
    with engine.connect() as connection:
        restored = connection.execute(text("SELECT value, sms_opt_out FROM contact_points ORDER BY id")).fetchall()
    assert [(value, bool(out)) for value, out in restored] == [  # "garbage": as it was, never touched
        (JORDAN, True), ("+15551230003", False), ("+15551230002", True), ("+447700900123", False), ("garbage", True)]
    engine.dispose()


# ---- through the real webhook -----------------------------------------------------------------------------

def post_text(stack, number: str, body: str) -> requests.Response:
    webhook = f"{stack.rasa_url}/webhooks/twilio/webhook"
    params = inbound_sms(stack.twilio.settings, number, body)
    return requests.post(webhook, data=params, headers=signed_headers(stack.twilio.settings, webhook, params),
                         timeout=60)






async def test_a_contact_update_is_said_back_as_stored_and_an_unreadable_number_is_not_called_known(demo):
    """The debtor hears the number as it was kept (with its country code); one that is not a phone number
    is not silently dropped behind "we already have it on file"."""
    from actions.cases import ActionRecordCase
    from tests.integration.test_actions import run, tracker

    added = tracker(verified=True, account_ref="ACC-1002", case_topic="update_contact",
                    case_details="my new number is 555-123-0077")
    _, said, messages = await run(ActionRecordCase(), added)
    assert said == ["utter_contact_updated"] and messages[0]["details"] == "+15551230077"
    unreadable = tracker(verified=True, account_ref="ACC-1002", case_topic="update_contact",
                         case_details="call me on 555-123-45678")
    _, said, messages = await run(ActionRecordCase(), unreadable)
    assert said == ["utter_phone_unreadable"] and messages[0]["details"] == "55512345678"
    with unit_of_work() as session:
        kept = [p.value for p in accounts.get(session, "ACC-1002").debtor.contact_points if p.source == "debtor"]
    assert kept == ["+15551230077"]
