"""Issue 8: `acqsim demo` passes end to end, and what it leaves behind holds no card data in the clear (issue 10)."""

import json
import os
import subprocess
import sys

ACQSIM = [sys.executable, "-m", "switch.cli.main"]


def test_demo_runs_the_day_and_leaves_no_card_data(tmp_path):
    env = {**os.environ, "ACQSIM_DATA_DIR": str(tmp_path / "home")}
    data = tmp_path / "demo"
    run = subprocess.run([*ACQSIM, "demo", "--json", "--data-dir", str(data)], capture_output=True, text=True,
                         timeout=180, env=env)
    report = json.loads(run.stdout)
    failed = [(t["tid"], t["op"], t["outcome"], t["expected"]) for t in report["transactions"] if not t["ok"]]
    assert not failed
    assert report["ok"] and run.returncode == 0
    assert report["audit"]["ok"]
    kinds = {t["op"] for t in report["transactions"]}
    assert {"purchase", "refund", "cash", "balance", "preauth", "completion", "batch_close"} <= kinds
    assert any(t["outcome"] == "reversed" for t in report["transactions"])
    offus = {t["op"] for t in report["transactions"] if t["pan"].startswith("431940") and t["outcome"] == "00"}
    assert offus == {"purchase", "preauth", "completion", "refund"}  # through the demo's remote issuer host
    # sale 45.00 + completion 72.00 owed by the issuer, refund 5.00 owed to it: settled by the back office
    assert [(x["issuer"], x["received"], x["paid"]) for x in report["interchange"]] == [("REMOTEBANK", 11_700, 500)]
    assert any(p["status"] == "paid" for p in report["payouts"])
    # every PAN the demo shows is masked 6+4
    assert all("*" in t["pan"] for t in report["transactions"] if t["pan"])
    scan = subprocess.run([*ACQSIM, "pci-scan", "--data-dir", str(data), "--json"], capture_output=True, text=True,
                          timeout=120, env=env)
    assert scan.returncode == 0, scan.stdout[-2000:]
