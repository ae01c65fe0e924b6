"""What the benchmark sends: a fixtures directory with bench cards, and pre-built request frames.

The mix (realistic for a POS estate): chip + PIN purchases with real ISO-0 PIN blocks under the terminal's
TPK and real ARQCs; a share of declines (insufficient funds, expired card); a share of purchases that the
terminal then reverses (0400 naming the original in field 90).
"""

from __future__ import annotations

import itertools
import random
import shutil
from pathlib import Path

import yaml

from switch.paths import fixtures_dir
from switch.wire.pan import luhn_digit

BENCH_BIN = "4761739500"  # inside the on-us Visa range of fixtures/issuers.yaml
DECLINE_CARDS = ("low-funds", "expired")


def bench_pans(count: int) -> list[str]:
    return [body + luhn_digit(body) for body in (f"{BENCH_BIN}{n:05d}" for n in range(1, count + 1))]


def make_bench_fixtures(dest: Path, cards: int) -> Path:
    """The shipped fixtures plus `cards` well-funded verified bench cards, with limits a load test can live with."""
    dest = Path(dest)
    shutil.copytree(fixtures_dir(), dest, dirs_exist_ok=True)
    doc = yaml.safe_load((dest / "cards.yaml").read_text())
    doc["cards"] += [{"label": f"bench-{i:05d}", "pan": pan, "pin": "1234", "balance": 10**12, "expect": "00"}
                     for i, pan in enumerate(bench_pans(cards), 1)]
    (dest / "cards.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    limits = yaml.safe_load((dest / "limits.yaml").read_text())
    for level in limits["levels"].values():
        for category in level.values():
            category.update(per_txn=10**10, daily_amount=10**13, daily_count=10**8, monthly_amount=10**14)
    (dest / "limits.yaml").write_text(yaml.safe_dump(limits, sort_keys=False))
    return dest


def _scenario_cards(fixtures: Path, labels: list[str]) -> dict:
    """Scenario-runner Card objects (with the issuer's AC master key) for the given fixture labels."""
    from switch.issuer.fixtures import load_fixtures, show
    from terminal_agent.scenario.model import Card

    fx = load_fixtures(fixtures)
    by_label = {c["label"]: c for c in show(fx)["cards"]}
    out = {}
    for label in labels:
        rec = by_label[label]
        issuer = fx.issuer_for(rec["pan"])[0]
        card = Card(name=label, pan=rec["pan"], expiry=rec["expiry"], service_code=rec["service_code"],
                    pin=rec["pin"], track2=rec.get("track2"), cvv=rec.get("cvv"), psn=str(rec.get("psn", "00")),
                    scheme=rec.get("scheme", "visa"), imk_ac=issuer["keys"]["imk_ac"])
        card.icc_track2 = rec.get("icc_track2")
        out[label] = card
    return out


def build_plan(fixtures: Path, tid: str, connections: int, per_connection: int, decline_share: float = 0.05,
               reversal_share: float = 0.05, cards: int = 50, dialect: str = "ascii87", seed: int = 8583) -> list:
    """[[(label, payload), ...] per connection]. STANs are partitioned per connection so all are unique."""
    from switch.issuer.fixtures import load_fixtures, show
    from switch.wire import load_dialect
    from terminal_agent.scenario.messages import BuildContext, build
    from terminal_agent.scenario.model import Terminal

    rng = random.Random(seed)
    bench_labels = [f"bench-{i:05d}" for i in range(1, cards + 1)]
    card_objs = _scenario_cards(fixtures, bench_labels + list(DECLINE_CARDS))
    term = next(t for t in show(load_fixtures(fixtures))["terminals"] if t["tid"] == tid)
    terminal = Terminal(tid=tid, mid=term["mid"], currency=term["currency"], tpk=term["tpk"],
                        country=term["currency"])
    codec = load_dialect(dialect)
    plan = []
    for c in range(connections):
        stans = itertools.count(c * (per_connection * 2 + 1) + 1)
        ctx = BuildContext(terminal=terminal, cards=card_objs, next_stan=lambda s=stans: next(s) % 1_000_000)
        frames: list[tuple[str, bytes]] = []
        while len(frames) < per_connection:
            roll = rng.random()
            if roll < decline_share:  # above the low-funds card's 5.00: a decline every time, never an approval
                label, card, amount = "decline", rng.choice(DECLINE_CARDS), rng.randint(1000, 20000)
            else:
                label, card, amount = "purchase", rng.choice(bench_labels), rng.randint(100, 20000)
            msg = build("purchase", {"card": card, "amount_minor": amount, "entry": "chip"}, ctx)
            frames.append((label, codec.encode(msg)))
            if label == "purchase" and roll > 1 - reversal_share:
                ctx.records["orig"] = (msg, None)
                frames.append(("reversal", codec.encode(build("reversal", {"original": "orig"}, ctx))))
        plan.append(frames[:per_connection])
    return plan
