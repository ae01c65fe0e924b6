"""Merchant wallets and card events on the ledger (switch.ledger): the chart of accounts, idempotent card
events for the authorisation pipeline, merchant contracts, settlement, payouts, statements.

Every card event takes a client key (e.g. "TERM0001:000123:1126212830:02" from terminal, STAN, field 7
and MTI class) and books in one database transaction together with its stored answer; the same key
again returns that answer with `duplicate=True` and books nothing (a different request under a used key
answers `duplicate_mismatch`). Outcome.status -> suggested field 39 (outcome.RESPONSE_CODES):
ok 00, insufficient_funds 51, not_found 25, invalid 12, expired 12, no_account 14, merchant_unknown 03,
merchant_suspended 05, duplicate_mismatch 94, error 96.

Money flows (one ledger per currency, see chart.py):
- purchase / cash: card -> merchant unsettled; MDR fee unsettled -> fee income at once (N3, B11).
- hold: pending card -> unsettled (expires); capture posts it in full or part (+ fee); reversal voids.
- reversal of a booked sale: back to the card with the fee, from unsettled; if already settled, from the
  available wallet, shortfall to the receivable (N7).
- refund, chargeback (N13), fees (N4), clawback (N14): from the available wallet, shortfall to the
  receivable; settlement moves unsettled -> receivable first (recovery of debt, N7) then -> available.
- payouts: available -> settlement bank, reserved when scheduled, paid on a business day within 10 (N9),
  held while the merchant is suspended (N8).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from switch.wallets.audit import audit_wallets
from switch.wallets.backoffice import Reconciliation
from switch.wallets.chart import Code, Kind, card_account_id, merchant_account_id, system_account_id
from switch.wallets.interchange import Interchange
from switch.wallets.merchants import load_merchant_fixtures, read_merchant_fixtures
from switch.wallets.outcome import RESPONSE_CODES, Outcome
from switch.wallets.service import Merchant
from switch.wallets.statements import build_statement, cycle_bounds, statement_csv


class Wallets(Interchange):
    """All wallet operations on one engine. Thread-safe; synchronous (call from worker threads)."""

    def statement(self, mid: str, cur: str, date_from: dt.date, date_to: dt.date) -> dict:
        """{"mid", "currency", "from", "to", "opening", "closing", "lines"}; closing = opening + lines."""
        return build_statement(self.engine, mid, cur, date_from, date_to)

    def cycle_statement(self, mid: str, cur: str, day: dt.date) -> dict:
        """The monthly statement of the billing cycle (26th to 26th, N5) containing `day`."""
        return self.statement(mid, cur, *cycle_bounds(day))


def merchant_wallets(engine: Engine, mid: str) -> list[dict]:
    """[{"mid", "currency", "available", "unsettled", "receivable"}] in minor units (web portal, CLI)."""
    return [{"mid": mid, **w} for w in Wallets(engine).merchant_wallets(mid)]


def statement(engine: Engine, mid: str, date_from: dt.date | None = None, date_to: dt.date | None = None) -> list[dict]:
    """Statement lines of every currency of the merchant (default: the current billing cycle)."""
    w = Wallets(engine)
    start, end = cycle_bounds(dt.date.today())
    lines = []
    for cur in w.merchant_currencies(mid):
        st = w.statement(mid, cur, date_from or start, date_to or end)
        lines += [{"currency": cur, **line} for line in st["lines"]]
    return lines


__all__ = [
    "RESPONSE_CODES", "Code", "Kind", "audit_wallets", "Merchant", "Outcome", "Reconciliation", "Wallets", "card_account_id",
    "cycle_bounds", "load_merchant_fixtures", "merchant_account_id", "merchant_wallets", "read_merchant_fixtures",
    "statement", "statement_csv", "system_account_id",
]
