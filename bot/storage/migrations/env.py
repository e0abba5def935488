"""Alembic environment: migrations run against the URL the caller configured."""
from alembic import context
from sqlalchemy import create_engine

from bot.storage.orm import Base

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url, "bot.storage.migrate.alembic_config sets sqlalchemy.url"
engine = create_engine(url, future=True)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=url.startswith("sqlite"),  # SQLite alters tables by copying them
        # Rasa's tracker store shares the database; its tables are not ours to migrate.
        include_name=lambda name, type_, _parent: type_ != "table" or name in Base.metadata.tables,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
