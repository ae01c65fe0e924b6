"""Cards and terminals referenced from scenarios as `fixture: ...`, from the shipped test data.

The pipeline owns fixtures/ and `switch.issuer.fixtures` (the `acqsim fixtures show --json` document:
cards with track 2, CVV, ICC track 2 and PSN computed from the issuer's clear test keys, terminals with
their clear test TPK). The runner reads that same view, so a scenario that says `fixture: good-visa`
builds exactly the card data the switch expects. Test data only: clear keys here are published test keys.
"""

from __future__ import annotations

import functools
from typing import Any

from terminal_agent.scenario.model import Card, Terminal


@functools.lru_cache(maxsize=1)
def _view() -> tuple[dict[str, Any], dict[str, str]]:
    from switch.issuer.fixtures import load_fixtures, show

    fx = load_fixtures()
    doc = show(fx)
    imk = {}
    for card in doc["cards"]:
        routed = fx.issuer_for(str(card["pan"]))
        if routed and routed[0].get("kind") == "local":
            imk[str(card["pan"])] = str(routed[0]["keys"]["imk_ac"])
    return doc, imk


def card(ref: str, name: str) -> Card | None:
    """A fixture card by label or PAN."""
    doc, imk = _view()
    for rec in doc["cards"]:
        if ref in (str(rec.get("label")), str(rec.get("pan"))):
            c = Card(name=name, pan=str(rec["pan"]), expiry=str(rec.get("expiry", "3012")).zfill(4),
                     service_code=str(rec.get("service_code", "201")), pin=_s(rec.get("pin")),
                     track2=_s(rec.get("track2")), cvv=_s(rec.get("cvv")), psn=str(rec.get("psn", "00")),
                     scheme=str(rec.get("scheme", "visa")), imk_ac=imk.get(str(rec["pan"])))
            c.icc_track2 = _s(rec.get("icc_track2"))
            if c.service_code.startswith("1"):  # magnetic stripe only (no chip): swipe by default
                c.entry = "magstripe"
            if c.icc_track2 is None:  # not a local issuer's card: nothing to build an ARQC from
                c.entry = "magstripe" if c.entry == "chip" else c.entry
            return c
    return None


def card_labels() -> list[str]:
    return [str(rec.get("label")) for rec in _view()[0]["cards"]]


def terminal(ref: str) -> Terminal | None:
    """A fixture terminal by TID, with its clear test TPK."""
    doc, _ = _view()
    for rec in doc["terminals"]:
        if ref == str(rec.get("tid")):
            return Terminal(tid=str(rec["tid"]), mid=str(rec["mid"]), kind=str(rec.get("kind", "pos")),
                            currency=str(rec.get("currency", "682")), tpk=_s(rec.get("tpk")),
                            country=str(rec.get("currency", "682")))
    return None


def _s(v: Any) -> str | None:
    return None if v is None else str(v)
