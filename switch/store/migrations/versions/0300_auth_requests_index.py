"""Drop ix_auth_requests_tid_stan: the unique key (tid, stan, mti_class, f7) starts with the same columns
and serves every lookup by terminal and STAN (the duplicate check, reversals and completions finding
their original). One index fewer to write per authorisation, and fewer pages per group commit.

Revision ID: 0300_auth_requests_index
Revises: 0200_ref_generation
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0300_auth_requests_index"
down_revision = "0200_ref_generation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_auth_requests_tid_stan", "auth_requests")


def downgrade() -> None:
    op.create_index("ix_auth_requests_tid_stan", "auth_requests", ["tid", "stan"])
