"""Group commit (SQLite): threads share commits; one caller's failure never undoes another's work."""

from __future__ import annotations

import threading

import pytest

from switch.ledger import Ledger, Transfer, audit
from tests.ledger.conftest import Boom, three_accounts


@pytest.fixture
def ledger(tmp_path):
    engine = three_accounts(tmp_path, 5_000)
    yield Ledger(engine)
    engine.dispose()


def test_threads_share_commits_and_never_overdraw(ledger):
    results: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(40):
            r = ledger.create_transfers([Transfer(1000 + n * 100 + i, 2, 3, 10, ledger=682, code=1)])[0]
            with lock:
                results.append(r)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 320 and ledger.lookup_accounts([2])[0].debits_posted == 3_200
    assert ledger._group.groups < ledger._group.requests  # some commits carried several callers
    assert audit(ledger.engine) == []


def test_failing_hook_rolls_back_only_its_own_part(ledger):
    start = threading.Barrier(6)
    errors: list[Exception] = []

    def worker(n: int) -> None:
        def hook(conn, results, booked):
            if n == 3:
                raise Boom()
        start.wait()
        try:
            ledger.create_transfers([Transfer(2000 + n, 2, 3, 100, ledger=682, code=1)], hook=hook)
        except Boom as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 1
    assert {t.id for t in ledger.lookup_transfers(range(2000, 2006))} == {2000, 2001, 2002, 2004, 2005}
    assert ledger.lookup_accounts([2])[0].debits_posted == 500
    assert audit(ledger.engine) == []
