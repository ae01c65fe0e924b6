"""`acqsim pci-scan` (Q2, issue 10, DESIGN: Card data): every kind of planted card data is found, masked; a
realistic clean data directory is clean; protected columns are skipped; big databases scan fast."""

from __future__ import annotations

import gzip
import json
import os
import random
import sqlite3
import time
import uuid

import pytest

from switch.cli.main import main
from switch.security.detect import luhn_ok, plausible_pan, scan_text
from switch.security.registry import EncryptedColumns, declare_encrypted
from switch.security.scan import scan

PAN = "4761739001010010"  # Visa test card (Luhn-valid)
PAN_MC = "5413330089020011"
MASKED = "476173******0010"
TRACK2 = f";{PAN}=25122011234567890?"
TRACK1 = f"%B{PAN}^CARDHOLDER/TEST^2512201000000000000?"
PIN_BLOCK = "0412AC89ABCDEF67"
CLEAR_KEY = "0123456789ABCDEFFEDCBA9876543210"
SECRETS = [PAN, PAN_MC, PIN_BLOCK, CLEAR_KEY, "2512201", "CARDHOLDER/TEST", "E7A3"]


def run_cli(capsys, *args: str) -> tuple[int, str]:
    code = main(["pci-scan", *args])
    out = capsys.readouterr().out
    return code, out


def assert_masked(out: str) -> None:
    for secret in SECRETS:
        assert secret not in out, f"pci-scan printed a clear value: {secret[:4]}..."


def test_luhn_and_pan_rules():
    assert luhn_ok(PAN) and luhn_ok("79927398713")
    assert not luhn_ok("4761739001010011")
    assert plausible_pan(PAN) and plausible_pan("2223000048400011") and plausible_pan("378282246310005")
    # Epoch milliseconds and YYYYMMDD... timestamps are never read as PANs (prefix 1 / 20 are not issued).
    assert not plausible_pan("1764158400000") and not plausible_pan("2026112612000003")


def test_each_kind_in_text():
    cases = {
        f"card {PAN} used": "pan",
        f"{PAN[:4]} {PAN[4:8]} {PAN[8:12]} {PAN[12:]}": "pan",
        TRACK2: "track2",
        "57134761739001010010D25122011234567899999F": "track2",  # EMV tag 57, track 2 equivalent
        f"9F2701805A08{PAN}5F3401": "pan",  # EMV tag 5A inside field 55 hex
        TRACK1: "track1",
        f'{{"52": "{PIN_BLOCK}"}}': "pin_block",
        f"  [ 52] PIN Data ........................ {PIN_BLOCK}": "pin_block",
        f'<field id="52" value="{PIN_BLOCK}"/>': "pin_block",
        f"pin_block={PIN_BLOCK}": "pin_block",
        "cvv2: 123": "cvv",
        "<cvc>4567</cvc>": "cvv",
        f'"tpk": "{CLEAR_KEY}"': "clear_key",
        "pin=1234": "pin",
    }
    for text, kind in cases.items():
        hits = scan_text(f"x {text} y")
        assert [h.kind for h in hits] == [kind], (text, hits)
        assert all(PAN not in h.detail and PIN_BLOCK not in h.detail for h in hits)


def test_unicode_digits():
    # Arabic-Indic digits are card data too (an Arabic receipt or report); superscripts are not digits
    # (once a crash: atheris found "5A07" followed by b"\xb2" reaching the Luhn check).
    arabic = "".join(chr(0x0660 + int(c)) for c in PAN)
    assert [h.kind for h in scan_text(f"pan {arabic}")] == ["pan"]
    assert [h.kind for h in scan_text(f";{PAN}=" + "".join(chr(0x06F0 + int(c)) for c in "2512201"))] == ["track2"]
    assert scan_text("5A07" + "\u00b2" * 14 + " cvv=\u00b2\u00b2\u00b2") == []
    crash = bytes.fromhex("ffffffffffffffffffffffff30303d323d8035413037353130333031313030313030b23739463630303031")
    assert scan_text(crash.decode("latin-1")) == []


def test_not_card_data():
    noise = [
        f'"tpk": "U{CLEAR_KEY}"',  # key under the LMK (payShield key scheme U)
        '{"52": "****************", "2": "476173******0010", "35": "476173******0010=***"}',
        "pin_offset=123456789012 pin_tries=3 key_check_value=A1B2C3 pan_hash=" + "ab" * 32,
        "stan 000123 rrn 633012000123 amount 000000001234 ts 1764158400000 20261126120000",
        uuid.uuid4().hex + " " + str(uuid.uuid4()),
        "idempotency key TERM0001:000123:1126120000:0200",
        "3437 3631 3733 3930",  # xxd-style hex of ASCII digits
        f'"pinpad": {{"tpk_under_tmk": "{CLEAR_KEY}"}}',  # a terminal's TPK under its TMK: a cryptogram
    ]
    for text in noise:
        assert scan_text(text) == [], text


def _plant(d):
    db = sqlite3.connect(d / "acqsim.db")
    db.executescript(f"""
        CREATE TABLE cards (id INTEGER PRIMARY KEY, pan_enc TEXT, note TEXT, cvv TEXT, pin_block TEXT);
        CREATE TABLE devices (tid TEXT PRIMARY KEY, tpk TEXT, tmk TEXT) WITHOUT ROWID;
        CREATE TABLE journal (id INTEGER PRIMARY KEY, raw BLOB, doc TEXT);
        INSERT INTO cards VALUES (1, '{PAN}', 'ok', NULL, NULL);
        INSERT INTO cards VALUES (2, 'x', 'customer said {PAN_MC}', '123', '{PIN_BLOCK}');
        INSERT INTO devices VALUES ('T1', 'U{CLEAR_KEY}', '{CLEAR_KEY}');
        INSERT INTO journal VALUES (1, X'{(";" + PAN + "=2512201?").encode().hex()}',
                                    '{{"t": "0200", "45": "{TRACK1[1:]}"}}');
    """)
    db.commit()
    db.close()
    (d / "logs").mkdir()
    (d / "logs" / "switch.log").write_text(
        "2026-11-26 21:00:00 INFO started\n"
        f"2026-11-26 21:00:01 DEBUG --- 0200 in\n  [ 52] PIN Data ......... {PIN_BLOCK}\n")
    with gzip.open(d / "logs" / "switch.log.1.gz", "wt") as fh:
        fh.write("old line cvv=321\n")
    (d / "recordings").mkdir()
    (d / "recordings" / "rec.jsonl").write_text(
        json.dumps({"dir": "in", "msg": {"t": "0200", "35": TRACK2[1:-1], "52": PIN_BLOCK}}) + "\n")
    (d / "reports").mkdir()
    (d / "reports" / "run.html").write_text(f"<html><td>{PAN}</td></html>")
    (d / "reports" / "junit.xml").write_text(f'<testcase name="x"><system-out>{TRACK1}</system-out></testcase>')
    (d / "reports" / "run.json").write_text(json.dumps({"keys": {"tmk": CLEAR_KEY}, "card": {"cvc2": "4567"}}))


def test_planted_findings_are_found_and_masked(tmp_path, capsys):
    _plant(tmp_path)
    code, out = run_cli(capsys, "--data-dir", str(tmp_path), "--json")
    assert code == 1
    assert_masked(out)
    rep = json.loads(out)
    where = {(f["location"].split(" row ")[0].split(":")[0], f["kind"]) for f in rep["findings"]}
    expected = {
        ("acqsim.db", "pan"), ("acqsim.db", "cvv"), ("acqsim.db", "pin_block"), ("acqsim.db", "clear_key"),
        ("acqsim.db", "track2"), ("acqsim.db", "track1"),
        ("logs/switch.log", "pin_block"), ("logs/switch.log.1.gz", "cvv"),
        ("recordings/rec.jsonl", "track2"), ("recordings/rec.jsonl", "pin_block"),
        ("reports/run.html", "pan"), ("reports/junit.xml", "track1"),
        ("reports/run.json", "clear_key"), ("reports/run.json", "cvv"),
    }
    assert expected <= where, expected - where
    locations = [f["location"] for f in rep["findings"]]
    assert "acqsim.db: devices.tmk row 1" in locations  # WITHOUT ROWID: numbered rows
    assert "logs/switch.log:3" in locations  # line numbers
    # pan_enc is skipped by name (registry), devices.tpk holds a key under the LMK: neither reported.
    assert not any("pan_enc" in loc or "tpk" in loc for loc in locations)
    assert any(s.endswith("cards.pan_enc") for s in rep["skipped_columns"])
    code, out = run_cli(capsys, "--data-dir", str(tmp_path))
    assert code == 1 and "findings" in out and MASKED in out
    assert_masked(out)


def _clean_data_dir(d):
    from switch.issuer.pan import PanVault
    from switch.store import open_database
    from switch.wire import dump
    from terminal_agent.scenario.record import Recorder

    engine = open_database(None, d)  # every table of every migration
    engine.dispose()
    vault = PanVault(os.urandom(32))
    db = sqlite3.connect(d / "acqsim.db")
    db.execute("CREATE TABLE extra (id INTEGER PRIMARY KEY, pan_enc TEXT, pan_hash TEXT, pan_masked TEXT, "
               "tpk TEXT, digest TEXT, created TEXT, note TEXT)")
    rnd = random.Random(7)
    for i in range(2000):
        db.execute("INSERT INTO extra VALUES (?,?,?,?,?,?,?,?)", (
            # Seeded, not os.urandom: 2,000 random hex keys now and then hold a Luhn-valid digit run followed
            # by D and seven digits, which is what a track 2 equivalent looks like (a flaky CI failure).
            i, vault.encrypt(PAN), vault.lookup_hash(PAN), MASKED, "U" + rnd.randbytes(16).hex().upper(),
            rnd.randbytes(32).hex(), f"2026-11-26T21:{i % 60:02d}:00.{rnd.randrange(1000):03d}Z",
            f"rrn {rnd.randrange(10**12):012d} stan {i:06d} amt {rnd.randrange(10**12):012d} {uuid.uuid4()}"))
    db.commit()
    db.close()
    msg = {"t": "0200", "2": PAN, "3": "000000", "4": "000000001234", "11": "000001", "35": TRACK2[1:-1],
           "41": "TERM0001", "52": PIN_BLOCK, "55": "5A08" + PAN + "9F2608AABBCCDDEEFF0011"}
    rec = Recorder(d / "recordings" / "switch.jsonl")
    for _ in range(50):
        rec.record("in", msg, "127.0.0.1:50000")
        rec.record("out", {"t": "0210", "39": "00", "11": "000001", "41": "TERM0001"}, "127.0.0.1:50000")
    rec.close()
    (d / "logs").mkdir()
    (d / "logs" / "switch.log").write_text("\n".join(dump(msg, title="in") for _ in range(50)) + "\n")
    (d / "reports").mkdir()
    (d / "reports" / "report.html").write_text(f"<html><td>{MASKED}</td><td>00</td></html>")


def test_clean_directory_is_clean(tmp_path, capsys):
    _clean_data_dir(tmp_path)
    code, out = run_cli(capsys, "--data-dir", str(tmp_path))
    assert code == 0, out
    assert "pci-scan: clean" in out


def test_registry_declarations(tmp_path):
    db = sqlite3.connect(tmp_path / "x.db")
    db.execute("CREATE TABLE vault (id INTEGER PRIMARY KEY, blob_a TEXT, blob_b TEXT, track_encrypted TEXT)")
    db.execute("INSERT INTO vault VALUES (1, ?, ?, ?)", (PAN, PAN, TRACK2))
    db.commit()
    db.close()
    declare_encrypted("vault", "blob_a", "aes-gcm")
    rep = scan(tmp_path, extra_protected={"vault.blob_b": "hash"})
    assert rep.clean, rep.text()
    assert EncryptedColumns().protection("iss_terminals", "tpk") == "lmk"
    assert EncryptedColumns().protection("any", "pan_enc") == "aes-gcm"
    with pytest.raises(ValueError):
        declare_encrypted("t", "c", "rot13")


def test_special_files_are_skipped(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe")  # opening it would block for ever
    (tmp_path / "zero").symlink_to("/dev/zero")  # reading it would never end
    (tmp_path / "ok.log").write_text("nothing here\n")
    code, out = run_cli(capsys, "--data-dir", str(tmp_path))
    assert code == 0 and "1 files" in out


def test_cli_errors(tmp_path, capsys):
    assert main(["pci-scan", "--data-dir", str(tmp_path / "missing")]) == 2
    assert main(["pci-scan", "--data-dir", str(tmp_path), "--path", str(tmp_path / "nope")]) == 2
    (tmp_path / "extra.log").write_text(f"leak {PAN}\n")
    other = tmp_path / "empty"
    other.mkdir()
    assert main(["pci-scan", "--data-dir", str(other), "--path", str(tmp_path / "extra.log")]) == 1
    assert_masked(capsys.readouterr().out)


def test_postgresql(pg_url, capsys):
    from sqlalchemy import create_engine, text

    schema = f"pci_{uuid.uuid4().hex[:10]}"
    engine = create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            conn.execute(text(f'CREATE TABLE "{schema}".t (id serial primary key, note text, raw bytea, doc jsonb, '
                              "cvv2 varchar(4), pan_enc text, amount bigint)"))
            conn.execute(text(f'INSERT INTO "{schema}".t (note, raw, doc, cvv2, pan_enc, amount) VALUES '
                              "(:n, :r, CAST(:d AS jsonb), :c, :e, 1)"),
                         {"n": "clean", "r": TRACK2.encode(), "d": json.dumps({"pan": PAN_MC}), "c": "999",
                          "e": PAN})
        code, out = run_cli(capsys, "--db", pg_url, "--schema", schema, "--json")
        assert code == 1
        assert_masked(out)
        kinds = sorted({f["kind"] for f in json.loads(out)["findings"]})
        assert kinds == ["cvv", "pan", "track2"]
        with engine.begin() as conn:
            conn.execute(text(f'DELETE FROM "{schema}".t'))
            conn.execute(text(f'INSERT INTO "{schema}".t (note, pan_enc) VALUES (:n, :e)'),
                         {"n": f"masked {MASKED}", "e": PAN})
        code, out = run_cli(capsys, "--db", pg_url, "--schema", schema)
        assert code == 0, out
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def test_speed_large_sqlite(tmp_path):
    """Throughput guard (issue 10 asks for 100 MB in seconds; docs/security.md has the full-size figure)."""
    db = sqlite3.connect(tmp_path / "big.db")
    db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, msg TEXT, note TEXT)")
    row = json.dumps({"t": "0200", "2": MASKED, "4": "000000001234", "11": "000001", "37": "633012000123",
                      "52": "****************", "41": "TERM0001", "ts": "2026-11-26T21:00:00.000Z"})
    db.executemany("INSERT INTO events (msg, note) VALUES (?, ?)", ((row, "x" * 60) for _ in range(120_000)))
    db.execute("INSERT INTO events (msg, note) VALUES (?, 'ok')", (f"leak {PAN}",))
    db.commit()
    db.close()
    size = (tmp_path / "big.db").stat().st_size
    t0 = time.process_time()
    rep = scan(tmp_path)
    cpu = time.process_time() - t0
    assert rep.counts == {"pan": 1}
    assert size > 20e6
    assert size / cpu > 15e6, f"{size / cpu / 1e6:.1f} MB/s of CPU"


def test_sqlite_url_and_unreadable_database(tmp_path, capsys):
    db = sqlite3.connect(tmp_path / "other.sqlite")
    db.execute("CREATE TABLE t (note TEXT)")
    db.execute("INSERT INTO t VALUES (?)", (f"cvv2={'1' * 3}",))
    db.commit()
    db.close()
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out = run_cli(capsys, "--data-dir", str(empty), "--db", f"sqlite:///{tmp_path / 'other.sqlite'}")
    assert code == 1 and "cvv" in out
    # A file that claims to be SQLite but is not: reported as not scanned, exit 2 (never "clean").
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "x.db").write_bytes(b"SQLite format 3\x00" + os.urandom(2048))
    code, out = run_cli(capsys, "--data-dir", str(broken))
    assert code == 2 and "warning" in out
