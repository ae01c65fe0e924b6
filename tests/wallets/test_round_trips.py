"""PostgreSQL: a new booking's first attempt reads neither its event key nor its transfer ids (each read
is a round trip); a key stored already still gets its stored answer, through the insert's clash and the
ledger's careful retry."""

from __future__ import annotations

from switch.ledger import audit
from switch.ledger.unit import RawSQL

from .conftest import M1


def _reads(monkeypatch) -> list[str]:
    seen: list[str] = []
    original = RawSQL.rows

    def rows(self, sql, params=(), conn=None):
        seen.append(sql)
        return original(self, sql, params, conn)
    monkeypatch.setattr(RawSQL, "rows", rows)
    return seen


def test_a_new_booking_reads_no_key_and_no_transfer_ids(wallets, card, monkeypatch):
    reads = _reads(monkeypatch)
    assert wallets.purchase("POS00001:000001:1126100000:0200", card, M1, "682", 10_000, tid="POS00001").ok
    key_reads = [s for s in reads if "FROM wallet_events" in s or "FROM ledger_transfers" in s]
    if wallets.engine.dialect.name == "postgresql":
        assert key_reads == []
    else:  # SQLite outside a request job: the careful path, one writer at a time
        assert key_reads


def test_a_stored_key_still_answers_its_outcome(wallets, card, monkeypatch):
    """The stored refusal stands even when the funds would now cover it: the first attempt books, its
    event insert clashes, and the retry finds the key (B3; idempotent on the key)."""
    key = "POS00001:000002:1126100000:0200"
    assert wallets.purchase(key, card, M1, "682", 100_001).status == "insufficient_funds"
    wallets.fund_card("topup-1", card, "682", 50_000)
    again = wallets.purchase(key, card, M1, "682", 100_001)
    assert again.status == "insufficient_funds" and again.duplicate
    booked = wallets.purchase("POS00001:000003:1126100000:0200", card, M1, "682", 500)
    assert wallets.purchase("POS00001:000003:1126100000:0200", card, M1, "682", 500).duplicate
    assert booked.ok and wallets.card_balance(card) == (149_500, 149_500)
    assert audit(wallets.engine) == []
