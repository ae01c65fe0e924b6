"""iss_cards.pin_try_key: the keyed digest of the request that counted the last wrong PIN, so the same
request checked by two switch processes counts one try (B5).

Revision ID: 0500_card_pin_try_key
Revises: 0400_auth_requests_offus
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0500_card_pin_try_key"
down_revision = "0400_auth_requests_offus"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("iss_cards", sa.Column("pin_try_key", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("iss_cards") as batch:
        batch.drop_column("pin_try_key")
