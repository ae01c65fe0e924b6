"""Wallet back-office tables (created by migration 0001_ledger_wallets; keep the two in step)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Index, Integer, String, Table, Text

from switch.store.base import metadata

merchants = Table(
    "merchants", metadata,
    Column("mid", String(15), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("mcc", String(4), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),  # active, suspended, closed, written_off
    Column("flags", String(200), nullable=False),  # comma-separated merchant flags (B13)
    Column("contract", String(40), nullable=False),
    Column("pos_devices", Integer, nullable=False),
    Column("calendar", String(40), nullable=False),
    Column("payout_delay_days", Integer, nullable=False),
    Column("status_reason", String(200), nullable=False),
    Column("dormancy_notice_on", Date, nullable=True),
    Column("opened_on", Date, nullable=True),
)

# One row per card event (client id = key): the stored answer of an idempotent request.
events = Table(
    "wallet_events", metadata,
    Column("key", String(96), primary_key=True),
    Column("kind", String(24), nullable=False),
    Column("outcome", String(24), nullable=False),
    Column("state", String(16), nullable=False),  # held, captured, booked, voided, reversed, expired
    Column("mid", String(15), nullable=True),
    Column("tid", String(16), nullable=True),
    Column("currency", String(3), nullable=True),
    Column("card_account", BigInteger, nullable=True),
    Column("amount", BigInteger, nullable=False),
    Column("fee", BigInteger, nullable=False),
    Column("transfer_id", BigInteger, nullable=True),
    Column("original_key", String(96), nullable=True),
    Column("batch_id", String(40), nullable=True),
    Column("settlement_id", String(40), nullable=True),
    Column("created_ns", BigInteger, nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_wallet_events_tid_batch", "tid", "batch_id"),
    Index("ix_wallet_events_mid_settlement", "mid", "settlement_id"),
)

payouts = Table(
    "wallet_payouts", metadata,
    Column("id", String(64), primary_key=True),
    Column("mid", String(15), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("transfer_id", BigInteger, nullable=False),
    Column("scheduled_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("status", String(16), nullable=False),  # scheduled, paid, held, cancelled
    Column("paid_on", Date, nullable=True),
    Index("ix_wallet_payouts_status_due", "status", "due_on"),
)
