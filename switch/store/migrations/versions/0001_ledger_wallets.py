"""Ledger (accounts, transfers, pending state), merchants, wallet events and payouts.

Revision ID: 0001_ledger_wallets
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_ledger_wallets"
down_revision = None
branch_labels = None
depends_on = None

BIG = sa.BigInteger


def _ledger() -> None:
    op.create_table(
        "ledger_accounts",
        sa.Column("id", BIG, primary_key=True, autoincrement=False),
        *[sa.Column(n, sa.Integer, nullable=False) for n in ("ledger", "code", "flags")],
        *[sa.Column(n, BIG, nullable=False)
          for n in ("debits_pending", "debits_posted", "credits_pending", "credits_posted", "user_data_64")],
        sa.Column("user_data_32", sa.Integer, nullable=False),
        sa.Column("timestamp", BIG, nullable=False),
    )
    op.create_table(
        "ledger_transfers",
        sa.Column("id", BIG, primary_key=True, autoincrement=False),
        *[sa.Column(n, BIG, nullable=False)
          for n in ("debit_account_id", "credit_account_id", "amount", "pending_id", "user_data_64")],
        *[sa.Column(n, sa.Integer, nullable=False) for n in ("user_data_32", "timeout", "ledger", "code", "flags")],
        sa.Column("timestamp", BIG, nullable=False),
    )
    op.create_index("ix_ledger_transfers_debit", "ledger_transfers", ["debit_account_id", "timestamp"])
    op.create_index("ix_ledger_transfers_credit", "ledger_transfers", ["credit_account_id", "timestamp"])
    op.create_table(
        "ledger_pending",
        sa.Column("id", BIG, primary_key=True, autoincrement=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("expires_at", BIG, nullable=True),
    )
    op.create_index("ix_ledger_pending_status_expires", "ledger_pending", ["status", "expires_at"])


def _wallets() -> None:
    op.create_table(
        "merchants",
        sa.Column("mid", sa.String(15), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("mcc", sa.String(4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("flags", sa.String(200), nullable=False),
        sa.Column("contract", sa.String(40), nullable=False),
        sa.Column("pos_devices", sa.Integer, nullable=False),
        sa.Column("calendar", sa.String(40), nullable=False),
        sa.Column("payout_delay_days", sa.Integer, nullable=False),
        sa.Column("status_reason", sa.String(200), nullable=False),
        sa.Column("dormancy_notice_on", sa.Date, nullable=True),
        sa.Column("opened_on", sa.Date, nullable=True),
    )
    op.create_table(
        "wallet_events",
        sa.Column("key", sa.String(96), primary_key=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("mid", sa.String(15), nullable=True),
        sa.Column("tid", sa.String(16), nullable=True),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("card_account", BIG, nullable=True),
        sa.Column("amount", BIG, nullable=False),
        sa.Column("fee", BIG, nullable=False),
        sa.Column("transfer_id", BIG, nullable=True),
        sa.Column("original_key", sa.String(96), nullable=True),
        sa.Column("batch_id", sa.String(40), nullable=True),
        sa.Column("settlement_id", sa.String(40), nullable=True),
        sa.Column("created_ns", BIG, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_wallet_events_tid_batch", "wallet_events", ["tid", "batch_id"])
    op.create_index("ix_wallet_events_mid_settlement", "wallet_events", ["mid", "settlement_id"])
    op.create_table(
        "wallet_payouts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("mid", sa.String(15), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount", BIG, nullable=False),
        sa.Column("transfer_id", BIG, nullable=False),
        sa.Column("scheduled_on", sa.Date, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("paid_on", sa.Date, nullable=True),
    )
    op.create_index("ix_wallet_payouts_status_due", "wallet_payouts", ["status", "due_on"])


def upgrade() -> None:
    _ledger()
    _wallets()


def downgrade() -> None:
    for table in ("wallet_payouts", "wallet_events", "merchants", "ledger_pending", "ledger_transfers",
                  "ledger_accounts"):
        op.drop_table(table)
