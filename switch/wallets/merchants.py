"""Merchant fixtures: fixtures/merchants.yaml into the merchants table (upsert, idempotent)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from sqlalchemy import Engine, select, update

from switch.paths import fixtures_dir
from switch.wallets import tables as W
from switch.wallets.contracts import load_contracts
from switch.wallets.currency import currency

STATUSES = ("active", "suspended", "closed", "written_off")


def read_merchant_fixtures(path: str | Path | None = None) -> list[dict]:
    """The merchants as table rows (validated: 15-character MID, 4-digit MCC, known contract and currency)."""
    data = yaml.safe_load(Path(path or fixtures_dir() / "merchants.yaml").read_text())
    contracts = load_contracts()
    rows = []
    for m in data["merchants"]:
        mid = str(m["mid"])
        if len(mid) != 15:
            raise ValueError(f"merchant {mid!r}: a MID has 15 characters")
        if m.get("contract", "standard") not in contracts:
            raise ValueError(f"merchant {mid}: unknown contract {m.get('contract')!r}")
        status = m.get("status", "active")
        if status not in STATUSES:
            raise ValueError(f"merchant {mid}: status must be one of {STATUSES}")
        rows.append({
            "mid": mid, "name": str(m["name"]), "mcc": str(m["mcc"]).zfill(4),
            "currency": currency(m.get("currency", "682")).numeric, "status": status,
            "flags": ",".join(m.get("flags", [])), "contract": m.get("contract", "standard"),
            "pos_devices": int(m.get("pos_devices", 1)), "calendar": str(m.get("calendar", "")),
            "payout_delay_days": int(m.get("payout_delay_days", -1)),
            "status_reason": str(m.get("status_reason", "")), "dormancy_notice_on": None,
            "opened_on": m.get("opened_on") or None,
        })
    return rows


def load_merchant_fixtures(engine: Engine, path: str | Path | None = None, today: dt.date | None = None) -> int:
    """Insert or update the fixture merchants; returns how many. opened_on defaults to `today` for new ones."""
    rows = read_merchant_fixtures(path)
    today = today or dt.date.today()
    with engine.begin() as conn:
        have = set(conn.execute(select(W.merchants.c.mid)).scalars())
        for row in rows:
            if row["mid"] in have:
                values = {k: v for k, v in row.items() if k not in ("mid", "dormancy_notice_on", "opened_on")}
                conn.execute(update(W.merchants).where(W.merchants.c.mid == row["mid"]).values(**values))
            else:
                conn.execute(W.merchants.insert(), [{**row, "opened_on": row["opened_on"] or today}])
    return len(rows)
