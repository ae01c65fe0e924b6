"""The object every pipeline step reads and writes, and the services the steps use."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from switch.issuer.model import Card, Issuer, Merchant, Product, Terminal
from switch.issuer.pan import mask_pan
from switch.issuer.secrets import Track2

log = logging.getLogger("acqsim.auth")


def mti_class(mti: str) -> str:
    """0201 -> 0200, 0421 -> 0420: repeats are the same request."""
    return mti[:3] + "0" if len(mti) == 4 else mti


@dataclass(init=False)
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
    offus_issuer: str | None = None  # the remote issuer this request went to, or whose original it follows
    emv: dict[str, Any] | None = None  # verified ARQC inputs and ARPC (arqc step)
    # The limit-counter change the limits step counted (card_id, category, periods, amount, count): given
    # back if the request ends declined.
    usage_taken: tuple | None = None
    finished: bool = False  # set by a step that produced the whole answer (a duplicate's stored one)
    deadline: float | None = None  # time.monotonic() after which nothing is booked: answered 91 instead
    # The store's sync, left by the runner to the duplicate check (which reads the generation with its query).
    sync: Any = field(default=None, repr=False, compare=False)

    # Derived from `request` once, when it is set (steps read them many times per request). A step that
    # changes the request assigns a new dict (the reversal takes the original's processing code), which
    # derives them again: never change ctx.request in place.
    mti: str = field(init=False, repr=False, compare=False)  # MTI class: 0201 -> 0200
    proc: str = field(init=False, repr=False, compare=False)
    txn_type: str = field(init=False, repr=False, compare=False)
    amount: int = field(init=False, repr=False, compare=False)  # -1 when field 4 is not digits
    tid: str = field(init=False, repr=False, compare=False)
    stan: str = field(init=False, repr=False, compare=False)
    chip: bool = field(init=False, repr=False, compare=False)  # POS entry mode 05x/07x: chip (iCVV in track 2)

    def __init__(self, request: dict[str, str], now: datetime | None = None, listener_dialect: str = "ascii87",
                 **others: Any) -> None:
        # Written out (the dataclass's would assign all 25 fields, ~1.7 us a request): a field left at its
        # default is read from the class. `others`: any other field, as dataclasses.replace passes them all.
        self.request = request
        self.now = datetime.now(UTC) if now is None else now
        self.listener_dialect = listener_dialect
        self.response = {}
        for name, value in others.items():
            if name not in _INIT_FIELDS:
                raise TypeError(f"AuthContext() got an unexpected keyword argument {name!r}")
            setattr(self, name, value)

    @property
    def masked_pan(self) -> str:
        return mask_pan(self.pan or self.request.get("2") or (self.track2.pan if self.track2 else ""))

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


class _DerivingRequest:
    """`ctx.request = ...` also derives the values steps read many times. A descriptor with __set__ and no
    __get__: reading ctx.request stays a plain instance-dict read (it is read ~15 times per request)."""

    def __set__(self, ctx: AuthContext, request: dict[str, str]) -> None:
        ctx.__dict__["request"] = request
        ctx.mti = mti_class(request.get("t", ""))
        ctx.proc = proc = request.get("3", "000000")
        ctx.txn_type = proc[:2]
        amount = request.get("4", "0")
        ctx.amount = int(amount) if amount.isdigit() else -1
        ctx.tid = request.get("41", "").strip()
        ctx.stan = request.get("11", "")
        ctx.chip = request.get("22", "")[:2] in ("05", "07")


# Set after @dataclass: in the class body it would be taken for the field's default.
AuthContext.request = _DerivingRequest()  # type: ignore[assignment]
_INIT_FIELDS = frozenset(f.name for f in fields(AuthContext) if f.init)
