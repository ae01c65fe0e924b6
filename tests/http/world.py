"""A small but real world for the HTTP tests and the screenshots: a migrated SQLite database with the
shipped fixtures, a switch with the real authorisation pipeline and in-process HSM listening on a free
port, transactions sent to it over TCP (IsoClient), then settlement and payouts through switch.wallets.
Nothing is inserted behind the pipeline's back.

Test tokens (fixtures/tokens.yaml keeps only their SHA-256; docs/http-api.md lists them):
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

OPERATOR = "acqsim-test-operator"
MID1, MID2 = "000000000000001", "000000000000002"
MERCHANT = {mid: f"acqsim-test-merchant-{mid}" for mid in
            ("000000000000001", "000000000000002", "000000000000003", "000000000000004", "000000000000005",
             "000000000000006")}
EXPIRED_OPERATOR = "acqsim-test-expired-operator"
EXPIRED_MERCHANT1 = "acqsim-test-expired-merchant-000000000000001"

# (card label, mti, proc, amount, tid, extra) - a mixed little day; expectations come from the pipeline.
TRAFFIC: list[tuple[str, str, str, int, str, dict]] = [
    ("good-visa", "0200", "000000", 12_50, "POS00001", {}),
    ("good-mc", "0200", "000000", 99_99, "POS00001", {}),
    ("good-visa", "0200", "000000", 45_00, "POS00001", {}),
    ("low-funds", "0200", "000000", 250_00, "POS00001", {}),
    ("wrong-pin", "0200", "000000", 10_00, "POS00001", {}),
    ("lost", "0200", "000000", 10_00, "POS00001", {}),
    ("atm-card", "0200", "010000", 500_00, "ATM00001", {}),
    ("good-mc", "0200", "000000", 7_25, "POS00001", {}),
    ("good-visa", "0200", "000000", 20_00, "POS00004", {}),  # suspended merchant -> 05 (N8)
]


@dataclass
class World:
    engine: Any
    switch: Any
    iso: tuple[str, int]
    answers: list[dict] = field(default_factory=list)
    data_dir: str = ""
    site: Any = None
    base_url: str = ""


def build_world(call_in_reactor, data_dir, traffic=TRAFFIC, settle: bool = True, tokens=None,
                url: str | None = None, schema: str | None = None) -> World:
    """Open a database (SQLite under data_dir, or `url` in `schema`), load fixtures, start a switch with the
    pipeline and the HTTP site, send `traffic`, settle the ATM owner and schedule its payout."""
    from hsm_emulator import Hsm
    from switch.auth.authorizer import register_authorizer
    from switch.http import MetricsRegistry, build_site, start_http, timed_hsm
    from switch.issuer.loader import load_all
    from switch.server import ListenerConfig, Switch
    from switch.store import open_database
    from switch.wallets import Wallets

    engine = open_database(url, data_dir, schema=schema)
    hsm = Hsm()
    load_all(engine, hsm)
    switch = Switch()
    metrics = MetricsRegistry()
    # The way `acqsim switch serve` plugs it: HSM timed into the registry, answers hooked by build_site.
    register_authorizer(switch.router, engine, timed_hsm(hsm, metrics))
    cfg = ListenerConfig(host="127.0.0.1", port=0, dialect="ascii87", framing="len2")
    iso = call_in_reactor(switch.listen, _reactor(), cfg)
    world = World(engine, switch, iso, data_dir=str(data_dir))
    world.site = build_site(engine, switch=switch, tokens=tokens, metrics=metrics)
    host, port = call_in_reactor(start_http, _reactor(), world.site, "127.0.0.1", 0)
    world.base_url = f"http://{host}:{port}"
    if traffic:
        world.answers = send(call_in_reactor, iso, traffic)
    if settle:
        w = Wallets(engine)
        today = dt.date.today()
        w.run_settlement(today, "000000000000002")  # the ATM owner's cash gets settled and paid out
        w.schedule_payouts(today, "000000000000002")
    return world


def _reactor():
    from twisted.internet import reactor

    return reactor


def send(call_in_reactor, iso: tuple[str, int], traffic) -> list[dict]:
    """Send each request over one TCP connection; returns the answers."""
    from tests.auth.harness import request  # the pipeline's request builder (real PIN blocks)

    async def run() -> list[dict]:
        from twisted.internet import defer

        client = await defer.ensureDeferred(_connect(iso))
        answers = []
        try:
            for label, mti, proc, amount, tid, extra in traffic:
                msg = request(label, mti=mti, proc=proc, amount=amount, tid=tid, **extra)
                answers.append(await client.request(msg, timeout=20))
        finally:
            client.close()
        return answers

    return call_in_reactor(run, timeout=120)


async def _connect(iso):
    from switch.wire import IsoClient

    return await IsoClient.connect(_reactor(), iso[0], iso[1], dialect="ascii87", framing="len2")
