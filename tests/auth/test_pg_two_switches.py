"""Done-when of issue 5: one card used through two switch processes on one PostgreSQL at once is never
overdrawn (B3); every request gets an answer and the ledger audit stays clean."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from switch.store import open_database
from tests.auth.harness import card, request
from tests.auth.test_tcp import Tcp

PG_URL = os.environ.get("ACQSIM_TEST_PG_URL")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_engine():
    if not PG_URL:
        pytest.skip("ACQSIM_TEST_PG_URL is not set: PostgreSQL tests skipped")
    schema = "t_auth_" + uuid.uuid4().hex[:12]
    engine = open_database(PG_URL, schema=schema)
    yield engine, schema
    engine.dispose()
    admin = open_database(PG_URL, migrate=False)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _start(schema: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.auth.pg_switch_proc", PG_URL, schema], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    assert line.startswith("listening"), line
    return proc, int(line.rsplit(":", 1)[1])


def _through_two_processes(schema: str, send) -> list[str]:
    """Two switch processes on the schema, two terminal connections to each, all starting at once: every
    connection runs `send(client)` (a list of answer codes); returns all codes."""
    procs = [_start(schema) for _ in range(2)]
    results: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def fire(port: int) -> None:
        client = Tcp(port)
        try:
            start.wait(30)
            codes = send(client)
            with lock:
                results.extend(codes)
        finally:
            client.sock.close()

    try:
        threads = [threading.Thread(target=fire, args=(port,)) for _, port in procs for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(10)
    return results


def test_two_switch_processes_never_overdraw_a_card(pg_engine):
    from hsm_emulator import Hsm
    from switch.auth.wallets_funds import WalletsFunds
    from switch.issuer.loader import load_all, vault_for
    from switch.issuer.store import IssuerStore
    from switch.ledger.audit import audit

    engine, schema = pg_engine
    load_all(engine, Hsm())
    c = card("mc-second")  # balance 300000
    results = _through_two_processes(
        schema, lambda client: [client.ask(request("mc-second", amount=10000))["39"] for _ in range(20)])
    assert len(results) == 80
    assert set(results) <= {"00", "51"}
    assert results.count("00") == c["balance"] // 10000  # exactly what the balance covers, no more
    account = IssuerStore(engine, vault_for()).find_card(c["pan"]).account_id
    assert WalletsFunds(engine).balance(account) == (0, 0)
    assert audit(engine) == []


def test_two_switch_processes_never_pass_a_daily_limit_together_n15(pg_engine):
    """The unverified card may buy for 5,000.00 a day (B4, N15, fixtures/limits.yaml). Counted in the
    statement that reads the totals, under PostgreSQL's row lock, 20 purchases of 1,000.00 through two
    processes at once give exactly 5 approvals; the declined ones are not left on the counters."""
    from hsm_emulator import Hsm
    from switch.issuer.loader import load_all

    engine, schema = pg_engine
    load_all(engine, Hsm())
    results = _through_two_processes(
        schema, lambda client: [client.ask(request("unverified", amount=100000))["39"] for _ in range(5)])
    assert sorted(results) == ["00"] * 5 + ["61"] * 15
    with engine.connect() as conn:
        counts = conn.execute(text('SELECT period, amount, "count" FROM iss_card_usage')).all()
    assert sorted((p[0], a, n) for p, a, n in counts) == [("D", 500000, 5), ("M", 500000, 5)]


def test_purchases_and_reversals_of_one_card_through_two_processes_never_deadlock(pg_engine):
    """Purchases lock the card's limit counters, then its ledger accounts (limits, then book); reversals
    must take them in the same order (N15), or two processes wait on each other until PostgreSQL breaks
    the cycle a second later with an error (the terminal then gets 96)."""
    from hsm_emulator import Hsm
    from switch.issuer.loader import load_all
    from switch.ledger.audit import audit

    engine, schema = pg_engine
    load_all(engine, Hsm())

    def sales_and_reversals(client: Tcp) -> list[str]:
        codes = []
        for _ in range(6):
            sale = request("good-visa", amount=100)
            codes.append(client.ask(sale)["39"])
            rev = request("good-visa", mti="0400", amount=100, pin=None,
                          **{"90": "0200" + sale["11"] + sale["7"] + "0" * 22})
            codes.append(client.ask(rev)["39"])
        return codes

    results = _through_two_processes(schema, sales_and_reversals)
    assert results == ["00"] * 48
    assert audit(engine) == []
    with engine.connect() as conn:
        counts = conn.execute(text('SELECT amount, "count" FROM iss_card_usage')).all()
    assert set(counts) == {(0, 0)}  # every purchase counted and taken off again


def test_the_same_requests_through_both_processes_at_once_are_booked_once(pg_engine):
    """A terminal that retransmits to the other switch process: each request is booked, counted and
    journalled once, and every copy gets the same answer (the first one stored). The second process finds
    the first's booking by the clash of its event or transfer ids (its first attempt does not read them)."""
    from hsm_emulator import Hsm
    from switch.auth.wallets_funds import WalletsFunds
    from switch.issuer.loader import load_all, vault_for
    from switch.issuer.store import IssuerStore
    from switch.ledger.audit import audit

    engine, schema = pg_engine
    load_all(engine, Hsm())
    c = card("good-visa")
    sales = [request("good-visa", amount=1000 + i) for i in range(8)]
    answers: dict[str, list[tuple[str, str, str]]] = {}
    lock = threading.Lock()

    def same_sales(client: Tcp) -> list[str]:
        for sale in sales:
            a = client.ask(dict(sale))
            with lock:
                answers.setdefault(sale["11"], []).append((a["39"], a.get("38", ""), a.get("37", "")))
        return []

    _through_two_processes(schema, same_sales)
    assert len(answers) == 8
    for stan, copies in answers.items():
        assert len(copies) == 4 and len(set(copies)) == 1, (stan, copies)  # one answer, given four times
        assert copies[0][0] == "00" and copies[0][1]
    account = IssuerStore(engine, vault_for()).find_card(c["pan"]).account_id
    booked = sum(1000 + i for i in range(8))
    assert WalletsFunds(engine).balance(account) == (c["balance"] - booked, c["balance"] - booked)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM auth_requests")).scalar() == 8
        counts = conn.execute(text('SELECT amount, "count" FROM iss_card_usage')).all()
    assert sorted(counts) == [(booked, 8), (booked, 8)]  # daily and monthly, each request once (N15)
    assert audit(engine) == []
