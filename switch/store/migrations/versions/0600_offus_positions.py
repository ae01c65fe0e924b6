"""Off-us: the journal's masked PAN of an off-us request (transaction lists), and the interchange accounts
(codes 700 and 701) as signed positions: without their balance limits, a sale reversed or charged back
after the scheme settled it (or a refund voided after that) books what is now owed the other way.

Revision ID: 0600_offus_positions
Revises: 0500_card_pin_try_key
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0600_offus_positions"
down_revision = "0500_card_pin_try_key"
branch_labels = None
depends_on = None

_LIMITS = 2 | 4  # debits must not exceed credits, credits must not exceed debits (AccountFlags)


def upgrade() -> None:
    op.add_column("auth_requests", sa.Column("pan_masked", sa.String(19)))
    op.execute(f"UPDATE ledger_accounts SET flags = flags & ~{_LIMITS} WHERE code IN (700, 701)")


def downgrade() -> None:
    with op.batch_alter_table("auth_requests") as batch:
        batch.drop_column("pan_masked")
