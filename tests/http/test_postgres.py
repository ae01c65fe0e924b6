"""The API on PostgreSQL (the production store): every route answers the operator and the owner, and the
wallets equal switch.wallets' view. Skipped, saying so, when ACQSIM_TEST_PG_URL is unset."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import pytest
from sqlalchemy import text

from switch.http.api import ROUTES
from switch.wallets import merchant_wallets
from tests.http.world import MERCHANT, MID1, MID2, OPERATOR, build_world


@pytest.fixture(scope="module")
def pg_world(call_in_reactor, tmp_path_factory):
    import os

    url = os.environ.get("ACQSIM_TEST_PG_URL")
    if not url:
        pytest.skip("ACQSIM_TEST_PG_URL is not set: PostgreSQL tests skipped")
    from switch.store import open_database

    schema = "t_http_" + uuid.uuid4().hex[:12]
    world = build_world(call_in_reactor, tmp_path_factory.mktemp("pg"), url=url, schema=schema)
    yield world
    call_in_reactor(world.site.port.stopListening)
    call_in_reactor(world.switch.stop)
    world.engine.dispose()
    admin = open_database(url, migrate=False)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _get(world, path: str, token: str) -> tuple[int, bytes]:
    req = urllib.request.Request(world.base_url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=20) as res:
            return res.status, res.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_every_route_on_postgresql(pg_world):
    status, body = _get(pg_world, f"/api/transactions?mid={MID1}&limit=1", OPERATOR)
    txn = json.loads(body)["items"][0]["id"]
    for route in ROUTES:
        path = (route.pattern.replace("{mid}", MID1).replace("{tid}", "POS00001").replace("{card_id}", "1")
                .replace("{txn_id}", str(txn)))
        if route.pattern == "/api/statements":
            path += f"?mid={MID1}"
        assert _get(pg_world, path, OPERATOR)[0] == 200, path
        expected = 403 if route.access == "operator" else 200
        assert _get(pg_world, path, MERCHANT[MID1])[0] == expected, path
        if route.access == "scoped" and route.pattern != "/api/whoami":
            other = path if "{" in route.pattern or "?" in path else path + f"?mid={MID1}"
            assert _get(pg_world, other, MERCHANT[MID2])[0] == 403, other


def test_wallets_and_settlements_on_postgresql(pg_world):
    for mid in (MID1, MID2):
        status, body = _get(pg_world, f"/api/merchants/{mid}/wallets", MERCHANT[mid])
        assert json.loads(body)["items"] == merchant_wallets(pg_world.engine, mid)
    settlements = json.loads(_get(pg_world, "/api/settlements", OPERATOR)[1])["items"]
    assert [s["mid"] for s in settlements] == [MID2] and settlements[0]["gross"] == 500_00


def test_batch_totals_on_postgresql(pg_world):
    # SUM(bigint) is numeric on PostgreSQL: the API must still answer integers.
    from switch.wallets import Wallets

    cash = [a for a in pg_world.answers if a.get("41") == "ATM00001" and a["39"] == "00"]
    rec = Wallets(pg_world.engine).close_batch("ATM00001", "B0009", sales_count=len(cash),
                                               sales_amount=sum(int(a["4"]) for a in cash),
                                               refunds_count=0, refunds_amount=0)
    assert rec.in_balance
    batch = json.loads(_get(pg_world, "/api/batches", MERCHANT[MID2])[1])["items"][0]
    assert batch["sales_amount"] == 500_00 and isinstance(batch["sales_amount"], int)
