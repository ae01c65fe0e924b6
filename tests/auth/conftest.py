from __future__ import annotations

import pytest
from sqlalchemy import insert

from switch.auth.authorizer import build_services
from switch.auth.runner import Runner
from switch.issuer.fixtures import load_into
from switch.issuer.pan import PanVault
from switch.store import open_database
from tests.auth.harness import FX, MERCHANTS


def _merchant_row(m: dict) -> dict:
    return {"mid": m["mid"], "name": m["name"], "mcc": m["mcc"], "currency": "682", "status": m["status"],
            "flags": m["flags"], "contract": "standard", "pos_devices": 1, "calendar": "SA",
            "payout_delay_days": 1, "status_reason": m.get("status_reason", "")}


@pytest.fixture(scope="module")
def hsm():
    from hsm_emulator.hsm import Hsm

    return Hsm()


@pytest.fixture
def world(tmp_path, hsm):
    """(runner, services, funds) over a fresh SQLite database with the fixtures loaded."""
    from switch.wallets.tables import merchants

    engine = open_database(None, tmp_path)
    with engine.begin() as conn:
        for m in MERCHANTS:
            conn.execute(insert(merchants).values(**_merchant_row(m)))
    from switch.auth.wallets_funds import WalletsFunds

    funds = WalletsFunds(engine)
    load_into(engine, hsm, FX, funds, PanVault.from_hex(FX.card_data_key()))
    services = build_services(engine, hsm, {}, funds=funds)
    yield Runner(services), services, funds
    engine.dispose()
