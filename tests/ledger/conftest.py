"""Fixtures: `engine` (SQLite, and PostgreSQL in a unique schema when ACQSIM_TEST_PG_URL is set),
`sqlite_engine` and `pg_schema` come from tests/conftest.py."""

from __future__ import annotations

import os

PG_URL = os.environ.get("ACQSIM_TEST_PG_URL")


class Boom(Exception):
    """A job or hook failure the tests raise on purpose."""


def three_accounts(tmp_path, funding: int):
    """A fresh SQLite ledger: bank 1, card 2 (no overdraft) funded with `funding` from 1, merchant 3."""
    from switch.ledger import Account, AccountFlags, Ledger, Transfer
    from switch.store import open_database

    engine = open_database(None, tmp_path)
    led = Ledger(engine)
    led.create_accounts([Account(1, 682, 1), Account(2, 682, 2, flags=AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS),
                         Account(3, 682, 3)])
    led.create_transfers([Transfer(1, 1, 2, funding, ledger=682, code=1)])
    return engine
