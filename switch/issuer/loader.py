"""Loading the shipped test data into a database: merchants (ledger helper's loader), issuers, BIN
ranges, products, terminals and cards with funded cardholder accounts. Used by `acqsim fixtures load`
and by a switch that starts on an empty database (`ensure_fixtures`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, func, select

from switch.issuer import tables as t
from switch.issuer.fixtures import Fixtures, load_fixtures, load_into
from switch.issuer.pan import PanVault


def read_config(path: str | Path | None) -> dict:
    if not path:
        return {}
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def default_hsm() -> Any:
    from hsm_emulator import Hsm

    return Hsm()


def vault_for(config: dict | None = None, fx: Fixtures | None = None) -> PanVault:
    fx = fx or load_fixtures((config or {}).get("fixtures_dir"))
    return PanVault.from_hex(fx.card_data_key(config))


def load_all(engine: Engine, hsm: Any = None, config: dict | None = None) -> dict[str, int]:
    """Load everything; idempotent (reference data replaced, existing cards kept with their state)."""
    from switch.auth.wallets_funds import WalletsFunds
    from switch.wallets.merchants import load_merchant_fixtures

    config = config or {}
    fx = load_fixtures(config.get("fixtures_dir"))
    merchants_path = Path(config["fixtures_dir"]) / "merchants.yaml" if config.get("fixtures_dir") else None
    n_merchants = load_merchant_fixtures(engine, merchants_path)
    counts = load_into(engine, hsm or default_hsm(), fx, WalletsFunds(engine, config), vault_for(config, fx))
    return {"merchants": n_merchants, **counts}


def ensure_fixtures(engine: Engine, hsm: Any = None, config: dict | None = None) -> bool:
    """Load the fixtures when the database has no cards yet; True when it loaded them."""
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(t.cards)).scalar_one():
            return False
    load_all(engine, hsm, config)
    return True
