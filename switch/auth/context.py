"""The object every pipeline step reads and writes, and the services the steps use."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from switch.issuer.model import Card, Issuer, Merchant, Product, Terminal
from switch.issuer.pan import mask_pan
from switch.issuer.secrets import Track2

log = logging.getLogger("acqsim.auth")


def mti_class(mti: str) -> str:
    """0201 -> 0200, 0421 -> 0420: repeats are the same request."""
    return mti[:3] + "0" if len(mti) == 4 else mti


@dataclass
class AuthContext:
    request: dict[str, str]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    listener_dialect: str = "ascii87"
    terminal: Terminal | None = None
    merchant: Merchant | None = None
    card: Card | None = None
    issuer: Issuer | None = None
    product: Product | None = None
    pan: str | None = None
    track2: Track2 | None = None
    original: dict[str, Any] | None = None  # journal row of the original (reversal, completion)
    response: dict[str, str] = field(default_factory=dict)
    rc: str | None = None
    step: str | None = None
    reason: str | None = None
    stored_answer: dict[str, str] | None = None  # duplicate: the answer given the first time
    digest: str = ""
    txn_ref: str = ""  # ledger idempotency key of this request
    state: str | None = None  # what the journal records (approved, held, reversed ...)
    remote: bool = False
    emv: dict[str, Any] | None = None  # verified ARQC inputs and ARPC (arqc step)
    usage: tuple | None = None  # limit-counter change (card_id, category, periods, amount, count)
    finished: bool = False  # set by a step that produced the whole answer (duplicate, remote issuer)
    deadline: float | None = None  # time.monotonic() after which nothing is booked: answered 91 instead

    @property
    def mti(self) -> str:
        return mti_class(self.request.get("t", ""))

    @property
    def proc(self) -> str:
        return self.request.get("3", "000000")

    @property
    def txn_type(self) -> str:
        return self.proc[:2]

    @property
    def amount(self) -> int:
        v = self.request.get("4", "0")
        return int(v) if v.isdigit() else -1

    @property
    def tid(self) -> str:
        return self.request.get("41", "").strip()

    @property
    def stan(self) -> str:
        return self.request.get("11", "")

    @property
    def masked_pan(self) -> str:
        return mask_pan(self.pan or self.request.get("2") or (self.track2.pan if self.track2 else ""))

    @property
    def chip(self) -> bool:
        """POS entry mode 05x/07x: chip or contactless chip (track 2 then carries an iCVV)."""
        return self.request.get("22", "")[:2] in ("05", "07")

    def decline(self, rc: str, reason: str) -> None:
        self.rc, self.reason = rc, reason

    @property
    def done(self) -> bool:
        return self.rc is not None or self.finished


@dataclass
class Services:
    """What the steps call: all synchronous, run on a worker thread."""

    store: Any  # switch.issuer.store.IssuerStore
    hsm: Any  # hsm_emulator.Hsm or HsmClient
    funds: Any  # switch.auth.funds.Funds
    journal: Any  # switch.auth.journal.Journal
    policy: Any  # switch.auth.policy.Policy
    remote: Any = None  # switch.auth.remote.RemoteIssuers
    approval_counter: Any = None
