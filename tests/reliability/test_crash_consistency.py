"""Issue 10: the switch is killed with SIGKILL again and again while terminals transact; nothing is lost.

Terminals (the real agent, with its on-disk reversal queue) keep buying while a second thread kills the
switch process and starts it again on the same database. Afterwards, for every request a terminal sent:
- an approval (00) the terminal received and kept is booked exactly once;
- a request the terminal got no answer to is either not booked or booked and then reversed (its reversal
  was queued and sent until acknowledged);
- a decline is not booked; and the ledger audit is clean.
"""

from __future__ import annotations

import collections
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select

KILLS = 10
# Cards rotate so that no card reaches its daily count limit (65) during the run.
CARDS = {"POS00001": ("4761739001010010", "4761739001010036"), "POS00003": ("5413330089010012", "5413330089010020")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SwitchProcess:
    def __init__(self, data_dir: Path, port: int):
        self.data_dir, self.port, self.proc = data_dir, port, None

    def start(self) -> None:
        env = {**os.environ, "ACQSIM_DATA_DIR": str(self.data_dir)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "switch.cli.main", "switch", "serve", "--port", str(self.port),
             "--http-port", "-1", "--data-dir", str(self.data_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        for line in self.proc.stdout:
            if line.startswith("listening iso8583"):
                return
        raise RuntimeError("switch did not start")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(15)


def _killer(switch: SwitchProcess, stop: threading.Event, kills: list[float]) -> None:
    while len(kills) < KILLS and not stop.is_set():
        time.sleep(0.6)
        switch.kill()
        kills.append(time.monotonic())
        switch.start()


async def _shop(reactor, term, pans: tuple[str, ...], results: list, stop: threading.Event) -> None:
    from terminal_agent.cards import find_card
    from terminal_agent.cardsource import open_reader

    cards = [find_card(pan) for pan in pans]
    amount = 100
    while not stop.is_set():
        amount += 1
        card = cards[amount % len(cards)]
        opened = open_reader(None, card, entry="chip")
        result = await term.transact("purchase", amount, opened.reader, card.pin)
        results.append(result)


def test_sigkill_during_load_loses_nothing(tmp_path, reactor, call_in_reactor):
    from twisted.internet import defer

    from terminal_agent.flows import Terminal
    from terminal_agent.profile import find_profile

    switch = SwitchProcess(tmp_path / "switch", _free_port())
    switch.start()
    terminals = {}
    for tid in CARDS:
        profile = find_profile(tid).with_overrides(port=switch.port, timeout=1.0)
        profile.reversal_interval = 0.2
        terminals[tid] = Terminal(profile, data_dir=tmp_path / "terminals", reactor=reactor)
    results: list = []
    stop = threading.Event()
    kills: list[float] = []
    killer = threading.Thread(target=_killer, args=(switch, stop, kills), daemon=True)
    try:
        call_in_reactor(lambda: defer.ensureDeferred(terminals["POS00003"].sign_on()), timeout=20)
        shoppers: list = []

        def start_shopping():
            for tid, pan in CARDS.items():
                d = defer.ensureDeferred(_shop(reactor, terminals[tid], pan, results, stop))
                shoppers.append(d.addErrback(results.append))

        call_in_reactor(start_shopping)
        killer.start()
        killer.join(180)
        time.sleep(1.0)
        stop.set()
        call_in_reactor(lambda: defer.gatherResults(shoppers), timeout=30)
        for term in terminals.values():
            for _ in range(20):
                if call_in_reactor(lambda t=term: defer.ensureDeferred(t.flush_reversals(max_attempts=3)), timeout=30) == 0 \
                        and not term.state.data.get("reversals"):
                    break
                time.sleep(0.3)
    finally:
        stop.set()
        for term in terminals.values():
            call_in_reactor(term.close)
        switch.stop()

    assert len(kills) == KILLS
    failures = [r for r in results if not hasattr(r, "response_code")]
    assert not failures, failures[:1]
    _check(tmp_path / "switch", results)


def _check(data_dir: Path, results: list) -> None:
    from switch.ledger import audit
    from switch.store import open_database
    from switch.wallets.tables import events

    engine = open_database(None, data_dir, migrate=False)
    with engine.connect() as conn:
        rows = conn.execute(select(events.c.key, events.c.tid, events.c.kind, events.c.state)).all()
    purchases = {}
    for key, tid, kind, state in rows:
        if kind != "purchase":
            continue
        stan = key.split(":")[1]
        purchases.setdefault((tid.strip(), stan), []).append(state)
    approved_kept = [r for r in results if r.response_code == "00" and not r.reversal]
    no_answer = [r for r in results if r.response_code is None]
    assert approved_kept, "no approvals at all: the load did not run"
    print(f"\ncrash test: {len(results)} purchases, {len(approved_kept)} approved, {len(no_answer)} unanswered "
          f"(reversed: {sum(1 for r in no_answer if r.reversal == 'acknowledged')}), "
          f"{sum(1 for k in purchases.values() if k == ['reversed'] or k == ['voided'])} booked then reversed, "
          f"codes {sorted(collections.Counter(str(r.response_code) for r in results).items())}")
    for r in approved_kept:
        assert purchases.get((r.tid.strip(), r.stan)) == ["booked"], (r.tid, r.stan, purchases.get((r.tid.strip(), r.stan)))
    for r in results:
        if r.response_code not in (None, "00"):
            assert (r.tid.strip(), r.stan) not in purchases or purchases[(r.tid.strip(), r.stan)] != ["booked"]
        if r.response_code is None or r.reversal:
            states = purchases.get((r.tid.strip(), r.stan), [])
            assert states in ([], ["reversed"], ["voided"]), (r.tid, r.stan, states, r.reversal)
    sent = {(r.tid.strip(), r.stan) for r in results}
    booked_unknown = [k for k, states in purchases.items() if "booked" in states and k not in sent]
    assert not booked_unknown
    assert audit(engine) == []
