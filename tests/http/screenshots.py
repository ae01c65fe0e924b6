"""Screenshots of the two pages for the README, from a real switch with real traffic:

    python -m tests.http.screenshots docs/img

writes docs/img/monitor.png (operator) and docs/img/portal.png (merchant 000000000000001). Takes about
half a minute: the traffic is spread out so the live TPS chart has a shape.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.conftest import reactor_caller
from tests.http.browser import Browser, find_chromium
from tests.http.world import MERCHANT, MID1, OPERATOR, TRAFFIC, build_world, send

EXTRA = [  # more of a day at merchant 1's POS and the ATM
    ("good-visa", "0200", "000000", 18_40, "POS00001", {}), ("good-mc", "0200", "000000", 230_00, "POS00001", {}),
    ("mc-second", "0200", "000000", 64_10, "POS00001", {}), ("unverified", "0200", "000000", 35_00, "POS00001", {}),
    ("low-funds", "0200", "000000", 80_00, "POS00001", {}), ("good-visa", "0200", "200000", 12_50, "POS00001", {}),
    ("atm-card", "0200", "010000", 200_00, "ATM00001", {}), ("good-visa", "0200", "000000", 9_99, "POS00001", {}),
    ("blocked", "0200", "000000", 15_00, "POS00001", {}), ("expired", "0200", "000000", 15_00, "POS00001", {}),
]


def call_in_reactor(reactor):
    return reactor_caller(reactor, default_timeout=60.0)


def main(out_dir: str = "docs/img") -> int:
    from twisted.internet import reactor

    from switch.wallets import Wallets

    found = find_chromium()
    if found is None:
        print("chromium and chromedriver are needed: apt-get install chromium chromium-driver", file=sys.stderr)
        return 2
    threading.Thread(target=reactor.run, kwargs={"installSignalHandlers": False}, daemon=True).start()
    call = call_in_reactor(reactor)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        world = build_world(call, tmp, traffic=TRAFFIC, settle=True)
        w = Wallets(world.engine)
        w.run_settlement(dt.date.today(), MID1)
        w.schedule_payouts(dt.date.today(), MID1)
        rng = random.Random(8)
        for _ in range(14):  # ~14 s of uneven traffic for the TPS chart
            send(call, world.iso, rng.sample(EXTRA, rng.randint(1, len(EXTRA))))
            time.sleep(rng.uniform(0.3, 1.0))
        with Browser(*found, width=1360, height=1000) as b:
            b.get(world.base_url + "/monitor")
            b.js(f"sessionStorage.setItem('acqsim.token', '{OPERATOR}')")
            b.get(world.base_url + "/monitor")
            b.wait("return document.querySelectorAll('#recent tbody tr.clickable').length > 3")
            b.click("#recent tbody tr.clickable:nth-child(3)")
            b.wait("return document.getElementById('dump').textContent.includes('[')")
            time.sleep(1.2)
            b.screenshot(str(out / "monitor.png"))
            b.get(world.base_url + "/portal")
            b.js(f"sessionStorage.setItem('acqsim.token', '{MERCHANT[MID1]}')")
            b.get(world.base_url + f"/portal/{MID1}")
            b.wait("return document.body.dataset.loaded === '1'")
            b.resize(1360, min(int(b.js("return document.documentElement.scrollHeight")) + 140, 2400))
            time.sleep(0.5)
            b.screenshot(str(out / "portal.png"))
        call(world.site.port.stopListening)
        call(world.switch.stop)
        world.engine.dispose()
    reactor.callFromThread(reactor.stop)
    print(f"wrote {out / 'monitor.png'} and {out / 'portal.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
