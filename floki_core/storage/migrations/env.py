"""Alembic environment: the engine is handed in by ``Database.migrate``."""

from alembic import context

from floki_core.storage.schema import METADATA

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
