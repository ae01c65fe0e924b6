"""Reference-data generation: a counter that every change to cards, terminals, merchants, issuers, BIN
ranges or products bumps (database triggers, so the CLI, the back office, fixtures loading, another
switch process and plain SQL are all seen). Switch processes cache that reference data in memory and
drop the cache when the counter moved (switch/issuer/refcache.py).

Revision ID: 0200_ref_generation
Revises: 0100_issuer_auth
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0200_ref_generation"
down_revision = "0100_issuer_auth"
branch_labels = None
depends_on = None

TABLES = ("iss_cards", "iss_terminals", "merchants", "iss_issuers", "iss_bin_ranges", "iss_products")
BUMP = "UPDATE ref_generation SET gen = gen + 1 WHERE id = 1"


def upgrade() -> None:
    op.create_table("ref_generation", sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("gen", sa.BigInteger, nullable=False))
    op.execute("INSERT INTO ref_generation (id, gen) VALUES (1, 0)")
    if op.get_context().dialect.name == "postgresql":
        op.execute("CREATE FUNCTION acqsim_bump_ref_generation() RETURNS trigger LANGUAGE plpgsql AS "
                   f"$$ BEGIN {BUMP}; RETURN NULL; END $$")
        for table in TABLES:
            op.execute(f"CREATE TRIGGER trg_{table}_refgen AFTER INSERT OR UPDATE OR DELETE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION acqsim_bump_ref_generation()")
        return
    for table in TABLES:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER trg_{table}_refgen_{event.lower()} AFTER {event} ON {table} "
                       f"BEGIN {BUMP}; END")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_refgen ON {table}")
        op.execute("DROP FUNCTION IF EXISTS acqsim_bump_ref_generation()")
    else:
        for table in TABLES:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_refgen_{event}")
    op.drop_table("ref_generation")
