"""Shipped test data: read the YAML fixtures, print them (`fixtures show`), load them into a database.

The YAML holds clear TEST keys and PINs on purpose (a test lab). Loading imports every key into the HSM
under the LMK and stores only those cryptograms, the encrypted PAN and its keyed hash (Q2).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine, delete, insert, select

from switch.issuer import tables as t
from switch.issuer.pan import PanVault
from switch.issuer.secrets import compute_card_secrets
from switch.paths import fixtures_dir

CARD_JSON_KEYS = ("pan", "expiry", "pin", "track2", "cvv", "service_code", "status", "balance", "currency")


def _read(path: Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


@dataclass
class Fixtures:
    issuers: list[dict]
    cards: list[dict]
    terminals: list[dict]
    allowed_types: dict[str, list[str]]
    keys: dict
    limits: dict
    blocked_mcc: dict[str, str]
    merchants: list[dict] = field(default_factory=list)

    def issuer_for(self, pan: str) -> tuple[dict, dict] | None:
        best = None
        for iss in self.issuers:
            for b in iss.get("bins", ()):
                low, high = str(b["low"]), str(b["high"])
                if low <= pan[: len(low)] <= high and (best is None or len(low) > best[2]):
                    prod = next(p for p in iss["products"] if p["code"] == b["product"])
                    best = (iss, prod, len(low))
        return (best[0], best[1]) if best else None

    def card_data_key(self, config: dict | None = None) -> str:
        return ((config or {}).get("card_data_key") or os.environ.get("ACQSIM_CARD_DATA_KEY")
                or self.keys["card_data_key"])


def load_fixtures(directory: str | Path | None = None) -> Fixtures:
    d = Path(directory) if directory else fixtures_dir()
    cards_doc = _read(d / "cards.yaml")
    defaults = cards_doc.get("defaults", {})
    cards = [{**defaults, **c} for c in cards_doc.get("cards", [])]
    term_doc = _read(d / "terminals.yaml")
    merchants_path = d / "merchants.yaml"
    merchants_doc = _read(merchants_path) if merchants_path.exists() else {}
    merchants = merchants_doc.get("merchants", merchants_doc) if isinstance(merchants_doc, dict) else merchants_doc
    return Fixtures(
        issuers=_read(d / "issuers.yaml").get("issuers", []),
        cards=cards,
        terminals=term_doc.get("terminals", []),
        allowed_types=term_doc.get("allowed_types", {}),
        keys=_read(d / "keys" / "test_keys.yaml"),
        limits=_read(d / "limits.yaml"),
        blocked_mcc={str(e["mcc"]): e.get("reason", "") for e in _read(d / "blocked_mcc.yaml").get("blocked_mcc", [])},
        merchants=list(merchants or []),
    )


def card_view(fx: Fixtures, card: dict) -> dict:
    """One card as `fixtures show --json` prints it (DESIGN.md shape plus label/expect/icc data)."""
    pan = str(card["pan"])
    out: dict[str, Any] = {k: card.get(k) for k in CARD_JSON_KEYS}
    out["pan"] = pan
    routed = fx.issuer_for(pan)
    if routed and routed[0].get("kind") == "local":
        iss, prod = routed
        sec = compute_card_secrets(iss["keys"], prod["pin_method"], pan=pan,
                                   pin=str(card.get("issuer_pin") or card["pin"]), expiry=str(card["expiry"]),
                                   service_code=str(card["service_code"]), psn=str(card["psn"]),
                                   bad_cvv=bool(card.get("bad_cvv")))
        out.update(track2=sec.track2, cvv=sec.cvv, icc_track2=sec.icc_track2, icvv=sec.icvv,
                   psn=str(card["psn"]), scheme=prod["scheme"], icc_mk_ac=sec.icc_mk_ac)
    else:
        # Cards outside the local issuer (remote, unknown, bad check digit): a plausible track with a
        # zero CVV - the switch never gets as far as checking it.
        out.update(track2=f"{pan}={card['expiry']}{card['service_code']}1000000000000", cvv="000")
    out.update(label=card.get("label"), expect=card.get("expect"), amount=card.get("amount"),
               terminal=card.get("terminal", "POS00001"), note=card.get("note"))
    return {k: v for k, v in out.items() if v is not None}


def show(fx: Fixtures) -> dict:
    """The `acqsim fixtures show --json` document (DESIGN.md)."""
    terms = []
    for term in fx.terminals:
        keys = fx.keys.get("terminals", {}).get(term["tid"], {})
        row = {"tid": term["tid"], "mid": str(term["mid"]), "kind": term["kind"], "currency": str(term["currency"]),
               "tpk": keys.get("tpk"), "tmk": keys.get("tmk"), "tak": keys.get("tak"),
               "mac_required": bool(term.get("mac_required")), "status": term.get("status", "active")}
        if term.get("bdk"):
            row["bdk"] = fx.keys.get("bdk", {}).get(term["bdk"])
        terms.append(row)
    merchants = [{"mid": str(m["mid"]), "name": m.get("name"), "mcc": str(m.get("mcc")),
                  "currency": str(m.get("currency"))} for m in fx.merchants]
    return {"cards": [card_view(fx, c) for c in fx.cards], "terminals": terms, "merchants": merchants}


def load_into(engine: Engine, hsm: Any, fx: Fixtures, accounts: Any, vault: PanVault) -> dict[str, int]:
    """Replace issuers, BIN ranges, products and terminals; add cards not yet present (by PAN hash).

    `hsm` needs `import_clear_key(clear_hex, key_type, scheme)`; `accounts` needs
    `open_card_account(card_ref, currency, opening_balance) -> account id` (switch.wallets adapter).
    """
    def lmk(clear: str | None, key_type: str) -> str | None:
        return hsm.import_clear_key(clear, key_type, "U")[0] if clear else None

    def route_json(route: dict | None) -> str | None:
        if not route:
            return None
        route = dict(route)
        if route.get("zpk"):  # zone PIN key shared with the remote issuer: stored under the LMK only
            route["zpk"] = lmk(route["zpk"], "ZPK")
        return json.dumps(route)

    counts = {"issuers": 0, "cards": 0, "terminals": 0}
    with engine.begin() as conn:
        for table in (t.bin_ranges, t.products, t.issuers, t.terminals):
            conn.execute(delete(table))
        for iss in fx.issuers:
            keys = iss.get("keys", {})
            conn.execute(insert(t.issuers).values(
                issuer_id=iss["id"], name=iss["name"], kind=iss.get("kind", "local"),
                cvk=lmk(keys.get("cvk"), "CVK"), pvk=lmk(keys.get("pvk"), "PVK"),
                imk_ac=lmk(keys.get("imk_ac"), "MK-AC"), pvki=str(keys.get("pvki", "1")),
                dec_table=str(keys.get("dec_table", "0123456789012345")),
                route=route_json(iss.get("route"))))
            for p in iss.get("products", ()):
                conn.execute(insert(t.products).values(code=p["code"], issuer_id=iss["id"], scheme=p["scheme"],
                                                       pin_method=p["pin_method"], name=p.get("name")))
            for b in iss.get("bins", ()):
                conn.execute(insert(t.bin_ranges).values(low=str(b["low"]), high=str(b["high"]),
                                                         issuer_id=iss["id"], product=b["product"]))
            counts["issuers"] += 1
        for term in fx.terminals:
            keys = fx.keys.get("terminals", {}).get(term["tid"], {})
            bdk = fx.keys.get("bdk", {}).get(term["bdk"]) if term.get("bdk") else None
            conn.execute(insert(t.terminals).values(
                tid=term["tid"], mid=str(term["mid"]), kind=term["kind"], currency=str(term["currency"]),
                status=term.get("status", "active"), mac_required=bool(term.get("mac_required")),
                tmk=lmk(keys.get("tmk"), "TMK"), tpk=lmk(keys.get("tpk"), "TPK"), tak=lmk(keys.get("tak"), "TAK"),
                bdk=lmk(bdk, "BDK"), pin_format="01"))
            counts["terminals"] += 1
        existing = {r[0] for r in conn.execute(select(t.cards.c.pan_hash))}
    from switch.issuer.store import IssuerStore

    store = IssuerStore(engine, vault)
    for card in fx.cards:
        pan = str(card["pan"])
        if card.get("load") is False or vault.lookup_hash(pan) in existing:
            continue
        routed = fx.issuer_for(pan)
        if not routed:
            continue
        iss, prod = routed
        sec = compute_card_secrets(iss["keys"], prod["pin_method"], pan=pan,
                                   pin=str(card.get("issuer_pin") or card["pin"]), expiry=str(card["expiry"]),
                                   service_code=str(card["service_code"]), psn=str(card["psn"]))
        card_id = store.add_card(
            pan=pan, issuer_id=iss["id"], product=prod["code"], expiry=str(card["expiry"]),
            service_code=str(card["service_code"]), psn=str(card["psn"]), pvv=sec.pvv, pin_offset=sec.pin_offset,
            account_id="", currency=str(card["currency"]), kyc_level=card.get("kyc", "unverified"),
            status=card.get("status", "active"), pin_tries=int(card.get("pin_tries", 0)),
            limits=card.get("limits"), cardholder=card.get("cardholder"))
        account = accounts.open_card_account(f"card:{card_id}", str(card["currency"]), int(card.get("balance", 0)))
        with engine.begin() as conn:
            conn.execute(t.cards.update().where(t.cards.c.card_id == card_id).values(account_id=str(account)))
        counts["cards"] += 1
    store.refresh()
    return counts
