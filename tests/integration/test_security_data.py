"""Personal data and bad input (issue 10, findings 11 and 14): the date-of-birth answer never reaches the
tracker store in clear, logs mask phones and dates, database files are private, `erase` and `purge` remove
personal data on both backends, and every command answers bad input with one line and an exit status."""
from __future__ import annotations

import io
import json
import logging
import os
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from bot.cli import DEMO
from bot.storage.db import engine_for, unit_of_work
from bot.storage.orm import (
    AuditEvent,
    OfferedChoices,
    PhoneConversation,
    SmsConsent,
    VerificationAttempt,
)
from tests.support import ARTEFACTS
from tests.support.database import (
    HEADER,
    create_postgres_database,
    in_locking_transaction,
    in_transaction,
    run_cli,
    write,
)
from tests.support.personal_data import holds_date_of_birth

JORDAN_PHONE = "+15551230001"
JORDAN_DOB_FORMS = ("12 March 1985", "1985-03-12", "03/12/1985")
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def one_line_error(result) -> str:
    """A refusal: a non-zero status and exactly one line on stderr, no traceback."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


# ---- logs -------------------------------------------------------------------------------------------------

@pytest.fixture
def captured_log():
    import bot  # noqa: F401 - installs the masking record factory, as every process of ours does

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger(f"test.personal.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_logs_mask_phone_numbers_and_dates_in_messages_and_arguments(captured_log):
    logger, stream = captured_log
    logger.info("an SMS from %s failed", JORDAN_PHONE)
    logger.info(f"user said 'my dob is 12 March 1985' from {JORDAN_PHONE}")  # Rasa logs with f-strings
    logger.warning("dates %s and %s, phone (312) 555-0199", "1985-03-12", "03/12/1985")
    logger.debug("slots: %s", {"date_of_birth": "march 12th 85", "account_ref": "ACC-1001"})
    try:
        raise ValueError(f"no debtor with phone {JORDAN_PHONE} born 1985-03-12")
    except ValueError:
        logger.exception("lookup failed")
    output = stream.getvalue()
    for secret in (JORDAN_PHONE, "5551230001", "555123", "12 March 1985", "1985-03-12", "03/12/1985",
                   "march 12th 85", "555-0199"):
        assert secret not in output, (secret, output)
    assert "+*********01" in output  # the last two digits tell numbers apart
    assert "ACC-1001" in output and "ValueError" in output and "[date]" in output


def test_a_newline_in_a_logged_value_cannot_forge_a_log_line(captured_log):
    logger, stream = captured_log
    logger.warning("REST message from %s failed", "eve\nCRITICAL forged entry")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and "\\nCRITICAL forged entry" in lines[0]


def test_every_process_of_ours_masks_its_logs():
    import bot.logs

    assert getattr(logging.getLogRecordFactory(), "masks_personal_data", False)
    bot.logs.install()  # again: not wrapped twice
    record = logging.getLogRecordFactory()("x", logging.INFO, __file__, 1, "%s", (JORDAN_PHONE,), None)
    assert record.getMessage() == "+*********01"


# ---- the tracker store --------------------------------------------------------------------------------------

def test_the_tracker_store_withholds_verification_answers_and_leaves_the_tracker_in_memory_alone():
    from rasa.shared.core.events import SessionStarted, SlotSet, UserUttered

    from bot.storage.tracker_store import WITHHELD, redacted

    answer = UserUttered("12 March 1985", {"name": "inform"}, [{"entity": "date", "value": "12 March 1985"}])
    both_at_once = UserUttered("it's bb-77310 and my dob is 04/07/1990", {"name": "inform"})
    events = [SessionStarted(), SlotSet("requested_slot", "account_ref"), UserUttered("ACC-1001", {"name": "inform"}),
              SlotSet("requested_slot", "date_of_birth"), answer, SlotSet("date_of_birth", "12 March 1985"),
              SlotSet("requested_slot", None), UserUttered("what do I owe?", {"name": "ask_balance"}),
              both_at_once, SlotSet("date_of_birth", both_at_once.text), SlotSet("date_of_birth", None)]
    # Without the events' timestamps: the clock's digits may hold "1985" (1796127885.1198...) on any day.
    stored = json.dumps([{k: v for k, v in event.as_dict().items() if k != "timestamp"} for event in redacted(events)])
    assert "1985" not in stored and "March" not in stored and "1990" not in stored
    assert WITHHELD in stored and "ACC-1001" in stored and "what do I owe?" in stored
    assert answer.text == "12 March 1985" and answer.parse_data["text"] == "12 March 1985"  # memory untouched
    assert answer.entities[0]["value"] == "12 March 1985"
    assert [event.as_dict()["text"] for event in redacted(events, 7) if event.type_name == "user"] == [
        "what do I owe?", WITHHELD]


# ---- database files -----------------------------------------------------------------------------------------

def test_sqlite_database_files_are_private(tmp_path):
    url = f"sqlite:///{tmp_path / 'private.db'}"
    previous = os.umask(0o022)
    try:
        run_cli("migrate", database=url)
        with engine_for(url).begin() as connection:  # WAL: -wal and -shm exist while a connection is open
            connection.execute(text("INSERT INTO creditors (id, name, policy, created_at, updated_at)"
                                    " VALUES ('X', 'X', '{}', '2026-11-23', '2026-11-23')"))
            for name in ("private.db", "private.db-wal", "private.db-shm"):
                assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    finally:
        os.umask(previous)
        engine_for(url).dispose()


def test_the_default_database_directory_is_private(tmp_path, monkeypatch):
    import bot.config

    monkeypatch.setattr(bot.config, "PROJECT_ROOT", tmp_path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / "var").mkdir(mode=0o755)
    (tmp_path / "var").chmod(0o755)  # a checkout from before the rule
    assert bot.config.database_url() == f"sqlite:///{tmp_path / 'var' / 'collections.db'}"
    assert stat.S_IMODE((tmp_path / "var").stat().st_mode) == 0o700


# ---- bad input on the command line ---------------------------------------------------------------------------



def test_bad_files_get_one_clear_line(db, tmp_path):
    cases = {
        "a directory": (tmp_path, "is a directory"),
        "a missing file": (tmp_path / "missing.csv", "no such file"),
        "not UTF-8": (tmp_path / "latin1.csv", "not UTF-8"),
    }
    (tmp_path / "latin1.csv").write_bytes(HEADER.encode() + "T-1,ACME,,Zoë,1985-03-12".encode("latin-1"))
    for what, (path, says) in cases.items():
        for command in ("import-accounts", "import-policies"):
            result = run_cli(command, str(path), database=db, check=False)
            line = one_line_error(result)
            assert result.returncode == 1 and says in line and "nothing imported" in line, (what, command, line)


def test_an_accounts_file_reports_every_problem_of_every_row(db, tmp_path):
    run_cli("import-policies", str(DEMO / "policies.yml"), database=db)
    rows = [
        "T-1,ACME,,Impossible Dates,1970-02-31,1,+15551230003,not-an-email,Mars/Olympus,USD,ten,0,0,2026-02-30\n",
        "T-2,ACME,,Badly Written,12/03/1985,1,+15551230004,,America/Chicago,usd,1,0,0,2026-09-01\n",
        "T-3,ACME,,,1985-03-12,1,+15551230005,,,USD,1,0,0,2026-09-01\n",
    ]
    result = run_cli("import-accounts", str(write(tmp_path / "a.csv", HEADER + "".join(rows))), database=db,
                     check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    line = {n: next(text for text in result.stderr.splitlines() if text.strip().startswith(f"line {n}:"))
            for n in (2, 3, 4)}
    assert "date_of_birth: '1970-02-31' is not a real date" in line[2]
    assert "placed_on: '2026-02-30' is not a real date" in line[2]
    assert "not an ISO 8601" not in line[2]
    for problem in ("email 'not-an-email'", "Mars/Olympus", "principal: amount 'ten'"):
        assert problem in line[2], (problem, line[2])
    assert "date_of_birth: '12/03/1985' is not an ISO 8601 date" in line[3] and "currency 'usd'" in line[3]
    assert "debtor_name is empty" in line[4] and "timezone is empty" in line[4]


def _cli_env_result(*args: str, database: str):
    return run_cli(*args, database=database, check=False)


@pytest.mark.parametrize("command", [("account", "ACC-1001"), ("audit", "ACC-1001"), ("remind", "--dry-run"),
                                     ("erase", "ACC-1001"), ("purge", "--dry-run"),
                                     ("import-accounts", str(DEMO / "accounts.csv"))])
def test_commands_on_a_database_never_migrated_say_to_migrate(command, tmp_path):
    database = tmp_path / "never.db"
    result = _cli_env_result(*command, database=f"sqlite:///{database}")
    line = one_line_error(result)
    assert result.returncode == 5 and "run `python -m bot migrate`" in line and "no tables" in line, line
    assert not database.exists()  # no empty file left behind


def test_a_postgresql_database_never_migrated_says_to_migrate():
    url, drop = create_postgres_database()
    try:
        result = _cli_env_result("account", "ACC-1001", database=url)
        line = one_line_error(result)
        assert result.returncode == 5 and "run `python -m bot migrate`" in line
        run_cli("migrate", database=url)
        assert _cli_env_result("account", "ACC-1001", database=url).returncode == 3
    finally:
        drop()


@pytest.mark.parametrize("url, says", [
    ("notaurl", "DATABASE_URL is not a database URL"),
    ("nosuchdb://somewhere/x", "DATABASE_URL is not a database URL"),
    ("postgresql://postgres:hunter2@127.0.0.1:1/collections", "cannot use the database"),
])
def test_a_bad_or_unreachable_database_gets_one_line(url, says):
    for command in (("account", "ACC-1001"), ("migrate",)):
        result = _cli_env_result(*command, database=url)
        line = one_line_error(result)
        assert result.returncode == 6 and says in line, line
        assert "hunter2" not in line  # the password is never printed


# ---- erase ----------------------------------------------------------------------------------------------------

def _rasa_events_table(url: str):
    """Rasa's own `events` table (as its SQL tracker store creates it), for tests that run no Rasa server."""
    from rasa.core.tracker_store import SQLTrackerStore

    SQLTrackerStore.Base.metadata.create_all(engine_for(url))
    return SQLTrackerStore.SQLEvent.__table__


def _add_events(url: str, sender_id: str, texts: list[str], timestamp: float) -> None:
    events = _rasa_events_table(url)
    with engine_for(url).begin() as connection:
        for message in texts:
            connection.execute(events.insert().values(
                sender_id=sender_id, type_name="user", timestamp=timestamp, intent_name="inform",
                data=json.dumps({"event": "user", "text": message, "timestamp": timestamp})))


def _events_of(url: str, sender_id: str) -> list[str]:
    with engine_for(url).connect() as connection:
        rows = connection.execute(text("SELECT data FROM events WHERE sender_id = :s"), {"s": sender_id})
        return list(rows.scalars())


def _demo(db: str) -> None:
    run_cli("import-policies", str(DEMO / "policies.yml"), database=db)
    run_cli("import-accounts", str(DEMO / "accounts.csv"), database=db)


def _second_account_for_jordan(db: str, tmp_path: Path) -> None:
    rows = (HEADER + "ACC-2001,ACME,Acme Mobile,Jordan Avery,1985-03-12,60614,+15551230001,,America/Chicago,USD,"
            "50.00,0,0,2026-10-01\n")
    run_cli("import-accounts", str(write(tmp_path / "second.csv", rows)), database=db)


def _broker(db: str):
    """Rasa's SQL event broker where the Rasa server puts it beside `db` (bot.rasa_server)."""
    import asyncio

    from rasa.core.brokers.broker import EventBroker

    from bot.config import event_broker_settings
    from bot.rasa_server import event_broker_endpoint

    return asyncio.run(EventBroker.create(event_broker_endpoint(event_broker_settings(db))))


def _broker_copies(db: str, conversation_id: str) -> int:
    from bot.config import event_broker_settings

    with engine_for(event_broker_settings(db).url).connect() as connection:
        return connection.execute(text("SELECT count(*) FROM events WHERE sender_id = :c"),
                                  {"c": conversation_id}).scalar()


def test_erase_removes_the_debtors_personal_data_and_keeps_the_books(db, tmp_path):
    from bot.services import cases, handoffs, sms

    _demo(db)
    _second_account_for_jordan(db, tmp_path)
    web, texts, other = (f"erase-{kind}-{uuid.uuid4().hex[:8]}" for kind in ("web", "sms", "other"))
    first_due = (datetime.now(UTC).date() + timedelta(days=14)).isoformat()  # `agree` works on today
    run_cli("agree", "ACC-1001", "plan", "--months", "6", "--date", first_due, "--tier", "agent",
            "--actor", "kim", "--conversation", web, database=db)
    in_transaction(cases.note_hardship, "ACC-1001", "I lost my job at the mill on 3 May 2026, call me on +15551239999",
                   web)
    in_transaction(cases.add_contact_points, "ACC-1001", [("phone", "+15551238888"), ("email", "jordan@home.example")],
                   web)
    in_transaction(cases.open_dispute, "ACC-2001", "wrong_amount", "my sister Jane Avery paid it", web)
    in_transaction(handoffs.open_handoff, web, "request_human", "ACC-1001", words="I'm Jordan, born 12 March 1985")
    with unit_of_work() as session:
        session.add(PhoneConversation(phone=JORDAN_PHONE, conversation_id=texts))
        session.add(OfferedChoices(conversation_id=web, payloads=["/affirm"]))
    in_transaction(sms.set_opt_out, JORDAN_PHONE, True, texts)
    from bot.services import identity
    in_locking_transaction(identity.verify, "ACC-1001", "1 January 1970", now=NOW, conversation_id=web,
                           client="ip:203.0.113.7")
    _add_events(db, web, ["ACC-1001", "12 March 1985", "I lost my job"], NOW.timestamp())
    _add_events(db, texts, ["03/12/1985", "STOP"], NOW.timestamp())
    _add_events(db, other, ["someone else's words"], NOW.timestamp())
    for conversation in (web, texts, other, other):  # the console's live feed keeps a copy of each event
        _broker(db).publish({"sender_id": conversation, "event": "user", "text": "I lost my job at the mill",
                             "timestamp": NOW.timestamp()})
    before = json.loads(run_cli("account", "ACC-1001", "--json", database=db).stdout)

    result = run_cli("erase", "acc-1001", "--actor", "dpo-alex", database=db)
    assert "ACC-1001, ACC-2001" in result.stdout  # the debtor's other account too, and it says so

    after = json.loads(run_cli("account", "ACC-1001", "--json", database=db).stdout)
    for kept in ("balance", "principal", "interest", "fees", "plans", "settlements", "promises", "status"):
        assert after[kept] == before[kept], kept
    assert after["plans"][0]["installments"] and after["plans"][0]["authorized_actor"] == "kim"
    assert after["debtor"]["name"] != "Jordan Avery"
    assert after.get("contact_points", []) == []
    second = json.loads(run_cli("account", "ACC-2001", "--json", database=db).stdout)
    assert second["disputes"][0]["reason"] == "wrong_amount" and second["balance"] == "50.00"

    everything = "\n".join(run_cli(*command, database=db).stdout for command in (
        ("audit", "ACC-1001"), ("audit", "ACC-2001"), ("account", "ACC-1001", "--json"),
        ("account", "ACC-2001", "--json")))
    for personal in ("5551230001", "5551239999", "5551238888", "jordan@home.example", "Jordan", "Avery", "1985",
                     "mill", "Jane", "60614"):
        assert personal not in everything, personal
    assert "personal_data_erased" in everything and "dpo-alex" in everything and "plan_agreed" in everything
    assert _events_of(db, web) == [] and _events_of(db, texts) == []
    assert _events_of(db, other)  # other conversations are untouched
    assert _broker_copies(db, web) == _broker_copies(db, texts) == 0 and _broker_copies(db, other) == 2
    with unit_of_work() as session:
        assert session.get(SmsConsent, JORDAN_PHONE).opted_out  # the opt-out outlives the record
        assert session.get(OfferedChoices, web) is None
        attempts = session.query(VerificationAttempt).all()  # the lock stays, who tried does not
        assert attempts and all(attempt.client is None for attempt in attempts)
        erased = [e for e in session.query(AuditEvent).filter_by(action="personal_data_erased")]
        assert {e.actor for e in erased} == {"dpo-alex"} and len(erased) == 2
    # the erased debtor can no longer be verified, whatever date is given
    from bot.services import identity

    for answer in ("1 January 1900", "12 March 1985"):
        outcome = in_locking_transaction(identity.verify, "ACC-1001", answer, now=NOW, conversation_id=web,
                                         client="ip:203.0.113.7").outcome
        assert outcome is not identity.Outcome.VERIFIED


def test_erase_of_an_unknown_reference_exits_3(db):
    result = run_cli("erase", "NOPE-1", database=db, check=False)
    assert result.returncode == 3 and one_line_error(result) == "no account with reference 'NOPE-1'"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_erase_and_purge_work_before_rasa_ever_ran(backend, tmp_path):
    """A database Rasa never served has no `events` table."""
    if backend == "sqlite":
        url, drop = f"sqlite:///{tmp_path / 'fresh.db'}", (lambda: engine_for(url).dispose())
    else:
        url, drop = create_postgres_database()
    try:
        run_cli("migrate", database=url)
        _demo(url)
        assert "ACC-1001" in run_cli("erase", "ACC-1001", database=url).stdout
        assert "purged 0 conversation event(s)" in run_cli("purge", "--days", "30", database=url).stdout
    finally:
        drop()


# ---- purge ----------------------------------------------------------------------------------------------------

def test_purge_deletes_conversation_texts_past_the_retention_and_says_what_first(db, monkeypatch):
    old, recent = (f"purge-{kind}-{uuid.uuid4().hex[:8]}" for kind in ("old", "recent"))
    long_ago = datetime(2025, 6, 1, tzinfo=UTC)
    _add_events(db, old, ["12 March 1985", "my number is +15551230001"], long_ago.timestamp())
    _add_events(db, recent, ["hello"], datetime(2026, 11, 20, tzinfo=UTC).timestamp())
    for conversation, moment in ((old, long_ago), (recent, NOW)):  # the console feed's copies
        _broker(db).publish({"sender_id": conversation, "event": "user", "text": "12 March 1985",
                             "timestamp": moment.timestamp()})
    with unit_of_work() as session:
        session.add_all([VerificationAttempt(reference="ACC-1001", client="ip:203.0.113.9", succeeded=False,
                                             attempted_at=long_ago),
                         VerificationAttempt(reference="ACC-1001", client="ip:203.0.113.9", succeeded=False,
                                             attempted_at=NOW),
                         OfferedChoices(conversation_id=old, payloads=["/affirm"], offered_at=long_ago)])
    with engine_for(db).connect() as connection:
        expected_events = connection.execute(text("SELECT count(*) FROM events WHERE timestamp < :t"),
                                             {"t": datetime(2025, 11, 23, 15, tzinfo=UTC).timestamp()}).scalar()
    assert expected_events >= 2

    monkeypatch.setenv("RETENTION_DAYS", "365")
    dry = run_cli("purge", "--dry-run", "--now", NOW.isoformat(), database=db)
    assert f"would delete {expected_events} conversation event(s), 1 verification attempt(s), 1 offered" in dry.stdout
    assert len(_events_of(db, old)) == 2  # nothing deleted

    done = run_cli("purge", "--now", NOW.isoformat(), "--actor", "ops-kim", database=db, check=False)
    assert done.returncode == 0, done.stderr
    assert f"purged {expected_events} conversation event(s)" in done.stdout
    assert _events_of(db, old) == [] and len(_events_of(db, recent)) == 1
    assert _broker_copies(db, old) == 0 and _broker_copies(db, recent) == 1
    with unit_of_work() as session:
        assert session.query(VerificationAttempt).count() == 1
        assert session.get(OfferedChoices, old) is None
        purged = session.query(AuditEvent).filter_by(action="conversations_purged").one()
        assert purged.actor == "ops-kim" and purged.details["counts"]["verification_attempts"] == 1


def test_purge_refuses_a_bad_retention(db, monkeypatch):
    monkeypatch.setenv("RETENTION_DAYS", "forever")
    result = run_cli("purge", database=db, check=False)
    assert result.returncode == 7 and "RETENTION_DAYS" in one_line_error(result)


# ---- over the real servers ----------------------------------------------------------------------------------

def _say(stack, sender: str, message: str) -> str:
    response = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": message},
                             timeout=60)
    assert response.status_code == 200, response.text
    return "\n".join(m.get("text", "") for m in response.json())


def _stored_events(db: str, sender: str) -> list[str]:
    """Rasa's rows of a conversation (the REST channel may namespace the sender it stores)."""
    with engine_for(db).connect() as connection:
        return list(connection.execute(text("SELECT data FROM events WHERE sender_id LIKE :s ORDER BY id"),
                                       {"s": f"%{sender}%"}).scalars())


def _holds_jordans_date_of_birth(row: str) -> bool:
    return holds_date_of_birth(row, "1985", "March")


def _log_sizes(backend: str) -> dict[Path, int]:
    return {path: path.stat().st_size for path in (ARTEFACTS / f"logs-{backend}").glob("*.log")}




