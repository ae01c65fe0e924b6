"""Property: random sequences of card events agree with a simple model and the audit stays ok."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from switch.ledger import audit
from switch.store import open_database
from switch.wallets import Wallets, audit_wallets
from switch.wallets import tables as W
from switch.wallets.contracts import load_contracts

FEE = load_contracts()["standard"].mdr_fee
_counter = itertools.count(1)

amounts = st.integers(1, 30_000)
ops = st.one_of(
    st.tuples(st.just("purchase"), amounts), st.tuples(st.just("hold"), amounts),
    st.tuples(st.just("capture"), st.integers(0, 30), st.one_of(st.none(), amounts)),
    st.tuples(st.just("void"), st.integers(0, 30)), st.tuples(st.just("refund"), amounts),
    st.tuples(st.just("settle")), st.tuples(st.just("fee"), amounts),
    st.tuples(st.just("chargeback"), st.integers(0, 30)), st.tuples(st.just("replay"), st.integers(0, 30)),
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    eng = open_database(None, tmp_path_factory.mktemp("prop"))
    yield eng
    eng.dispose()


class Model:
    def __init__(self, balance: int) -> None:
        self.card, self.held = balance, 0
        self.unsettled = self.available = self.receivable = 0
        self.events: dict[str, dict] = {}
        self.keys: list[str] = []  # keys of events that booked ok, in order

    def take_from_merchant(self, amount: int) -> None:  # N7: wallet first, then receivable
        x = min(self.available, amount)
        self.available -= x
        self.receivable += amount - x

    def apply(self, op: tuple, key: str, orig: str | None) -> str:
        kind = op[0]
        if kind in ("purchase", "hold"):
            a = op[1]
            if self.card - self.held < a:
                return "insufficient_funds"
            if kind == "hold":
                self.held += a
                self._add(key, "hold", a, 0, "held")
            else:
                self.card -= a
                self.unsettled += a - FEE(a, "682")
                self._add(key, "purchase", a, FEE(a, "682"), "booked")
            return "ok"
        if kind == "refund":
            self.take_from_merchant(op[1])
            self.card += op[1]
            return "ok"
        if kind == "fee":
            self.take_from_merchant(op[1])
            return "ok"
        return self._on_original(op, key, orig)

    def _on_original(self, op: tuple, key: str, orig: str | None) -> str:
        kind = op[0]
        if orig is None:
            return "not_found"
        e = self.events[orig]
        if kind == "capture":
            if e["kind"] != "hold":
                return "not_found"
            if e["state"] != "held":
                return "invalid"
            amt = e["amount"] if op[2] is None else op[2]
            if amt > e["amount"]:
                return "invalid"
            self.held -= e["amount"]
            self.card -= amt
            self.unsettled += amt - FEE(amt, "682")
            e["state"] = "captured"
            self._add(key, "capture", amt, FEE(amt, "682"), "booked")
            return "ok"
        if kind == "void":
            if e["state"] in ("voided", "reversed"):
                return "ok"
            if e["state"] == "held":
                self.held -= e["amount"]
                e["state"] = "voided"
                return "ok"
            if e["kind"] in ("purchase", "capture") and e["state"] == "booked":
                net = e["amount"] - e["fee"]
                if e["settled"]:
                    self.take_from_merchant(net)
                else:
                    self.unsettled -= net
                self.card += e["amount"]
                e["state"] = "reversed"
                return "ok"
            return "invalid"
        # chargeback (N13)
        if e["kind"] not in ("purchase", "capture"):
            return "not_found"
        if e["state"] != "booked":
            return "invalid"
        self.take_from_merchant(e["amount"])
        self.card += e["amount"]
        e["state"] = "charged_back"
        return "ok"

    def settle(self) -> None:
        if self.unsettled <= 0:
            return
        r = min(self.receivable, self.unsettled)
        self.receivable -= r
        self.available += self.unsettled - r
        self.unsettled = 0
        for e in self.events.values():
            if e["state"] != "held":
                e["settled"] = True

    def _orig(self, i: int) -> str | None:
        return self.keys[i % len(self.keys)] if self.keys else None

    def _add(self, key: str, kind: str, amount: int, fee: int, state: str) -> None:
        self.events[key] = {"kind": kind, "amount": amount, "fee": fee, "state": state, "settled": False}
        self.keys.append(key)


def call(w: Wallets, op: tuple, key: str, card: int, mid: str, orig: str | None):
    kind = op[0]
    if kind in ("purchase", "hold", "refund"):
        fn = {"purchase": w.purchase, "hold": w.authorize_hold, "refund": w.refund}[kind]
        return fn(key, card, mid, "682", op[1])
    if kind == "fee":
        return w.charge_fee(key, mid, "682", op[1])
    orig = orig or "missing"
    if kind == "capture":
        return w.capture(key, orig, op[2])
    if kind == "void":
        return w.void(key, orig)
    return w.chargeback(key, orig)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(balance=st.integers(0, 60_000), sequence=st.lists(ops, max_size=25))
def test_random_events_match_model(engine, balance, sequence):
    n = next(_counter)
    mid = f"PROP{n:011d}"
    with engine.begin() as conn:
        conn.execute(W.merchants.insert(), [{
            "mid": mid, "name": "prop", "mcc": "5411", "currency": "682", "status": "active", "flags": "",
            "contract": "standard", "pos_devices": 1, "calendar": "", "payout_delay_days": -1, "status_reason": "",
            "dormancy_notice_on": None, "opened_on": dt.date(2026, 1, 1)}])
    w = Wallets(engine)
    card = w.open_card_account(f"card:prop-{n}", "682", balance)
    model, done, settle_day = Model(balance), [], dt.date(2026, 1, 1)
    for i, op in enumerate(sequence):
        if op[0] == "settle":
            settle_day += dt.timedelta(days=1)
            w.run_settlement(settle_day, mid)
            model.settle()
            continue
        if op[0] == "replay":
            if not done:
                continue
            key, original_op, orig, first = done[op[1] % len(done)]
            again = call(w, original_op, key, card, mid, orig)
            assert again.duplicate and again.status == first.status
            continue
        key = f"{mid}:{i}"
        orig = model._orig(op[1]) if op[0] in ("capture", "void", "chargeback") else None
        expected = model.apply(op, key, orig)
        got = call(w, op, key, card, mid, orig)
        assert got.status == expected, (op, got)
        done.append((key, op, orig, got))
        assert w.card_balance(card) == (model.card, model.card - model.held)
    wallet = w.merchant_wallets(mid)[0]
    assert (wallet["available"], wallet["unsettled"], wallet["receivable"]) == (
        model.available, model.unsettled, model.receivable)
    assert audit(engine) == [] and audit_wallets(engine) == []
