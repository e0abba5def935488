"""The reminder campaign: `python -m bot remind` on a real database, texting through the Twilio stand-in."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.cli import DEMO
from bot.domain.negotiation import nearest_plan
from bot.domain.policy import parse_policy
from bot.services import agreements, cases, imports, reminders, sms
from bot.sms.gateway import SmsGateway
from bot.sms.standin import StandIn
from bot.storage.db import unit_of_work
from bot.storage.orm import Account, AuditEvent
from tests.support.database import HEADER, in_locking_transaction, in_transaction, noon_utc, run_cli, write

TODAY = date(2026, 11, 23)
DAYTIME = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # 09:00 in Chicago (CST, UTC-6)
NIGHT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 04:00 in Chicago
ROWS = {  # ref: (debtor, date of birth, phone); every one in Chicago, owing 1234.56 to Acme
    "R-OPEN": ("Ada Open", "1980-01-01", "+15552000001"),
    "R-SHARED": ("Ann Other", "1981-01-01", "+15552000001"),  # another debtor on Ada's phone
    "R-DISPUTED": ("Dee Dispute", "1982-01-01", "+15552000002"),
    "R-CEASED": ("Cy Cease", "1983-01-01", "+15552000003"),
    "R-OPTOUT": ("Otto Out", "1984-01-01", "+15552000004"),
    "R-WRONG": ("Will Wrong", "1985-01-01", "+15552000005"),
    "R-PLAN": ("Pat Plan", "1986-01-01", "+15552000006"),
    "R-RECENT": ("Rae Recent", "1987-01-01", "+15552000007"),
    "R-TWIN-A": ("Bo Twin", "1988-01-01", "+15552000008"),  # one debtor, two accounts, one phone
    "R-TWIN-B": ("Bo Twin", "1988-01-01", "+15552000008"),
    "R-NOPHONE": ("Nel Nophone", "1989-01-01", ""),
}
SKIP_REASONS = {
    "R-SHARED": "+15552000001 gets another debtor's reminder in this run",
    "R-DISPUTED": "collection paused: account disputed",
    "R-CEASED": "collection stopped: cease",
    "R-OPTOUT": "opted out of sms",
    "R-WRONG": "+15552000005 was reported as reaching the wrong person",
    "R-PLAN": "agreement in force: plan_active",
    "R-RECENT": "reminded 2 days ago",
    "R-NOPHONE": "no phone number on file",
}
DEBT_WORDS = re.compile(r"debt|owe|1234\.56|1,234\.56|\$|acme|balance|collect", re.I)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def running_standin() -> Iterator[StandIn]:
    with StandIn() as standin:
        yield standin


@pytest.fixture
def standin(running_standin: StandIn, monkeypatch) -> StandIn:
    """The stand-in, emptied, and chosen for code under test (and `run_cli`) through TWILIO_* variables."""
    running_standin.clear()
    for name, value in running_standin.environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("WEBCHAT_URL", raising=False)
    return running_standin


def _import(path: Path, refs: list[str]) -> None:
    lines = [f"{ref},ACME,Acme Mobile,{name},{born},60601,{phone},,America/Chicago,USD,1200.00,34.56,0.00,2026-10-01"
             for ref, (name, born, phone) in ROWS.items() if ref in refs]
    in_transaction(imports.import_accounts, write(path, HEADER + "\n".join(lines) + "\n"), TODAY)


@pytest.fixture
def portfolio(db, standin, tmp_path) -> str:
    """One account in each state a reminder cares about; R-RECENT was reminded by a real run two days ago."""
    in_transaction(imports.import_policies, DEMO / "policies.yml")
    _import(tmp_path / "recent.csv", ["R-RECENT"])
    run_cli("remind", "--now", iso(DAYTIME - timedelta(days=2)), database=db)
    _import(tmp_path / "accounts.csv", [ref for ref in ROWS if ref != "R-RECENT"])
    in_transaction(cases.open_dispute, "R-DISPUTED", "not_mine", "", "c1")
    in_transaction(cases.raise_flag, "R-CEASED", "cease", "c1")
    in_transaction(sms.set_opt_out, "+15552000004", True, "c1")  # consent is kept per number (services.sms)
    in_transaction(cases.report_wrong_party, "c1", ["+15552000005"])
    policy = parse_policy(yaml.safe_load((DEMO / "policies.yml").read_text())["creditors"][0]["policy"])
    in_locking_transaction(
        agreements.record, "R-PLAN", nearest_plan(Decimal("1234.56"), policy, "bot", TODAY, "USD", months=6),
        agreements.ASSISTANT, "c1", now=noon_utc(TODAY))
    standin.clear()
    return db


def reminder_events() -> list[tuple[str, dict]]:
    """(account reference, details) of every reminder_sent event, oldest first."""
    with unit_of_work() as session:
        rows = session.execute(select(Account.account_ref, AuditEvent.details).join(Account)
                               .where(AuditEvent.action == reminders.REMINDER_SENT).order_by(AuditEvent.id))
        return [(ref, details) for ref, details in rows]


def dry_run(database: str, now: datetime, *extra: str) -> tuple[dict[str, tuple[str, str]], dict[str, str], str]:
    """The dry run's sends ({to: (refs, text)}), skips ({ref: reason}) and summary line."""
    result = run_cli("remind", "--dry-run", "--now", iso(now), *extra, database=database)
    sends, skips = {}, {}
    for line in result.stdout.splitlines():
        if send := re.fullmatch(r"send (\+\d+) \(([^)]*)\) at [^:]+:\d\d [\w/]+: (.*)", line):
            sends[send[1]] = (send[2], send[3])
        elif skip := re.fullmatch(r"skip (\S+): (.*)", line):
            skips[skip[1]] = skip[2]
    return sends, skips, result.stdout.splitlines()[-1]


def test_a_dry_run_lists_what_it_would_send_and_why_it_skips(portfolio, standin):
    before = reminder_events()
    sends, skips, summary = dry_run(portfolio, DAYTIME)
    assert {to: refs for to, (refs, _text) in sends.items()} == {
        "+15552000001": "R-OPEN", "+15552000008": "R-TWIN-A, R-TWIN-B"}
    assert skips == SKIP_REASONS
    assert summary.startswith("dry run: 2 to send (3 accounts), 8 skipped")
    assert "Hi Ada, this is Northgate Services." in sends["+15552000001"][1]
    assert "?ref=R-OPEN " in sends["+15552000001"][1]
    assert standin.messages() == [] and reminder_events() == before  # nothing sent, nothing recorded


def test_outside_the_contact_window_nobody_is_texted(portfolio, standin):
    sends, skips, summary = dry_run(portfolio, NIGHT)
    assert sends == {}
    for ref in ("R-OPEN", "R-TWIN-A", "R-TWIN-B", "R-SHARED"):
        assert skips[ref] == "outside 08:00-21:00 in the debtor's zone (it is 04:00 there)"
    assert skips["R-CEASED"] == "collection stopped: cease"  # stops outrank the clock
    assert summary.startswith("dry run: 0 to send")


def test_a_real_run_sends_exactly_the_plan_records_it_and_does_not_repeat(portfolio, standin):
    planned, _skips, _summary = dry_run(portfolio, DAYTIME)
    before = reminder_events()
    result = run_cli("remind", "--now", iso(DAYTIME), database=portfolio)
    assert "[1/2] sent to +15552000001 (R-OPEN)" in result.stdout
    assert "[2/2] sent to +15552000008 (R-TWIN-A, R-TWIN-B)" in result.stdout
    assert "reminders: 2 sent, 0 failed" in result.stdout
    sent = standin.messages()
    assert sorted((m["to"], m["body"]) for m in sent) == sorted((to, text) for to, (_refs, text) in planned.items())
    assert all(m["from"] == standin.settings.from_number for m in sent)
    sids = {m["to"]: m["sid"] for m in sent}
    new = reminder_events()[len(before):]
    assert sorted((ref, details["to"], details["message_sid"]) for ref, details in new) == [
        ("R-OPEN", "+15552000001", sids["+15552000001"]),
        ("R-TWIN-A", "+15552000008", sids["+15552000008"]),
        ("R-TWIN-B", "+15552000008", sids["+15552000008"]),
    ]
    # the next day: nobody reminded yesterday again; Ann, on Ada's phone, had to wait for this run
    again = run_cli("remind", "--now", iso(DAYTIME + timedelta(days=1)), database=portfolio)
    assert "[1/1] sent to +15552000001 (R-SHARED)" in again.stdout and "reminders: 1 sent, 0 failed" in again.stdout
    assert [m["body"][:7] for m in standin.messages()[2:]] == ["Hi Ann,"]
    assert [ref for ref, _details in reminder_events()[len(before) + len(new):]] == ["R-SHARED"]
    third = run_cli("remind", "--now", iso(DAYTIME + timedelta(days=2)), database=portfolio)
    assert "reminders: 0 sent, 0 failed" in third.stdout and len(standin.messages()) == 3
    _sends, skips, _summary = dry_run(portfolio, DAYTIME + timedelta(days=3))
    assert skips["R-OPEN"] == skips["R-TWIN-B"] == "reminded 3 days ago"
    sends, _skips, _summary = dry_run(portfolio, DAYTIME + timedelta(days=7))  # the interval has passed
    assert {to: refs for to, (refs, _text) in sends.items()} == {
        "+15552000001": "R-OPEN", "+15552000007": "R-RECENT", "+15552000008": "R-TWIN-A, R-TWIN-B"}
    sends, _skips, _summary = dry_run(portfolio, DAYTIME + timedelta(days=9), "--interval-days", "10")
    assert set(sends) == {"+15552000007"}  # Rae's reminder was 11 days before, the others' 9 or 8


def test_two_accounts_on_one_phone_get_one_message_naming_the_first(portfolio, standin):
    run_cli("remind", "--now", iso(DAYTIME), database=portfolio)
    [message] = standin.messages(to="+15552000008")
    assert "Hi Bo," in message["body"] and "?ref=R-TWIN-A " in message["body"] and "R-TWIN-B" not in message["body"]
    assert len(standin.messages(to="+15552000001")) == 1  # Ada's; Ann (another debtor on it) waits for a later run


def test_the_text_carries_the_opt_out_and_the_link_and_never_the_debt(portfolio, standin):
    run_cli("remind", "--now", iso(DAYTIME), database=portfolio)
    for message in standin.messages():
        body = message["body"]
        assert body.endswith("Reply STOP to opt out.")
        assert re.search(r"http://localhost:8080/\?ref=R-[A-Z-]+ ", body)
        assert "1-800-555-0142" in body and len(body) <= reminders.MAX_LENGTH
        assert not DEBT_WORDS.search(body), body


def test_a_failed_send_exits_1_and_records_nothing(portfolio, standin, monkeypatch):
    before = reminder_events()
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "not-the-stand-ins-token")
    result = run_cli("remind", "--now", iso(DAYTIME), database=portfolio, check=False)
    assert result.returncode == 1
    assert "[1/2] FAILED to +15552000001 (R-OPEN): Twilio error 20003" in result.stderr
    assert "[2/2] FAILED" in result.stderr and "0 sent, 2 failed" in result.stdout
    assert standin.messages() == [] and reminder_events() == before


def test_one_failed_phone_does_not_stop_the_run(portfolio, standin):
    standin.unsubscribe("+15552000001")  # Twilio's own opt-out list refuses Ada's number
    try:
        result = run_cli("remind", "--now", iso(DAYTIME), database=portfolio, check=False)
    finally:
        standin.resubscribe("+15552000001")
    assert result.returncode == 1
    assert "FAILED to +15552000001 (R-OPEN): Twilio error 21610" in result.stderr
    assert "[2/2] sent to +15552000008" in result.stdout
    assert [m["to"] for m in standin.messages()] == ["+15552000008"]
    recorded = {ref for ref, details in reminder_events() if details["sent_at"] == DAYTIME.isoformat()}
    assert recorded == {"R-TWIN-A", "R-TWIN-B"}
    # Ada was not reminded, so she is still due
    sends, _skips, _summary = dry_run(portfolio, DAYTIME + timedelta(hours=1))
    assert set(sends) == {"+15552000001"}


def test_a_stop_between_planning_and_sending_is_honoured(portfolio, standin):
    plan = in_transaction(reminders.plan_reminders, now=DAYTIME)
    assert [r.account_refs for r in plan.reminders] == [("R-OPEN",), ("R-TWIN-A", "R-TWIN-B")]
    in_transaction(cases.raise_flag, "R-OPEN", "cease", "c2")
    in_transaction(cases.open_dispute, "R-TWIN-A", "not_mine", "", "c2")
    outcomes = reminders.send_reminders(plan, SmsGateway(standin.settings))
    assert not outcomes[0].sent and "collection stopped: cease" in outcomes[0].withheld
    assert outcomes[1].sent and outcomes[1].account_refs == ("R-TWIN-B",)
    [message] = standin.messages()
    assert message["to"] == "+15552000008" and "?ref=R-TWIN-B " in message["body"]  # the link names who is due
    assert [ref for ref, _details in reminder_events() if ref != "R-RECENT"] == ["R-TWIN-B"]


def test_bad_options_are_rejected(portfolio):
    assert run_cli("remind", "--dry-run", "--now", "yesterday", database=portfolio, check=False).returncode == 1
    assert run_cli("remind", "--dry-run", "--interval-days", "0", database=portfolio, check=False).returncode == 1


@pytest.mark.parametrize("base, link", [
    ("http://localhost:8080/", "http://localhost:8080/?ref=ACC-1001"),
    ("https://chat.example.com/start?lang=en", "https://chat.example.com/start?lang=en&ref=ACC-1001"),
    ("https://chat.example.com/?ref=OLD#top", "https://chat.example.com/?ref=ACC-1001#top"),
])
def test_the_chat_link_keeps_the_pages_own_query(base, link):
    assert reminders.chat_link("ACC-1001", base) == link
    assert reminders.chat_link("A/B 1&x", base).count("A%2FB+1%26x") == 1  # escaped, not injected


def test_the_text_is_limited_content(monkeypatch):
    text = reminders.reminder_text("Jordan", "ACC-1001", opt_out_notice=True, webchat="http://localhost:8080/")
    assert text == ("Hi Jordan, this is Northgate Services. Please get in touch with us: chat at"
                    " http://localhost:8080/?ref=ACC-1001 or call 1-800-555-0142. Reply STOP to opt out.")
    assert reminders.text_problem(text) is None
    assert "Reply STOP" not in reminders.reminder_text("Jordan", "ACC-1001", opt_out_notice=False)
    assert reminders.reminder_text("", "ACC-1001", True).startswith("Hello, this is Northgate Services.")
    monkeypatch.setenv("AGENCY_NAME", "Debt Recovery Partners")
    assert "hint at a debt" in reminders.text_problem(reminders.reminder_text("Jordan", "ACC-1001", True))
    monkeypatch.setenv("AGENCY_NAME", "Northgate Services " + "x" * 250)
    assert "more than 320" in reminders.text_problem(reminders.reminder_text("Jordan", "ACC-1001", True))


def test_an_opt_out_covers_the_number_on_every_debtors_record(portfolio):
    in_transaction(sms.set_opt_out, "+15552000001", True, "c1")  # Ada's number, which Ann's record has too
    plan = in_transaction(reminders.plan_reminders, now=DAYTIME)
    skipped = {skip.account_ref: skip.reason for skip in plan.skipped}
    assert skipped["R-OPEN"] == "opted out of sms"
    assert skipped["R-SHARED"] == "opted out of sms"
    assert [r.to for r in plan.reminders] == ["+15552000008"]
    assert plan.reminders[0].opt_out_notice and plan.reminders[0].local_time == "09:00 America/Chicago"
