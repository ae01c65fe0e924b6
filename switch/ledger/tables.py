"""Ledger tables (created by migration 0001_ledger_wallets; keep the two in step)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, SmallInteger, Table

from switch.store.base import metadata

accounts = Table(
    "ledger_accounts", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("ledger", Integer, nullable=False),
    Column("code", Integer, nullable=False),
    Column("flags", Integer, nullable=False),
    Column("debits_pending", BigInteger, nullable=False),
    Column("debits_posted", BigInteger, nullable=False),
    Column("credits_pending", BigInteger, nullable=False),
    Column("credits_posted", BigInteger, nullable=False),
    Column("user_data_64", BigInteger, nullable=False),
    Column("user_data_32", Integer, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
)

# Immutable: a row is never updated nor deleted once inserted.
transfers = Table(
    "ledger_transfers", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("debit_account_id", BigInteger, nullable=False),
    Column("credit_account_id", BigInteger, nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("pending_id", BigInteger, nullable=False),
    Column("user_data_64", BigInteger, nullable=False),
    Column("user_data_32", Integer, nullable=False),
    Column("timeout", Integer, nullable=False),
    Column("ledger", Integer, nullable=False),
    Column("code", Integer, nullable=False),
    Column("flags", Integer, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Index("ix_ledger_transfers_debit", "debit_account_id", "timestamp"),
    Index("ix_ledger_transfers_credit", "credit_account_id", "timestamp"),
)

# The mutable state of each pending transfer: 1 pending, 2 posted, 3 voided, 4 expired.
pending = Table(
    "ledger_pending", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("status", SmallInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),  # ns since epoch; NULL = never
    Index("ix_ledger_pending_status_expires", "status", "expires_at"),
)
