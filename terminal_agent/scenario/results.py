"""What a run produced: one StepResult per executed message step, grouped by scenario.

Requests and answers are kept as decoded dicts in memory only; every reporter renders them through
`masked()` or the wire layer's `dump()`, so no report carries a clear PAN, track, PIN block or ICC data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from switch.hostsim.yamlmarks import digits
from switch.wire import mask_field

PASSED, FAILED, ERROR = "passed", "failed", "error"


def masked(msg: dict[str, str] | None) -> dict[str, str] | None:
    """A copy safe to print or store: PAN 6+4, tracks reduced to the masked PAN, PIN block and ICC data hidden."""
    if msg is None:
        return None
    out = {}
    for k, v in msg.items():
        if k in ("p", "1"):  # bitmaps: the decoder's bookkeeping, not content
            continue
        if k == "55":
            out[k] = f"<{len(v) // 2} bytes>"
        elif k in ("64", "128"):
            out[k] = "*" * len(v)
        elif k in ("102", "103") and digits(v) and len(v) > 10:  # account ids: a card in transfers
            out[k] = mask_field("2", v)  # destination card of a transfer
        else:
            out[k] = mask_field(k, v)
    return out


@dataclass
class StepResult:
    scenario: str
    session: str
    name: str
    kind: str
    file: str
    line: int
    status: str = PASSED
    failures: list[str] = field(default_factory=list)
    request: dict[str, str] | None = None
    response: dict[str, str] | None = None
    outcome: str = ""
    duration: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "session": self.session, "kind": self.kind, "status": self.status,
                "location": f"{self.file}:{self.line}", "outcome": self.outcome,
                "duration_ms": round(self.duration * 1000, 1), "failures": self.failures, "notes": self.notes,
                "response_code": (self.response or {}).get("39"),
                "request": masked(self.request), "response": masked(self.response)}


@dataclass
class ScenarioResult:
    name: str
    file: str
    steps: list[StepResult] = field(default_factory=list)
    duration: float = 0.0
    error: str | None = None  # the scenario could not run at all (bad file, ...)

    @property
    def passed(self) -> bool:
        return self.error is None and all(s.passed for s in self.steps)

    def count(self, status: str) -> int:
        return sum(1 for s in self.steps if s.status == status)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "file": self.file, "passed": self.passed, "error": self.error,
                "duration_ms": round(self.duration * 1000, 1), "steps": [s.to_json() for s in self.steps]}


@dataclass
class RunResult:
    target: str
    scenarios: list[ScenarioResult] = field(default_factory=list)
    started: str = ""
    duration: float = 0.0

    @property
    def passed(self) -> bool:
        return bool(self.scenarios) and all(s.passed for s in self.scenarios)

    def totals(self) -> dict[str, int]:
        steps = [st for sc in self.scenarios for st in sc.steps]
        return {"scenarios": len(self.scenarios), "scenarios_passed": sum(sc.passed for sc in self.scenarios),
                "steps": len(steps), "passed": sum(st.status == PASSED for st in steps),
                "failed": sum(st.status == FAILED for st in steps), "errors": sum(st.status == ERROR for st in steps),
                "scenario_errors": sum(sc.error is not None for sc in self.scenarios)}

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "started": self.started, "passed": self.passed,
                "duration_ms": round(self.duration * 1000, 1), "totals": self.totals(),
                "scenarios": [sc.to_json() for sc in self.scenarios]}
