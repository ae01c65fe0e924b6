"""The metrics registry on its own: type labels, histogram buckets, TPS window, label escaping, HSM timing."""

from __future__ import annotations

from types import SimpleNamespace

from switch.http.metrics import MetricsRegistry, timed_hsm, transaction_type


def test_transaction_types():
    cases = {("0210", "000000"): "purchase", ("0210", "010000"): "cash", ("0210", "200000"): "refund",
             ("0210", "310000"): "balance", ("0210", "400000"): "transfer", ("0110", "000000"): "preauth",
             ("0230", "000000"): "completion", ("0410", ""): "reversal", ("0430", ""): "reversal",
             ("0510", ""): "batch_close", ("0810", ""): "network"}
    for (mti, proc), kind in cases.items():
        assert transaction_type({"t": mti, "3": proc}) == kind


def test_hook_counts_latency_and_tps():
    now = [1000.0]
    reg = MetricsRegistry(clock=lambda: now[0])
    switch = SimpleNamespace(answer_hooks=[], factories=[SimpleNamespace(name='a"b', stats=SimpleNamespace(
        open_connections=3, total_connections=5, requests=7, format_errors=1))])
    reg.attach(switch)
    reg.attach(switch)  # idempotent
    assert switch.answer_hooks == [reg.on_answer]
    for seconds, rc in ((0.002, "00"), (0.03, "00"), (20.0, "51")):
        switch.answer_hooks[0]({"t": "0210", "3": "000000", "39": rc}, seconds)
    now[0] = 1001.0
    switch.answer_hooks[0]({"t": "0810", "39": "00"}, 0.0005)
    now[0] = 1002.0
    text = reg.render()
    assert 'acqsim_transactions_total{type="purchase",response_code="00"} 2' in text
    assert 'acqsim_transactions_total{type="purchase",response_code="51"} 1' in text
    assert 'acqsim_response_seconds_bucket{le="0.001"} 1' in text
    assert 'acqsim_response_seconds_bucket{le="0.0025"} 2' in text
    assert 'acqsim_response_seconds_bucket{le="10.0"} 3' in text
    assert 'acqsim_response_seconds_bucket{le="+Inf"} 4' in text
    assert 'acqsim_open_connections{listener="a\\"b"} 3' in text
    series = reg.tps_series()
    assert series[-2:] == [3, 1] and len(series) == 60
    snap = reg.snapshot()
    assert snap["by_response_code"] == {"00": 3, "51": 1} and snap["open_connections"] == 3


def test_timed_hsm_observes_each_call():
    calls = []

    class FakeHsm:  # records calls only; timing is what is under test here
        lmk = "x"

        def verify_cvv(self, **kw):
            calls.append(kw)
            return "00"

        def execute(self, command: bytes) -> bytes:
            return b"CZ00"

    reg = MetricsRegistry()
    hsm = timed_hsm(FakeHsm(), reg)
    assert hsm.verify_cvv(cvv="123") == "00" and calls == [{"cvv": "123"}]
    assert hsm.execute(b"CY...") == b"CZ00"
    assert hsm.lmk == "x"
    assert set(reg.hsm) == {"verify_cvv", "CY"} and reg.hsm["CY"].count == 1
