"""The bench plan: its declines are declines every time (issue 9's mix: some declines)."""

from __future__ import annotations

import yaml

from switch.bench.plan import DECLINE_CARDS, build_plan, make_bench_fixtures
from switch.wire import load_dialect


def test_every_planned_decline_exceeds_the_low_funds_balance(tmp_path):
    fixtures = make_bench_fixtures(tmp_path / "fx", 2)
    cards = {c["label"]: c for c in yaml.safe_load((fixtures / "cards.yaml").read_text())["cards"]}
    assert "low-funds" in DECLINE_CARDS
    balance = cards["low-funds"]["balance"]
    codec = load_dialect("ascii87")
    plan = build_plan(fixtures, "POS00001", 1, 60, decline_share=1.0, reversal_share=0.0, cards=2)
    amounts = [int(codec.decode(payload)["4"]) for label, payload in plan[0] if label == "decline"]
    assert len(amounts) == 60 and min(amounts) > balance  # an approval would book and label it decline:00
