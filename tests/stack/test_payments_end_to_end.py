"""From a plan agreed in chat to its breaking, with the real servers: payments imported with the command line, the
daily run, its reminder through the Twilio stand-in, and the assistant telling the debtor in the next chat."""
from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.services import daily
from bot.services.unit_of_work import SqlUnitOfWork
from bot.sms.gateway import SmsGateway
from tests.stack.test_negotiation_conversations import verified_chat
from tests.support.database import account_json, run_cli

pytestmark = pytest.mark.stack

CHICAGO = ZoneInfo("America/Chicago")


def noon_in_chicago(day: date) -> datetime:
    return datetime.combine(day, time(12), CHICAGO).astimezone(UTC)


def test_a_plan_agreed_in_chat_with_a_missed_instalment_is_broken_chased_and_told(demo, db, tmp_path: Path):
    chat = verified_chat(demo)
    chat.say("can I pay 150 a month")
    chat.say("next friday")
    assert "Done" in chat.say("yes")
    [plan] = account_json(db)["plans"]
    first, second = plan["installments"][0], plan["installments"][1]
    payments = tmp_path / "payments.csv"
    with payments.open("w", newline="") as file:
        csv.writer(file).writerows([["account_ref", "amount", "paid_on", "reference"],
                                    ["ACC-1001", first["amount"], first["due_on"], "E2E-1"]])
    imported = run_cli("import-payments", str(payments), database=db)
    assert "1 matched" in imported.stdout
    assert demo.twilio is not None
    demo.twilio.clear()
    gateway = SmsGateway(demo.twilio.settings)
    second_due = date.fromisoformat(second["due_on"])
    for day in (second_due + timedelta(days=3), second_due + timedelta(days=11)):
        daily.run(day, units=lambda day=day: SqlUnitOfWork(clock=lambda: noon_in_chicago(day)), gateway=gateway)
    account = account_json(db)
    assert account["plans"][0]["status"] == "broken" and account["status"] == "open"
    assert [i["status"] for i in account["plans"][0]["installments"][:2]] == ["paid", "missed"]
    audit = run_cli("audit", "ACC-1001", database=db).stdout
    assert "plan_broken" in audit and second_due.isoformat() in audit
    [reminder] = demo.twilio.messages("+15551230001")  # the late instalment, at noon in the debtor's zone
    assert "Please get in touch" in reminder["body"] and "debt" not in reminder["body"].lower()
    told = verified_chat(demo)
    reply = told.say("what do I owe")
    assert "payment plan was cancelled" in reply and "1 missed payment" in reply
    assert "payment plan was cancelled" not in verified_chat(demo).say("what do I owe")  # said once
