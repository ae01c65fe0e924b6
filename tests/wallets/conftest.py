"""Wallet fixtures on top of tests/conftest.py's `engine` (SQLite, and PostgreSQL when
ACQSIM_TEST_PG_URL is set)."""

from __future__ import annotations

import os

import pytest

PG_URL = os.environ.get("ACQSIM_TEST_PG_URL")


M1 = "000000000000001"  # active retail, standard contract
ATM = "000000000000002"
SUSPENDED = "000000000000003"
M5 = "000000000000005"  # premium contract
IQD_M = "000000000000006"


class Clock:
    """A settable ledger clock (ns since epoch)."""

    def __init__(self, when: str = "2026-11-26T10:00:00+00:00") -> None:
        import datetime as dt
        self.now = int(dt.datetime.fromisoformat(when).timestamp()) * 10**9

    def __call__(self) -> int:
        self.now += 1000
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += int(seconds * 10**9)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def wallets(engine, clock):
    import datetime as dt

    from switch.wallets import Wallets, load_merchant_fixtures
    load_merchant_fixtures(engine, today=dt.date(2026, 1, 1))
    return Wallets(engine, clock=clock)


@pytest.fixture
def card(wallets):
    return wallets.open_card_account("card:test-1", "682", 100_000)


def settle_and_pay_out(wallets, day=None) -> None:
    """Settle `day` (default 2026-11-26), schedule its payouts and pay them (on 2026-12-31, all due)."""
    import datetime as dt

    day = day or dt.date(2026, 11, 26)
    wallets.run_settlement(day)
    wallets.schedule_payouts(day)
    wallets.execute_payouts(dt.date(2026, 12, 31))
