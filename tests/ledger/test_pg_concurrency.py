"""Two OS processes booking at once on PostgreSQL: no overdraft, no id booked twice (issue 4)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

from switch.ledger import Account, AccountFlags, Ledger, Transfer, audit
from switch.store import open_database

from .conftest import PG_URL

WORKER = textwrap.dedent("""
    import json, os, sys, time
    from switch.ledger import Ledger, Transfer, TransferFlags
    from switch.store import open_database
    url, schema, go, order = sys.argv[1:5]
    ledger = Ledger(open_database(url, schema=schema, migrate=False))
    while not os.path.exists(go):
        time.sleep(0.001)
    ks = list(range(300))
    if order == "reverse":
        ks.reverse()
    ok, i = [], 0
    while i < len(ks):
        chunk = ks[i:i + 1 + i % 4]
        batch = []
        for k in chunk:
            if k % 3 == 0:  # a hold posted in the same linked chain
                batch += [Transfer(10_000 + k, 2, 3, 10, ledger=682, code=1, flags=TransferFlags.PENDING | TransferFlags.LINKED, timeout=60),
                          Transfer(20_000 + k, pending_id=10_000 + k, amount=10, flags=TransferFlags.POST_PENDING_TRANSFER)]
            else:
                batch.append(Transfer(10_000 + k, 2, 3, 10, ledger=682, code=1))
        for t, r in zip(batch, ledger.create_transfers(batch)):
            if r == "ok":
                ok.append(t.id)
        i += len(chunk)
    print(json.dumps(ok))
""")


def test_two_processes_never_overdraw_nor_double_book(pg_schema, tmp_path):
    engine = open_database(PG_URL, schema=pg_schema)
    ledger = Ledger(engine)
    limited = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
    ledger.create_accounts([Account(1, 682, 1), Account(2, 682, 2, flags=limited), Account(3, 682, 3)])
    ledger.create_transfers([Transfer(1, 1, 2, 1000, ledger=682, code=1)])  # room for 100 of 300 bookings
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, PG_URL, pg_schema, str(go), order],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for order in ("forward", "reverse")]
    time.sleep(1.0)  # both imported and waiting
    go.write_text("go")
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    ok_a, ok_b = (json.loads(o[0]) for o in outs)
    booked_a = {i for i in ok_a if i < 20_000}
    booked_b = {i for i in ok_b if i < 20_000}
    assert not booked_a & booked_b, "an id was booked by both processes"
    assert len(booked_a | booked_b) == 100
    card = ledger.lookup_accounts([2])[0]
    assert card.debits_posted == 1000 and card.debits_pending == 0 and card.credits_posted == 1000
    assert ledger.lookup_accounts([3])[0].credits_posted == 1000
    assert audit(engine) == []
    engine.dispose()
