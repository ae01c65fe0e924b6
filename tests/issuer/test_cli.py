"""`acqsim fixtures load|show` and `acqsim card ...` (masked output, --json)."""

from __future__ import annotations

import json

from switch.cli.main import main


def run(capsys, *argv) -> tuple[int, str]:
    rc = main(list(argv))
    return rc, capsys.readouterr().out


def test_fixtures_show_json(capsys):
    rc, out = run(capsys, "fixtures", "show", "--json")
    doc = json.loads(out)
    assert rc == 0 and {"cards", "terminals", "merchants"} <= set(doc)
    assert any(c["pan"] == "4761739001010010" and c["pin"] == "1234" for c in doc["cards"])


def test_fixtures_load_idempotent_and_card_commands(capsys, tmp_path):
    d = str(tmp_path)
    rc, out = run(capsys, "fixtures", "load", "--data-dir", d, "--json")
    first = json.loads(out)["loaded"]
    assert rc == 0 and first["cards"] >= 15 and first["terminals"] >= 8
    rc, out = run(capsys, "fixtures", "load", "--data-dir", d, "--json")
    assert json.loads(out)["loaded"]["cards"] == 0  # cards kept, not duplicated

    rc, out = run(capsys, "card", "show", "--data-dir", d)
    assert "476173******0010" in out and "4761739001010010" not in out  # masked 6+4

    rc, out = run(capsys, "card", "lost", "4761739001010010", "--data-dir", d, "--json")
    assert json.loads(out)["status"] == "lost"  # N20
    assert run(capsys, "card", "unblock", "4761739001010010", "--data-dir", d)[0] == 2

    run(capsys, "card", "block", "#2", "--data-dir", d, "--reason", "fraud suspected")
    rc, out = run(capsys, "card", "unblock", "#2", "--data-dir", d, "--json")
    assert json.loads(out)["status"] == "active" and json.loads(out)["pin_tries"] == 0  # B5

    rc, out = run(capsys, "card", "limits", "#2", "--set", "purchase.per_txn=5000", "--kyc", "unverified",
                  "--data-dir", d, "--json")
    doc = json.loads(out)
    assert doc["limits"] == {"purchase": {"per_txn": 5000}} and doc["kyc"] == "unverified"

    rc, out = run(capsys, "card", "issue", "--pin", "2580", "--balance", "7000", "--data-dir", d, "--json")
    doc = json.loads(out)
    assert rc == 0 and doc["balance"] == 7000 and "*" in doc["pan"] and "pan_clear" not in doc
