"""What the API answers: data from the real pipeline's journal and switch.wallets, filters, masking,
downloads, health, metrics, pages and headers."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from switch.http.api import ROUTES
from switch.issuer.fixtures import load_fixtures
from switch.wallets import merchant_wallets
from tests.http.world import MERCHANT, MID1, MID2, OPERATOR, TRAFFIC

ALL_PANS = [str(c["pan"]) for c in load_fixtures().cards]


def test_health_and_ready(http):
    assert http("/health").json() == {"status": "ok"}
    assert http("/ready").json() == {"status": "ready"}


def test_whoami(http):
    assert http("/api/whoami", MERCHANT[MID1]).json() == {"name": f"merchant-{MID1}", "role": "merchant", "mid": MID1}
    assert http("/api/whoami", OPERATOR).json()["role"] == "operator"


def test_wallets_equal_the_ledger(world, http):
    for mid in (MID1, MID2):
        got = http(f"/api/merchants/{mid}/wallets", MERCHANT[mid]).json()["items"]
        assert got == merchant_wallets(world.engine, mid)
        assert got[0]["unsettled"] > 0 or got[0]["available"] > 0 or got[0]["receivable"] >= 0


def test_transactions_come_from_the_journal(world, http):
    items = http(f"/api/transactions?limit={len(TRAFFIC)}", OPERATOR).json()["items"]
    assert len(items) == len(TRAFFIC)
    assert [t["rc"] for t in reversed(items)] == [a["39"] for a in world.answers]  # newest first
    ids = [t["id"] for t in items]
    assert ids == sorted(ids, reverse=True)
    cash = [t for t in items if t["tid"] == "ATM00001"]
    assert cash and cash[0]["type"] == "cash" and cash[0]["mid"] == MID2


def test_transaction_filters(http):
    everything = http("/api/transactions?limit=1000", OPERATOR).json()["items"]
    approved = http("/api/transactions?rc=00", OPERATOR).json()["items"]
    assert approved and all(t["rc"] == "00" for t in approved)
    assert len(approved) == sum(t["rc"] == "00" for t in everything)
    assert all(t["tid"] == "ATM00001" for t in http("/api/transactions?tid=ATM00001", OPERATOR).json()["items"])
    assert len(http("/api/transactions?limit=2", OPERATOR).json()["items"]) == 2
    mine = http(f"/api/transactions?mid={MID1}", OPERATOR).json()["items"]
    assert mine and all(t["mid"] == MID1 for t in mine)
    today = dt.date.today()
    assert http(f"/api/transactions?from={today}&to={today}", OPERATOR).json()["count"] == len(everything)
    yesterday = today - dt.timedelta(days=1)
    assert http(f"/api/transactions?to={yesterday}", OPERATOR).json()["count"] == 0
    assert http(f"/api/transactions?from={today + dt.timedelta(days=1)}", OPERATOR).json()["count"] == 0
    newest = everything[0]["id"]
    older = http(f"/api/transactions?before_id={newest}", OPERATOR).json()["items"]
    assert older and all(t["id"] < newest for t in older)


@pytest.mark.parametrize("query", ["limit=0", "limit=5000", "limit=x", "from=yesterday", "to=2026-13-01"])
def test_bad_filters_are_400(http, query):
    r = http(f"/api/transactions?{query}", OPERATOR)
    assert r.status == 400 and r.json()["error"] == "bad_request"


def test_transaction_detail_has_a_masked_dump(http):
    t = http(f"/api/transactions?mid={MID1}&rc=00&limit=1", MERCHANT[MID1]).json()["items"][0]
    detail = http(f"/api/transactions/{t['id']}", MERCHANT[MID1]).json()
    assert detail["fields"]["39"] == "00" and detail["fields"]["41"] == "POS00001"
    assert detail["fields"]["t"] == "0210" and detail["fields"]["4"] == f"{t['amount']:012d}"
    assert "POS00001" in detail["dump"] and "0210" in detail["dump"]
    assert re.fullmatch(r"\d{6}\*{6}\d{4}", detail["pan_masked"])


def test_no_clear_pan_anywhere(http, world):
    """Card data (DESIGN: Card data): every route, as the operator, answers without a fixture PAN in clear."""
    txn = http("/api/transactions?limit=1", OPERATOR).json()["items"][0]["id"]
    for route in ROUTES:
        path = (route.pattern.replace("{mid}", MID1).replace("{tid}", "POS00001").replace("{card_id}", "1")
                .replace("{txn_id}", str(txn)))
        body = http(path + ("?mid=" + MID1 if route.pattern == "/api/statements" else ""), OPERATOR).body.decode()
        for pan in ALL_PANS:
            assert pan not in body, (path, pan[:6])


def test_cards_are_masked_6_4(http):
    cards = http("/api/cards?limit=1000", OPERATOR).json()["items"]
    assert len(cards) >= 10
    for card in cards:
        assert re.fullmatch(r"\d{6}\*+\d{4}", card["pan_masked"]), card
        assert not {"pan", "pan_enc", "pan_hash", "pvv", "pin_offset", "expiry"} & card.keys()
    assert http("/api/cards?status=lost", OPERATOR).json()["items"][0]["status"] == "lost"
    assert http("/api/cards/1", OPERATOR).json()["card_id"] == 1


def test_terminals_carry_no_keys(http):
    for t in http("/api/terminals", OPERATOR).json()["items"]:
        assert not {"tmk", "tpk", "tak", "bdk"} & t.keys()


def test_statement_downloads(http, world):
    r = http(f"/api/merchants/{MID1}/statement?format=csv", MERCHANT[MID1])
    assert r.status == 200 and r.headers["content-type"].startswith("text/csv")
    assert f'filename="statement_{MID1}_' in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.body.decode())))
    assert rows and {"time", "kind", "available", "unsettled"} <= rows[0].keys()
    j = http(f"/api/merchants/{MID1}/statement?format=json", MERCHANT[MID1])
    assert j.headers["content-type"].startswith("application/json")
    doc = j.json()
    assert doc["mid"] == MID1 and len(doc["lines"]) == len(rows)
    # The unsettled column adds up to the wallet's unsettled balance (a fresh database: opening 0).
    wallet = merchant_wallets(world.engine, MID1)[0]
    assert sum(int(line["unsettled"]) for line in doc["lines"]) == wallet["unsettled"]
    assert http("/api/statements?format=csv", MERCHANT[MID1]).body == r.body
    assert http("/api/statements", OPERATOR).status == 400  # an operator names the merchant
    assert http(f"/api/statements?mid={MID1}&format=xml", OPERATOR).status == 400
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    assert http(f"/api/merchants/{MID1}/statement?from={tomorrow}", OPERATOR).json()["lines"] == []


def test_settlements_and_payouts(http):
    settlements = http(f"/api/merchants/{MID2}/settlements", MERCHANT[MID2]).json()["items"]
    assert len(settlements) == 1
    s = settlements[0]
    assert s["id"].startswith("S") and s["mid"] == MID2 and s["count"] == 1  # the one ATM cash withdrawal
    assert s["gross"] == 500_00 and s["net"] == s["gross"] - s["fees"] and s["recovered"] == 0
    payouts = http(f"/api/merchants/{MID2}/payouts", MERCHANT[MID2]).json()["items"]
    assert len(payouts) == 1 and payouts[0]["status"] == "scheduled" and payouts[0]["amount"] == s["net"]


def test_batches(world, http):
    from switch.wallets import Wallets

    approved = [t for t in TRAFFIC if t[4] == "POS00001" and t[2] == "000000"]
    answers = [a for t, a in zip(TRAFFIC, world.answers, strict=True) if t in approved and a["39"] == "00"]
    amount = sum(int(a["4"]) for a in answers)
    rec = Wallets(world.engine).close_batch("POS00001", "B0001", sales_count=len(answers), sales_amount=amount,
                                            refunds_count=0, refunds_amount=0)
    assert rec.in_balance
    batches = http("/api/batches", MERCHANT[MID1]).json()["items"]
    assert [(b["id"], b["tid"], b["sales_count"], b["sales_amount"]) for b in batches] == [
        ("B0001", "POS00001", len(answers), amount)]
    assert http("/api/batches", MERCHANT[MID2]).json()["items"] == []


def test_metrics_text(http, world):
    text = http("/metrics", OPERATOR).body.decode()
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    approved = sum(1 for a in world.answers if a["39"] == "00" and a.get("3", "")[:2] == "00")
    assert samples['acqsim_transactions_total{type="purchase",response_code="00"}'] == approved
    assert samples['acqsim_transactions_total{type="cash",response_code="00"}'] == 1
    assert samples["acqsim_response_seconds_count"] == len(TRAFFIC)
    assert samples['acqsim_response_seconds_bucket{le="+Inf"}'] == len(TRAFFIC)
    assert samples['acqsim_open_connections{listener="iso8583"}'] == 0
    assert samples['acqsim_requests_total{listener="iso8583"}'] >= len(TRAFFIC)
    assert any(k.startswith("acqsim_hsm_seconds_count{command=") for k in samples)
    assert "# TYPE acqsim_response_seconds histogram" in text
    assert http("/metrics", OPERATOR).headers["content-type"].startswith("text/plain; version=0.0.4")


def test_monitor_snapshot(http):
    m = http("/api/monitor", OPERATOR).json()
    assert len(m["tps_series"]) == 60
    assert sum(m["by_response_code"].values()) == len(TRAFFIC)
    assert m["latency"]["count"] == len(TRAFFIC)
    assert m["listeners"][0]["listener"] == "iso8583"


@pytest.mark.parametrize("path,ctype", [("/", "text/html"), ("/monitor", "text/html"), ("/portal", "text/html"),
                                        (f"/portal/{MID1}", "text/html"), ("/static/app.css", "text/css"),
                                        ("/static/portal.js", "text/javascript")])
def test_pages_and_security_headers(http, path, ctype):
    r = http(path)
    assert r.status == 200 and r.headers["content-type"].startswith(ctype)
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"


def test_static_serves_only_shipped_files(http):
    for path in ("/static/", "/static/../__init__.py", "/static/%2e%2e/__init__.py", "/static/nope.js",
                 "/static/app.css/x"):
        assert http(path).status == 404, path


def test_api_answers_are_not_cached(http):
    assert http("/api/merchants", OPERATOR).headers["cache-control"] == "no-store"


def test_database_reads_run_off_the_reactor_thread(http, monkeypatch):
    import threading

    from switch.http import queries

    seen = []
    real = queries.merchants

    def spy(*args, **kwargs):
        seen.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(queries, "merchants", spy)
    assert http("/api/merchants", OPERATOR).status == 200
    assert seen and "reactor" not in seen  # tests/conftest.py names the reactor's thread "reactor"
