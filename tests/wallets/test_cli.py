"""acqsim wallet / acqsim ledger audit: output shapes and exit codes."""

from __future__ import annotations

import json

from sqlalchemy import text

from switch.cli.main import main
from switch.store import open_database
from switch.wallets import Wallets, load_merchant_fixtures

from .conftest import M1


def run(capsys, *argv: str) -> tuple[int, str]:
    rc = main(list(argv))
    return rc, capsys.readouterr().out


def test_wallet_show_statement_settle_and_audit(tmp_path, capsys):
    d = str(tmp_path)
    engine = open_database(None, d)
    load_merchant_fixtures(engine)
    w = Wallets(engine)
    card = w.open_card_account("card:cli", "682", 50_000)
    assert w.purchase("cli-1", card, M1, "682", 10_000, tid="POS00001").ok
    rc, out = run(capsys, "wallet", "show", M1, "--json", "--data-dir", d)
    assert rc == 0
    assert json.loads(out) == {"mid": M1, "wallets": [{"currency": "682", "available": 0, "unsettled": 9_825,
                                                       "receivable": 0}]}
    rc, out = run(capsys, "wallet", "settle", "--date", "2026-11-26", "--json", "--data-dir", d)
    data = json.loads(out)
    assert data["settlements"][0]["amount"] == 9_825 and data["payouts"][0]["due_on"] == "2026-11-29"
    rc, out = run(capsys, "wallet", "payouts", M1, "--json", "--data-dir", d)
    assert json.loads(out)["payouts"][0]["status"] == "scheduled"
    rc, out = run(capsys, "wallet", "statement", M1, "--data-dir", d)
    assert rc == 0 and out.splitlines()[0].startswith("time,transfer_id,kind")
    rc, out = run(capsys, "ledger", "audit", "--json", "--data-dir", d)
    assert rc == 0 and json.loads(out) == {"ok": True, "violations": []}
    assert main(["wallet", "show", "000000000000099", "--data-dir", d]) == 2
    # A balance changed behind the ledger's back is caught.
    with engine.begin() as conn:
        conn.execute(text("UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE code = 201"))
    rc, out = run(capsys, "ledger", "audit", "--json", "--data-dir", d)
    report = json.loads(out)
    assert rc == 1 and not report["ok"]
    assert {v["check"] for v in report["violations"]} == {"debits_equal_credits", "balance_equals_transfers"}


def test_wallet_interchange_shows_and_settles_each_remote_issuer(tmp_path, capsys):
    from hsm_emulator import Hsm
    from switch.issuer.loader import load_all

    d = str(tmp_path)
    engine = open_database(None, d)
    load_all(engine, Hsm())  # the shipped fixtures: REMOTEBANK is the remote issuer
    w = Wallets(engine)
    assert w.acquire_offus("s1", "REMOTEBANK", M1, "682", 10_000, tid="POS00001").ok
    assert w.refund_offus("r1", "REMOTEBANK", M1, "682", 2_000, tid="POS00001").ok
    rc, out = run(capsys, "wallet", "interchange", "--json", "--data-dir", d)
    assert rc == 0 and json.loads(out) == {"positions": [{"issuer": "REMOTEBANK", "currency": "682",
                                                          "receivable": 10_000, "payable": 2_000, "net": 8_000}]}
    rc, out = run(capsys, "wallet", "interchange", "--settle", "--date", "2026-11-27", "--json", "--data-dir", d)
    data = json.loads(out)
    assert [(s["received"], s["paid"], s["status"]) for s in data["settled"]] == [(10_000, 2_000, "ok")]
    assert data["positions"][0]["net"] == 0
    rc, out = run(capsys, "wallet", "interchange", "--settle", "--date", "2026-11-27", "--data-dir", d)
    assert rc == 0 and "received 10000, paid 2000 (settled before for this date: the stored amounts)" in out
    rc, out = run(capsys, "ledger", "audit", "--json", "--data-dir", d)
    assert rc == 0 and json.loads(out)["ok"]
