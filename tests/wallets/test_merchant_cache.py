"""Merchants cached on the reference-data generation (the auth path's booking reads them per request)."""

from __future__ import annotations

from sqlalchemy import text

from tests.wallets.conftest import M1


def _generation(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT gen FROM ref_generation WHERE id = 1")).scalar()


def test_merchant_cached_until_the_generation_moves(wallets, card):
    engine = wallets.engine
    wallets.generation = lambda: _generation(engine)
    assert wallets.purchase("p1", card, M1, "682", 1_000).ok
    # N8: suspending the merchant bumps the generation (trigger), so the next booking sees it at once.
    assert wallets.set_merchant_status(M1, "suspended", "chargebacks")
    assert wallets.purchase("p2", card, M1, "682", 1_000).status == "merchant_suspended"
    assert wallets.set_merchant_status(M1, "active")
    assert wallets.purchase("p3", card, M1, "682", 1_000).ok


def test_merchant_cache_serves_while_the_generation_stands(wallets, card):
    generation = [1]
    wallets.generation = lambda: generation[0]
    assert wallets.merchant(M1).active
    with wallets.engine.begin() as conn:  # a change the (frozen) generation does not tell about
        conn.execute(text("UPDATE merchants SET status = 'suspended' WHERE mid = :mid"), {"mid": M1})
    assert wallets.merchant(M1).active  # served from the cache
    generation[0] = 2
    assert wallets.merchant(M1).status == "suspended"
    wallets.generation = lambda: None  # no generation known: read every time
    assert wallets.merchant(M1).status == "suspended"
