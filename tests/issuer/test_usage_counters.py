"""Limit counters (N15): one UPDATE for all periods, rows created on a card's first use in a period."""

from __future__ import annotations

import pytest

from switch.issuer.pan import PanVault
from switch.issuer.store import IssuerStore


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request):
    """SQLite, and PostgreSQL in its own schema (skipped, saying so, without ACQSIM_TEST_PG_URL)."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_engine")
    from switch.store import open_database

    url = request.getfixturevalue("pg_url")
    eng = open_database(url, schema=request.getfixturevalue("pg_schema"))
    request.addfinalizer(eng.dispose)
    return eng


def store(engine) -> IssuerStore:
    return IssuerStore(engine, PanVault(bytes(32)))


def test_counters_start_add_and_roll_to_a_new_day(engine):
    s = store(engine)
    s.add_usage(7, "purchase", ["D20261126", "M202611"], 1000)
    s.add_usage(7, "purchase", ["D20261126", "M202611"], 500)
    assert s.usage(7, "purchase", ["D20261126", "M202611"]) == {"D20261126": (1500, 2), "M202611": (1500, 2)}
    s.add_usage(7, "purchase", ["D20261127", "M202611"], 200)  # a new day, the same month
    assert s.usage(7, "purchase", ["D20261127", "M202611"]) == {"D20261127": (200, 1), "M202611": (1700, 3)}
    assert s.usage(7, "purchase", ["D20261126"]) == {"D20261126": (1500, 2)}
    assert s.usage(7, "cash", ["D20261126", "M202611"]) == {}  # other categories and cards untouched
    assert s.usage(8, "purchase", ["D20261126", "M202611"]) == {}


def test_reversal_takes_back_and_never_counts_below_zero(engine):
    s = store(engine)
    s.add_usage(7, "purchase", ["D20261126", "M202611"], 1000)
    s.add_usage(7, "purchase", ["D20261126", "M202611"], -1000, -1)
    s.add_usage(7, "purchase", ["D20261126", "M202611"], 0, -1)
    assert s.usage(7, "purchase", ["D20261126", "M202611"]) == {"D20261126": (0, 0), "M202611": (0, 0)}
    s.add_usage(7, "purchase", ["D20261201", "M202612"], -300, -1)  # first row of a period: floored at 0
    assert s.usage(7, "purchase", ["D20261201", "M202612"]) == {"D20261201": (0, 0), "M202612": (0, 0)}


def test_no_periods_is_a_no_op(engine):
    s = store(engine)
    s.add_usage(7, "purchase", [], 1000)
    assert s.usage(7, "purchase", []) == {}


def test_take_counts_at_once_and_returns_the_totals_before(engine):
    """N15: the limit check reads the totals before this request from the same statement that counts it."""
    from switch.issuer.store import add_usage_in, take_usage_in
    from switch.ledger import unit

    s = store(engine)
    days = ["D20261126", "M202611"]
    with unit.begin(engine) as conn:
        assert take_usage_in(conn, 7, "purchase", days, 1000) == {"D20261126": (0, 0), "M202611": (0, 0)}
    s.add_usage(7, "purchase", ["D20261127", "M202611"], 300)  # another day of the same month
    with unit.begin(engine) as conn:
        before = take_usage_in(conn, 7, "purchase", days, 250)
        assert before == {"D20261126": (1000, 1), "M202611": (1300, 2)}
        add_usage_in(conn, 7, "purchase", days, -250, -1)  # declined after all: given back
    assert s.usage(7, "purchase", days) == {"D20261126": (1000, 1), "M202611": (1300, 2)}
    with unit.begin(engine) as conn:
        assert take_usage_in(conn, 7, "purchase", [], 5) == {}
