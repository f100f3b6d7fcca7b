"""Alembic's environment for Casewise: always called from `casewise.migrations`, which hands over a connection
already inside the locked migration transaction (there is no alembic.ini and no URL here)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `casewise db upgrade` (casewise.migrations.upgrade), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=context.config.attributes.get("target_metadata"),  # the store's models, for autogenerate
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
