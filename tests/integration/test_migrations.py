"""The migrations build exactly the schema the models describe, and the console's and the calls' migrations go both
ways."""
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from bot.storage.db import engine_for
from bot.storage.migrate import alembic_config
from bot.storage.orm import Base

CONSOLE_TABLES = {"agents", "agent_tokens", "console_sessions", "login_attempts", "approval_requests",
                  "staff_notes", "console_offers"}



def test_head_is_the_models_schema_and_the_console_migration_goes_down_and_up(fresh_database):
    config = alembic_config(fresh_database)
    command.upgrade(config, "head")
    engine = engine_for(fresh_database)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    command.downgrade(config, "0003")
    tables = set(inspect(engine).get_table_names())
    assert not tables & CONSOLE_TABLES
    assert "requested_by" not in {column["name"] for column in inspect(engine).get_columns("plans")}
    command.upgrade(config, "head")
    assert CONSOLE_TABLES <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_the_calls_migration_keeps_the_attempts_recorded_before_it(fresh_database):
    """Calls were counted from audit events before 0005: they become calls, so the 7-in-7 rule still sees them."""
    config = alembic_config(fresh_database)
    command.upgrade(config, "0004")
    engine = engine_for(fresh_database)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO creditors (id, name, policy, created_at, updated_at)"
            " VALUES ('C', 'Creditor', '{}', '2026-11-01 00:00:00', '2026-11-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO debtors (id, name, date_of_birth, postcode, timezone, created_at)"
            " VALUES (1, 'D', '1980-01-01', '', 'America/Chicago', '2026-11-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO accounts (id, account_ref, creditor_id, debtor_id, original_creditor, currency,"
            " principal_minor, interest_minor, fees_minor, paid_minor, status, placed_on, validation_ends_on,"
            " created_at, updated_at) VALUES (1, 'A-1', 'C', 1, 'O', 'USD', 100, 0, 0, 0, 'open', '2026-11-01',"
            " '2026-12-01', '2026-11-01 00:00:00', '2026-11-01 00:00:00')"))
        for action, at in (("call_attempted", "2026-11-20 15:00:00"), ("phone_conversation", "2026-11-21 15:00:00"),
                           ("balance_disclosed", "2026-11-21 16:00:00")):
            connection.execute(text(
                "INSERT INTO audit_events (occurred_at, actor, action, account_id, details)"
                " VALUES (:at, 'ana', :action, 1, '{}')"), {"at": at, "action": action})
    command.upgrade(config, "head")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT agent, outcome FROM calls ORDER BY started_at")).all()
    assert [tuple(row) for row in rows] == [("ana", None), ("ana", "conversation")]
    command.downgrade(config, "0004")
    assert "calls" not in set(inspect(engine).get_table_names())
    engine.dispose()
