"""auth_requests: the remote issuer and the encrypted PAN of an off-us request (a remote issuer's card
has no card row here), so its completion or reversal reaches that issuer even when it carries no PAN.

Revision ID: 0400_auth_requests_offus
Revises: 0300_auth_requests_index
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0400_auth_requests_offus"
down_revision = "0300_auth_requests_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("auth_requests", sa.Column("issuer_id", sa.String(32)))
    op.add_column("auth_requests", sa.Column("pan_enc", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("auth_requests") as batch:
        batch.drop_column("pan_enc")
        batch.drop_column("issuer_id")
