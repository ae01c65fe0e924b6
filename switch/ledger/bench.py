"""Booking benchmark: `python -m switch.ledger.bench [--db URL] [--transfers N] [--batch N]`.

Books N card-style transfers (cardholder -> merchant, both limited accounts) through the batch API and
prints transfers per second. On SQLite every batch is committed with synchronous=FULL, so the figure is
for bookings that are durable when create_transfers returns (issue 4: >= 20,000/s).
"""

from __future__ import annotations

import argparse
import tempfile
import time

from switch.ledger import Account, AccountFlags, Ledger, Transfer
from switch.store import open_database


def run(url: str | None, n: int, batch: int, cards: int = 1000) -> dict:
    engine = open_database(url, tempfile.mkdtemp(prefix="acqsim-bench-"))
    ledger = Ledger(engine)
    limited = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    ledger.create_accounts([Account(1, 682, 1)] + [Account(10 + i, 682, 2, flags=limited) for i in range(cards)]
                           + [Account(100_000 + m, 682, 3, flags=limited) for m in range(10)])
    ledger.create_transfers([Transfer(1 + i, 1, 10 + i, 10**9, ledger=682, code=1) for i in range(cards)])
    base, booked, started = 1_000_000, 0, time.perf_counter()
    while booked < n:
        size = min(batch, n - booked)
        results = ledger.create_transfers([
            Transfer(base + booked + k, 10 + (booked + k) % cards, 100_000 + (booked + k) % 10, 1 + k % 500,
                     ledger=682, code=2) for k in range(size)])
        assert all(r == "ok" for r in results), results[:3]
        booked += size
    elapsed = time.perf_counter() - started
    engine.dispose()
    return {"transfers": booked, "batch": batch, "seconds": round(elapsed, 3),
            "transfers_per_second": int(booked / elapsed), "database": engine.dialect.name}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    parser.add_argument("--transfers", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=8190)
    args = parser.parse_args()
    print(run(args.db, args.transfers, args.batch))


if __name__ == "__main__":
    main()
