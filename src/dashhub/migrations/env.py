"""Alembic environment: runs the migrations on the engine handed over in the configuration."""

from __future__ import annotations

from alembic import context

from dashhub.db import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    raise RuntimeError("dashhub migrations run through dashhub.migrations.upgrade(engine) (or dashhub init)")

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
