"""Issuer simulation (issuers, BIN ranges, products, cards, terminals, limit counters) and the
authorisation journal (duplicate detection, reversal matching, remote-issuer reversal queue).

Revision ID: 0100_issuer_auth
Revises: 0001_ledger_wallets
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0100_issuer_auth"
down_revision = "0001_ledger_wallets"
branch_labels = None
depends_on = None

S = sa.String
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "iss_issuers",
        sa.Column("issuer_id", S(32), primary_key=True), sa.Column("name", S(80), nullable=False),
        sa.Column("kind", S(8), nullable=False),
        *[sa.Column(n, S(64)) for n in ("cvk", "pvk", "imk_ac")],
        sa.Column("pvki", S(1)), sa.Column("dec_table", S(16)), sa.Column("route", sa.Text),
    )
    op.create_table(
        "iss_bin_ranges",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("low", S(19), nullable=False), sa.Column("high", S(19), nullable=False),
        sa.Column("issuer_id", S(32), nullable=False), sa.Column("product", S(32), nullable=False),
    )
    op.create_table(
        "iss_products",
        sa.Column("code", S(32), primary_key=True), sa.Column("issuer_id", S(32), nullable=False),
        sa.Column("scheme", S(16), nullable=False), sa.Column("pin_method", S(8), nullable=False),
        sa.Column("name", S(80)),
    )
    op.create_table(
        "iss_cards",
        sa.Column("card_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("pan_hash", S(64), nullable=False), sa.Column("pan_enc", sa.Text, nullable=False),
        sa.Column("pan_masked", S(19), nullable=False), sa.Column("issuer_id", S(32), nullable=False),
        sa.Column("product", S(32), nullable=False), sa.Column("expiry", S(4), nullable=False),
        sa.Column("service_code", S(3), nullable=False), sa.Column("psn", S(2), nullable=False),
        sa.Column("pvv", S(4)), sa.Column("pin_offset", S(12)),
        sa.Column("status", S(8), nullable=False), sa.Column("status_reason", S(80)),
        sa.Column("pin_tries", sa.Integer, nullable=False), sa.Column("account_id", S(40), nullable=False),
        sa.Column("currency", S(3), nullable=False), sa.Column("kyc_level", S(16), nullable=False),
        sa.Column("limits", sa.Text), sa.Column("cardholder", S(80)),
        sa.Column("created_at", TS), sa.Column("updated_at", TS),
        sa.UniqueConstraint("pan_hash", name="uq_iss_cards_pan_hash"),
    )
    op.create_table(
        "iss_terminals",
        sa.Column("tid", S(8), primary_key=True), sa.Column("mid", S(15), nullable=False),
        sa.Column("kind", S(3), nullable=False), sa.Column("currency", S(3), nullable=False),
        sa.Column("status", S(8), nullable=False), sa.Column("mac_required", sa.Boolean, nullable=False),
        *[sa.Column(n, S(64)) for n in ("tmk", "tpk", "tak", "bdk")],
        sa.Column("pin_format", S(2), nullable=False),
    )
    op.create_table(
        "iss_card_usage",
        sa.Column("card_id", sa.Integer, primary_key=True), sa.Column("category", S(12), primary_key=True),
        sa.Column("period", S(12), primary_key=True),
        sa.Column("amount", sa.BigInteger, nullable=False), sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_table(
        "auth_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tid", S(8), nullable=False), sa.Column("stan", S(6), nullable=False),
        sa.Column("mti_class", S(4), nullable=False), sa.Column("f7", S(10), nullable=False),
        sa.Column("digest", S(64), nullable=False), sa.Column("response", sa.Text, nullable=False),
        sa.Column("card_id", sa.Integer), sa.Column("mid", S(15)), sa.Column("proc", S(6)),
        sa.Column("amount", sa.BigInteger), sa.Column("currency", S(3)), sa.Column("rc", S(2)),
        sa.Column("txn_ref", S(64)), sa.Column("state", S(12)),
        sa.Column("reversed_amount", sa.BigInteger, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("tid", "stan", "mti_class", "f7", name="uq_auth_requests_key"),
    )
    op.create_index("ix_auth_requests_tid_stan", "auth_requests", ["tid", "stan"])
    op.create_table(
        "auth_remote_reversals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("issuer_id", S(32), nullable=False), sa.Column("message", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False), sa.Column("acknowledged", sa.Boolean, nullable=False),
        sa.Column("last_error", S(120)), sa.Column("created_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_index("ix_auth_requests_tid_stan", "auth_requests")
    for name in ("auth_remote_reversals", "auth_requests", "iss_card_usage", "iss_terminals", "iss_cards",
                 "iss_products", "iss_bin_ranges", "iss_issuers"):
        op.drop_table(name)
