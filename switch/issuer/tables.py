"""Issuer-side tables (SQLAlchemy Core). Created by the migration `issuer_0001_cards_terminals_auth`.

Nothing here holds a clear PAN, PIN, track or CVV (Q2): PANs are AES-GCM ciphertext plus a keyed hash,
issuer keys are cryptograms under the HSM's LMK.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from switch.store.base import metadata  # shared MetaData (ledger helper's store)

issuers = Table(
    "iss_issuers", metadata,
    Column("issuer_id", String(32), primary_key=True),
    Column("name", String(80), nullable=False),
    Column("kind", String(8), nullable=False),  # local | remote
    # Keys under the LMK (never clear): card verification, PIN verification, EMV issuer master key for AC.
    Column("cvk", String(64)),
    Column("pvk", String(64)),
    Column("imk_ac", String(64)),
    Column("pvki", String(1)),
    Column("dec_table", String(16)),
    Column("route", Text),  # JSON {host, port, dialect, framing, timeout} for remote issuers
)

bin_ranges = Table(
    "iss_bin_ranges", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("low", String(19), nullable=False),  # prefixes of equal length; PAN[:len(low)] in [low, high]
    Column("high", String(19), nullable=False),
    Column("issuer_id", String(32), nullable=False),
    Column("product", String(32), nullable=False),
)

products = Table(
    "iss_products", metadata,
    Column("code", String(32), primary_key=True),
    Column("issuer_id", String(32), nullable=False),
    Column("scheme", String(16), nullable=False),  # visa | mastercard (ARQC method)
    Column("pin_method", String(8), nullable=False),  # pvv | ibm
    Column("name", String(80)),
)

cards = Table(
    "iss_cards", metadata,
    Column("card_id", Integer, primary_key=True, autoincrement=True),
    Column("pan_hash", String(64), nullable=False),
    Column("pan_enc", Text, nullable=False),
    Column("pan_masked", String(19), nullable=False),
    Column("issuer_id", String(32), nullable=False),
    Column("product", String(32), nullable=False),
    Column("expiry", String(4), nullable=False),  # YYMM
    Column("service_code", String(3), nullable=False),
    Column("psn", String(2), nullable=False, default="00"),
    Column("pvv", String(4)),  # Visa PVV (pin_method pvv)
    Column("pin_offset", String(12)),  # IBM 3624 offset (pin_method ibm)
    Column("status", String(8), nullable=False, default="active"),  # active blocked lost stolen expired
    Column("status_reason", String(80)),
    Column("pin_tries", Integer, nullable=False, default=0),
    # The keyed digest of the request that counted the last wrong PIN: the same request checked again by
    # another switch process does not count a second try (B5).
    Column("pin_try_key", String(64)),
    Column("account_id", String(40), nullable=False),  # cardholder account (ledger side)
    Column("currency", String(3), nullable=False),
    Column("kyc_level", String(16), nullable=False, default="unverified"),  # B4 / N15 segment
    Column("limits", Text),  # JSON overrides set by `acqsim card limits`
    Column("cardholder", String(80)),
    Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
    UniqueConstraint("pan_hash", name="uq_iss_cards_pan_hash"),
)

terminals = Table(
    "iss_terminals", metadata,
    Column("tid", String(8), primary_key=True),
    Column("mid", String(15), nullable=False),
    Column("kind", String(3), nullable=False),  # pos | atm
    Column("currency", String(3), nullable=False),
    Column("status", String(8), nullable=False, default="active"),
    Column("mac_required", Boolean, nullable=False, default=False),
    # Terminal keys under the LMK; the clear test values live only in fixtures/keys.
    Column("tmk", String(64)),
    Column("tpk", String(64)),
    Column("tak", String(64)),
    Column("bdk", String(64)),
    Column("pin_format", String(2), nullable=False, default="01"),
)

usage = Table(
    "iss_card_usage", metadata,
    # Per-card counters for amount/count limits (N15); one row per card, category and period.
    Column("card_id", Integer, primary_key=True),
    Column("category", String(12), primary_key=True),
    Column("period", String(12), primary_key=True),  # D20261126 / M202611
    Column("amount", BigInteger, nullable=False, default=0),
    Column("count", Integer, nullable=False, default=0),
)

auth_log = Table(
    "auth_requests", metadata,
    # One row per answered request: duplicate detection (stored answer / 94) and reversal matching (f90).
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tid", String(8), nullable=False),
    Column("stan", String(6), nullable=False),
    Column("mti_class", String(4), nullable=False),  # 0100 0200 0220 0400 0420 (repeat bit cleared)
    Column("f7", String(10), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("response", Text, nullable=False),  # JSON of response fields (no card data)
    Column("card_id", Integer),
    Column("mid", String(15)),
    Column("proc", String(6)),
    Column("amount", BigInteger),
    Column("currency", String(3)),
    Column("rc", String(2)),
    Column("txn_ref", String(64)),  # ledger client id of the booking
    Column("state", String(12)),  # approved held captured reversed part_reversed refunded declined
    Column("reversed_amount", BigInteger, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Off-us requests (a remote issuer's card, no card row here): that issuer and the PAN (AES-GCM), so a
    # completion or reversal that carries no PAN still reaches the issuer, and one that does is checked.
    Column("issuer_id", String(32)),
    Column("pan_enc", Text, info={"pci": "aes-gcm"}),
    Column("pan_masked", String(19), info={"pci": "masked"}),  # 6+4, for the transaction lists
    UniqueConstraint("tid", "stan", "mti_class", "f7", name="uq_auth_requests_key"),  # also the (tid, stan) index
)

remote_reversals = Table(
    "auth_remote_reversals", metadata,
    # Reversals owed to a remote issuer after a timeout; retried until the issuer acknowledges.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("issuer_id", String(32), nullable=False),
    Column("message", Text, nullable=False),  # AES-GCM ciphertext of the 0420 JSON (it carries a PAN)
    Column("attempts", Integer, nullable=False, default=0),
    Column("acknowledged", Boolean, nullable=False, default=False),
    Column("last_error", String(120)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
