"""Alembic environment: always driven programmatically by switch.store.upgrade with a live connection."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through switch.store.upgrade(engine)")

context.configure(
    connection=connection,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs go through table copies
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
