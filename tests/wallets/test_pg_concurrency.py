"""Two OS processes booking card events at once on PostgreSQL against the same card and merchant wallet:
the card is never overdrawn and no event key is booked twice (issue 4)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time

from switch.ledger import audit
from switch.store import open_database
from switch.wallets import Wallets, load_merchant_fixtures

from .conftest import M1, PG_URL

WORKER = textwrap.dedent("""
    import json, os, sys, time
    from switch.store import open_database
    from switch.wallets import Wallets
    url, schema, go, order, card, mid = sys.argv[1:7]
    w = Wallets(open_database(url, schema=schema, migrate=False))
    while not os.path.exists(go):
        time.sleep(0.001)
    ks = list(range(200)) if order == "forward" else list(range(199, -1, -1))
    out = []
    for k in ks:
        key = f"POS00001:{k:06d}:1126100000"
        if k % 4 == 0:
            o = w.authorize_hold(key, int(card), mid, "682", 100)
            if o.ok:
                c = w.capture(key + ":c", key)
                out.append([key + ":c", c.status, c.duplicate])
        elif k % 4 == 1:
            o = w.refund(key, int(card), mid, "682", 10)
        else:
            o = w.purchase(key, int(card), mid, "682", 100)
        out.append([key, o.status, o.duplicate])
    print(json.dumps(out))
""")


def test_two_processes_book_each_event_once(pg_schema, tmp_path):
    engine = open_database(PG_URL, schema=pg_schema)
    load_merchant_fixtures(engine)
    w = Wallets(engine)
    card = w.open_card_account("card:race", "682", 10_000)
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, PG_URL, pg_schema, str(go), order, str(card), M1],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for order in ("forward", "reverse")]
    time.sleep(1.0)
    go.write_text("go")
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-3000:] for o in outs]
    fresh: dict[str, str] = {}
    for out, _ in outs:
        for key, status, duplicate in json.loads(out):
            if not duplicate:
                assert key not in fresh, f"{key} answered as new by both processes"
                fresh[key] = status
    sales = [k for k, s in fresh.items() if s == "ok" and (k.endswith(":c") or int(k.split(":")[1]) % 4 in (2, 3))]
    refunds = [k for k, s in fresh.items() if s == "ok" and int(k.split(":")[1]) % 4 == 1]
    ledger_balance, available = w.card_balance(card)
    assert ledger_balance == 10_000 - 100 * len(sales) + 10 * len(refunds)
    assert available >= 0 and ledger_balance >= 0
    assert "insufficient_funds" in fresh.values()  # the card ran dry while both were booking
    assert audit(engine) == []
    engine.dispose()
