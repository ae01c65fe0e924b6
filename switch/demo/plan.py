"""The demo's day as data (fixtures/demo/day.yaml): steps with the outcome each must have."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from switch.paths import fixtures_dir

OPS = ("sign_on", "purchase", "preauth", "completion", "refund", "cash", "balance", "batch_close")


@dataclass
class Step:
    tid: str
    op: str
    expect: str
    card: str | None = None
    entry: str = "chip"
    pin: str = "card"
    amount: str | None = None
    of: str | None = None
    note: str = ""


def load_day(path: str | Path | None = None) -> list[Step]:
    path = Path(path or fixtures_dir() / "demo" / "day.yaml")
    doc = yaml.safe_load(path.read_text())
    steps = []
    for i, raw in enumerate(doc.get("steps") or [], 1):
        try:
            step = Step(**{k: str(v) for k, v in raw.items()})
        except TypeError as exc:
            raise ValueError(f"{path}: step {i}: {exc}") from None
        if step.op not in OPS:
            raise ValueError(f"{path}: step {i}: op {step.op!r} is not one of {', '.join(OPS)}")
        steps.append(step)
    return steps


def demo_rules_path() -> Path:
    return fixtures_dir() / "demo" / "rules.yaml"


def remote_rules_path() -> Path:
    return fixtures_dir() / "hostsim" / "remote_issuer.yaml"
