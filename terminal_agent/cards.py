"""Test cards as the terminal side sees them: what is on the stripe, on the chip and in the cardholder's head.

Cards come from the shipped fixtures (fixtures/cards.yaml, `acqsim fixtures show --json` layout) or from any
YAML/JSON file with a top-level `cards` list. Full tracks, PINs and keys stay in memory only.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from switch.wire.pan import mask_pan
from terminal_agent.readers.tracks import TRACK1, TRACK2, parse_track2, track1_body, track2_body, with_lrc


@dataclass
class Card:
    pan: str
    expiry: str                        # YYMM
    service_code: str = "201"          # 2xx = international with chip, 1 = normal authorisation, 0 = PIN
    name: str = "TEST/CARDHOLDER"
    discretionary: str = "0000000000"  # track 2 discretionary data (PVKI/PVV/CVV as the issuer lays it out)
    pin: str | None = None
    psn: str = "00"
    mk_ac: str | None = None           # issuer master key for application cryptograms (clear test key, hex)
    icc_mk_ac: str | None = None       # or the card's own AC master key, already derived (fixtures show)
    icc_discretionary: str | None = None  # track 2 equivalent discretionary data on the chip (iCVV)
    scheme: str = "visa"               # visa (CVN 10) or mastercard (CVN 16)
    currency: str = "368"
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # never print a full PAN, PIN or key
        return f"Card({mask_pan(self.pan)}, {self.scheme})"

    @property
    def has_chip(self) -> bool:
        return bool(self.mk_ac or self.icc_mk_ac) and self.service_code[:1] in ("2", "6")

    def track2_body(self) -> str:
        return track2_body(self.pan, self.expiry, self.service_code, self.discretionary)

    def track1_body(self) -> str:
        return track1_body(self.pan, self.name, self.expiry, self.service_code, self.discretionary)

    def recorded_tracks(self) -> tuple[str, str]:
        """Tracks 1 and 2 as encoded on the stripe: SS data ES LRC."""
        return with_lrc(TRACK1, self.track1_body()), with_lrc(TRACK2, self.track2_body())


def card_from_dict(d: dict[str, Any]) -> Card:
    """Build a Card from a fixture entry, tolerant of the field names the fixture files may use."""
    pan = str(d["pan"])
    expiry = str(d.get("expiry") or "")
    service_code = str(d.get("service_code") or "201")
    discretionary = str(d.get("discretionary") or "")
    if d.get("track2"):
        t2 = parse_track2(str(d["track2"]).strip(";?").replace("D", "="))
        expiry = expiry or t2.expiry
        service_code, discretionary = t2.service_code, t2.discretionary
    icc_disc = None
    if d.get("icc_track2"):
        icc_disc = parse_track2(str(d["icc_track2"]).strip(";?").replace("D", "=")).discretionary
    emv = d.get("emv") or {}
    mk_ac = d.get("mk_ac") or d.get("emv_mk_ac") or d.get("mkac") or emv.get("mk_ac")
    scheme = str(d.get("scheme") or emv.get("scheme") or ("mastercard" if pan[:1] == "5" or pan[:2] == "22" else "visa"))
    return Card(
        pan=pan, expiry=expiry, service_code=service_code, discretionary=discretionary or "0000000000",
        name=str(d.get("name") or d.get("cardholder") or "TEST/CARDHOLDER"), pin=str(d["pin"]) if d.get("pin") else None,
        psn=str(d.get("psn") or emv.get("psn") or "00").zfill(2), mk_ac=str(mk_ac) if mk_ac else None,
        icc_mk_ac=str(d["icc_mk_ac"]) if d.get("icc_mk_ac") else None, icc_discretionary=icc_disc,
        scheme=scheme.lower(), currency=str(d.get("currency") or "682"),
        extra={k: v for k, v in d.items() if k in ("label", "expect", "amount", "terminal", "status", "balance")},
    )


def _fixture_file(path: str | Path | None, stem: str) -> Path | None:
    if path:
        return Path(path)
    env = os.environ.get("ACQSIM_TERMINAL_FIXTURES")
    if env:
        return Path(env)
    from switch.paths import fixtures_dir

    for ext in ("yaml", "yml", "json"):
        candidate = fixtures_dir() / f"{stem}.{ext}"
        if candidate.exists():
            return candidate
    return None


def load_document(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def _entries(doc: Any, key: str) -> list[dict[str, Any]]:
    if isinstance(doc, dict):
        doc = doc.get(key, [])
    return [e for e in (doc or []) if isinstance(e, dict)]


def load_cards(path: str | Path | None = None) -> list[Card]:
    """Cards from `path`, $ACQSIM_TERMINAL_FIXTURES, or the shipped fixtures as `acqsim fixtures show`
    prints them (tracks, CVVs and chip keys computed from the issuer's test keys)."""
    if path is None and not os.environ.get("ACQSIM_TERMINAL_FIXTURES"):
        try:
            from switch.issuer.fixtures import load_fixtures, show
        except ImportError:
            pass
        else:
            return [card_from_dict(e) for e in show(load_fixtures())["cards"]]
    f = _fixture_file(path, "cards")
    if f is None or not f.exists():
        return []
    return [card_from_dict(e) for e in _entries(load_document(f), "cards")]


def find_card(pan: str, path: str | Path | None = None) -> Card:
    for card in load_cards(path):
        if card.pan == pan:
            return card
    raise KeyError(f"card {mask_pan(pan)} is not in the fixtures")
