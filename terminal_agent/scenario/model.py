"""The parsed form of a scenario file (see docs/scenarios.md): terminal, cards, steps, expectations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Step kinds that send one message and get one answer.
MESSAGE_KINDS = (
    "echo", "sign_on", "purchase", "refund", "reversal", "preauth", "completion", "balance", "cash",
    "transfer", "batch_close", "raw",
)
STEP_KINDS = MESSAGE_KINDS + ("wait", "parallel", "include")

# What a step may expect of the answer (`outcome:`): the normal case is an answer; host-simulation tests
# also expect silence, a closed connection, an undecodable message or the answer twice.
OUTCOMES = ("answer", "no_answer", "closed", "garbled", "duplicate")

EXPECT_OPS = ("equal", "regex", "present", "absent", "echo", "one_of", "not")


@dataclass
class Terminal:
    tid: str = "TERM0001"
    mid: str = "MERCHANT0000001"
    currency: str = "840"
    kind: str = "pos"
    tpk: str | None = None  # clear test TPK (hex) for ISO-0 PIN blocks; test keys only
    country: str = "840"
    acquirer: str = "00000000001"
    extra: dict[str, str] = field(default_factory=dict)  # fields added to every request (e.g. 18, 43)


@dataclass
class Card:
    name: str
    pan: str
    expiry: str = "3012"  # YYMM
    service_code: str = "201"
    pin: str | None = None
    track2: str | None = None
    icc_track2: str | None = None  # track 2 equivalent (tag 57) with the iCVV, sent for chip/contactless
    cvv: str | None = None
    psn: str = "01"
    scheme: str = "visa"
    imk_ac: str | None = None  # issuer master key for AC (clear test key, hex) - lets the runner build ARQCs
    entry: str = "chip"  # default entry mode: chip, contactless, magstripe, manual


@dataclass
class Expectation:
    field: str  # ISO field number as a string, or "t" for the MTI
    op: str  # one of EXPECT_OPS
    value: Any = None  # str for equal/regex/not, list[str] for one_of
    file: str = ""
    line: int = 0

    def describe(self) -> str:
        if self.op in ("present", "absent", "echo"):
            return f"field {self.field} {self.op}"
        return f"field {self.field} {self.op} {self.value!r}"


@dataclass
class Step:
    kind: str
    params: Any  # LDict/str/list as written; ${var} substituted when the step runs
    name: str
    file: str
    line: int
    id: str | None = None
    expect: list[Expectation] = field(default_factory=list)
    capture: dict[str, str] = field(default_factory=dict)  # variable -> "37" | "request.11"
    timeout: float | None = None
    repeat: int = 1
    outcome: str = "answer"
    sessions: list[Session] = field(default_factory=list)  # for kind == "parallel"
    wait_s: float = 0.0  # for kind == "wait"


@dataclass
class Session:
    name: str
    steps: list[Step]
    terminal: Terminal | None = None  # None: the scenario's terminal


@dataclass
class Scenario:
    name: str
    file: str
    terminal: Terminal
    cards: dict[str, Card]
    steps: list[Step]
    variables: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    description: str = ""
    tags: list[str] = field(default_factory=list)
    dialect: str | None = None
    framing: str | None = None
    target: str | None = None


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.]*)\}")


class MissingVariable(KeyError):
    pass


def substitute(value: Any, variables: dict[str, str]) -> Any:
    """Replace ${name} in every string inside `value` (dicts and lists are copied, not changed)."""
    if isinstance(value, str):
        def repl(m: re.Match[str]) -> str:
            name = m.group(1)
            if name not in variables:
                raise MissingVariable(name)
            return str(variables[name])
        return _VAR.sub(repl, value)
    if isinstance(value, dict):
        out = type(value)() if type(value) is not dict else {}
        for attr in ("file", "line", "path", "lines"):
            if hasattr(value, attr):
                setattr(out, attr, getattr(value, attr))
        for k, v in value.items():
            out[k] = substitute(v, variables)
        return out
    if isinstance(value, list):
        out_l = type(value)() if type(value) is not list else []
        for attr in ("file", "line", "path", "lines"):
            if hasattr(value, attr):
                setattr(out_l, attr, getattr(value, attr))
        out_l.extend(substitute(v, variables) for v in value)
        return out_l
    return value
