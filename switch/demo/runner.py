"""`acqsim demo`: HSM, switch and emulated terminals with emulated readers run a mixed day on free ports.

Everything runs on one reactor: the HSM's TCP server, the switch (which reaches the HSM over TCP like a
production switch would), a remote issuer host (a host-simulation listener the switch forwards BIN 431940
to), and the terminals. Blocking work (readers, pipeline, database) runs in threads.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from switch.demo.plan import Step, demo_rules_path, load_day, remote_rules_path

log = logging.getLogger("acqsim.demo")


class DemoStack:
    """The running HSM, switch and terminals of one demo."""

    def __init__(self, reactor: Any, data_dir: Path, db: str | None):
        from hsm_emulator import Hsm, HsmClient
        from hsm_emulator.server import listen as listen_hsm
        from switch.server import ListenerConfig
        from switch.service import SwitchOptions, build

        self.reactor = reactor
        self.data_dir = data_dir
        self.hsm_port = listen_hsm(reactor, Hsm(), port=0).getHost().port
        self.running = build(SwitchOptions(db=db, data_dir=data_dir), reactor)
        # The pipeline's worker threads call the HSM over TCP, as a production switch would.
        self.running.authorizer.services.hsm = HsmClient("127.0.0.1", self.hsm_port)
        _, self.port = self.running.switch.listen(reactor, ListenerConfig(port=0, rules=str(demo_rules_path())))
        # The remote issuer REMOTEBANK: a host-simulation listener that approves what is forwarded to it.
        _, self.remote_port = self.running.switch.listen(reactor, ListenerConfig(port=0,
                                                                                rules=str(remote_rules_path())))
        self.running.authorizer.services.store.set_route("REMOTEBANK", "127.0.0.1", self.remote_port)
        self.terminals: dict[str, Any] = {}

    def terminal(self, tid: str):
        from terminal_agent.flows import Terminal
        from terminal_agent.profile import find_profile

        if tid not in self.terminals:
            profile = find_profile(tid).with_overrides(port=self.port, timeout=2.5)
            profile.reversal_interval = 1.0
            self.terminals[tid] = Terminal(profile, data_dir=self.data_dir / "terminals", reactor=self.reactor)
        return self.terminals[tid]

    def close(self) -> None:
        for term in self.terminals.values():
            term.close()


def _card(label: str):
    from terminal_agent.cards import load_cards

    for card in load_cards():
        if label in (card.extra.get("label"), card.pan):
            return card
    raise KeyError(f"no fixture card {label!r}")


async def run_step(stack: DemoStack, step: Step, previous: dict) -> dict:
    """Run one step on its terminal; returns the transaction row for the report."""
    from twisted.internet import threads

    from terminal_agent.api import parse_amount
    from terminal_agent.cardsource import open_reader

    term = stack.terminal(step.tid)
    amount = parse_amount(step.amount) if step.amount else 0
    opened = None
    if step.op == "sign_on":
        result = await term.sign_on()
    elif step.op == "batch_close":
        result = await term.batch_close()
    elif step.op == "completion":
        result = await term.completion(previous["stan"], amount)
    else:
        card = _card(step.card or "")
        opened = await threads.deferToThread(open_reader, "emulated", card, step.entry)
        pin = card.pin if step.pin == "card" else None
        try:
            result = await term.transact(step.op, amount, opened.reader, pin)
        finally:
            await threads.deferToThread(opened.close)
    outcome = result.response_code or "--"
    if result.response_code is None and result.reversal == "acknowledged":
        outcome = "reversed"
    return {"tid": step.tid, "op": step.op, "pan": result.masked_pan or "", "entry": result.entry or "",
            "amount": amount, "currency": result.currency, "stan": result.stan, "rrn": result.rrn,
            "approval_code": result.approval_code, "outcome": outcome, "expected": step.expect,
            "message": result.message, "ok": outcome == step.expect, "note": step.note}


async def run_day(stack: DemoStack, steps: list[Step], progress: Callable[[int, int, dict], None]) -> list[dict]:
    rows: list[dict] = []
    for i, step in enumerate(steps, 1):
        try:
            row = await run_step(stack, step, rows[-1] if rows else {})
        except Exception as exc:  # a step that blows up is a failed expectation, not a crashed demo
            log.exception("step %d failed", i)
            row = {"tid": step.tid, "op": step.op, "pan": "", "entry": "", "amount": 0, "outcome": "error",
                   "expected": step.expect, "message": str(exc), "ok": False, "note": step.note}
        rows.append(row)
        progress(i, len(steps), row)
    for term in stack.terminals.values():
        await term.flush_reversals()
    return rows


def back_office(engine: Any, today: dt.date) -> dict:
    """Settle the day, schedule payouts, execute those that fall due, settle the interchange with the
    remote issuer (the scheme pays what it owes us, we pay the refunds we owe it), and audit the ledger."""
    from switch.ledger import audit
    from switch.wallets import Wallets

    wallets = Wallets(engine)
    settled = [o.status for o in wallets.run_settlement(today)]
    scheduled = wallets.schedule_payouts(today)
    last_due = max((dt.date.fromisoformat(str(p["due_on"])) for p in scheduled), default=today)
    paid = wallets.execute_payouts(last_due)
    interchange = wallets.settle_interchanges(["REMOTEBANK"], today)
    return {"settlements": settled, "payouts": paid, "interchange": interchange, "violations": audit(engine)}


def merchant_rows(engine: Any) -> list[dict]:
    from switch.wallets import Wallets, merchant_wallets

    rows = []
    for merchant in Wallets(engine).merchants():
        for wallet in merchant_wallets(engine, merchant.mid):
            rows.append({"name": merchant.name, **wallet})
    return rows


def load_steps(path: str | None = None) -> list[Step]:
    return load_day(path)
