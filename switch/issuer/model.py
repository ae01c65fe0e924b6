"""Plain records the pipeline works with (no clear PAN except in the per-request `Card.pan`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

CARD_STATUSES = ("active", "blocked", "lost", "stolen", "expired")
PIN_TRY_LIMIT = 3  # B5: the third wrong PIN blocks the card


@dataclass
class Issuer:
    issuer_id: str
    name: str
    kind: str  # local | remote
    cvk: str | None = None  # keys under the LMK
    pvk: str | None = None
    imk_ac: str | None = None
    pvki: str = "1"
    dec_table: str = "0123456789012345"
    route: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: Any) -> Issuer:
        m = row._mapping
        return cls(issuer_id=m["issuer_id"], name=m["name"], kind=m["kind"], cvk=m["cvk"], pvk=m["pvk"],
                   imk_ac=m["imk_ac"], pvki=m["pvki"] or "1", dec_table=m["dec_table"] or "0123456789012345",
                   route=json.loads(m["route"]) if m["route"] else None)


@dataclass
class Product:
    code: str
    issuer_id: str
    scheme: str  # visa | mastercard
    pin_method: str  # pvv | ibm
    name: str = ""


@dataclass
class Card:
    card_id: int
    pan: str  # clear, in memory for one request only
    pan_masked: str
    issuer_id: str
    product: str
    expiry: str
    service_code: str
    psn: str
    pvv: str | None
    pin_offset: str | None
    status: str
    pin_tries: int
    account_id: str
    currency: str
    kyc_level: str
    limits: dict[str, Any] = field(default_factory=dict)
    status_reason: str | None = None
    cardholder: str | None = None

    @classmethod
    def from_row(cls, row: Any, pan: str) -> Card:
        m = row._mapping
        return cls(card_id=m["card_id"], pan=pan, pan_masked=m["pan_masked"], issuer_id=m["issuer_id"],
                   product=m["product"], expiry=m["expiry"], service_code=m["service_code"], psn=m["psn"],
                   pvv=m["pvv"], pin_offset=m["pin_offset"], status=m["status"], pin_tries=m["pin_tries"],
                   account_id=m["account_id"], currency=m["currency"], kyc_level=m["kyc_level"],
                   limits=json.loads(m["limits"]) if m["limits"] else {}, status_reason=m["status_reason"],
                   cardholder=m["cardholder"])

    @property
    def pin_locked(self) -> bool:
        return self.pin_tries >= PIN_TRY_LIMIT


@dataclass
class Terminal:
    tid: str
    mid: str
    kind: str  # pos | atm
    currency: str
    status: str
    mac_required: bool
    tmk: str | None = None  # under the LMK
    tpk: str | None = None
    tak: str | None = None
    bdk: str | None = None
    pin_format: str = "01"

    @classmethod
    def from_row(cls, row: Any) -> Terminal:
        m = row._mapping
        return cls(**{k: m[k] for k in ("tid", "mid", "kind", "currency", "status", "mac_required", "tmk",
                                        "tpk", "tak", "bdk", "pin_format")})


@dataclass
class Merchant:
    mid: str
    name: str
    mcc: str
    currency: str
    status: str  # active, suspended, closed, written_off
    flags: tuple[str, ...] = ()
    status_reason: str = ""
