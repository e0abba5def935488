"""The migrations build exactly the schema the models describe, and the console's migration goes both ways."""
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

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
