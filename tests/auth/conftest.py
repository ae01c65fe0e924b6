from __future__ import annotations

import pytest

from switch.auth.authorizer import build_services
from switch.auth.runner import Runner
from switch.issuer.fixtures import load_into
from switch.issuer.pan import PanVault
from switch.store import open_database
from tests.auth.harness import FX


@pytest.fixture(scope="module")
def hsm():
    from hsm_emulator.hsm import Hsm

    return Hsm()


@pytest.fixture
def world(tmp_path, hsm):
    """(runner, services, funds) over a fresh SQLite database with the fixtures loaded."""
    engine = open_database(None, tmp_path)
    yield _world(engine, hsm)
    engine.dispose()


@pytest.fixture
def both_world(engine, hsm):
    """The same as `world`, on SQLite and on PostgreSQL (tests/conftest.py `engine`)."""
    return _world(engine, hsm)


def _world(engine, hsm):
    from switch.auth.wallets_funds import WalletsFunds
    from switch.wallets.merchants import load_merchant_fixtures

    load_merchant_fixtures(engine)
    funds = WalletsFunds(engine)
    load_into(engine, hsm, FX, funds, PanVault.from_hex(FX.card_data_key()))
    services = build_services(engine, hsm, {}, funds=funds)
    return Runner(services), services, funds
