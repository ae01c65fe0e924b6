"""Each host-simulation action as a terminal sees it on a real TCP socket (issue 7, "Done when").

The server is the lead's switch with a rules file on its listener (as `acqsim switch serve --rules`); the
router behind it approves everything, so "the real pipeline answered" shows as 39=00 with an RRN.
"""

from __future__ import annotations

import time

import pytest

from switch.wire import MessageError, load_dialect

from .simserver import WireClient, start

RULES = """
rules:
  - name: cents
    match: {terminal: CENTS001, cents: true}
    action: {respond: cents}
  - name: respond with fields
    match: {terminal: RESP0001}
    action: {respond: {code: "05", fields: {"44": "HOSTSIM"}}}
  - name: slow host, then the pipeline
    match: {terminal: DELAY001}
    action: {delay: 400ms}
  - name: silent host
    match: {terminal: SILENT01}
    action: {no_answer: true}
  - name: hang up
    match: {terminal: CLOSE001}
    action: {close: true}
  - name: line noise
    match: {terminal: GARBLE01}
    action: {garble: true}
  - name: answer twice
    match: {terminal: DUPL0001}
    action: {duplicate: true, code: "00"}
  - name: answer after the terminal gave up
    match: {terminal: LATE0001}
    action: {late: 1200ms, code: "00"}
"""

ASCII = load_dialect("ascii87")


@pytest.fixture
def server(call_in_reactor, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(RULES)
    switch, number = start(call_in_reactor, path)
    yield number, path
    call_in_reactor(switch.stop)


def purchase(tid: str, amount: int = 1000, stan: str = "000001") -> dict:
    return {"t": "0200", "2": "4761739001010010", "3": "000000", "4": f"{amount:012d}", "7": "1126120000",
            "11": stan, "41": tid, "42": "000000000000001", "49": "682"}


def exchange(port: int, msg: dict, wait: float = 2.0) -> tuple[WireClient, bytes | None, float]:
    c = WireClient(port)
    t0 = time.monotonic()
    c.send(msg)
    frame = c.read_frame(wait)
    return c, frame, time.monotonic() - t0


def test_no_rule_matching_means_the_real_pipeline_answers(server):
    c, frame, _ = exchange(server[0], purchase("POS00001", 1051))
    resp = ASCII.decode(frame)
    assert resp["t"] == "0210" and resp["39"] == "00" and "37" in resp
    c.close()


def test_respond_cents_give_the_response_code(server):
    c, frame, _ = exchange(server[0], purchase("CENTS001", 1051))
    resp = ASCII.decode(frame)
    assert (resp["t"], resp["39"], resp["11"], resp["4"]) == ("0210", "51", "000001", "000000001051")
    c.close()


def test_respond_with_code_and_fields(server):
    c, frame, _ = exchange(server[0], purchase("RESP0001"))
    resp = ASCII.decode(frame)
    assert resp["39"] == "05" and resp["44"] == "HOSTSIM"
    c.close()


def test_delay_then_the_pipeline_answers(server):
    c, frame, elapsed = exchange(server[0], purchase("DELAY001"))
    assert ASCII.decode(frame)["39"] == "00"
    assert elapsed >= 0.38
    c.close()


def test_no_answer_keeps_the_connection_open_and_silent(server):
    c, frame, _ = exchange(server[0], purchase("SILENT01"), wait=0.8)
    assert frame is None
    c.send(purchase("POS00001", stan="000002"))  # the connection still works for the next request
    assert ASCII.decode(c.read_frame(2))["39"] == "00"
    c.close()


def test_close_drops_the_connection(server):
    c, frame, _ = exchange(server[0], purchase("CLOSE001"))
    assert frame == b""
    c.close()


def test_garbled_answer_is_one_undecodable_frame(server):
    c, frame, _ = exchange(server[0], purchase("GARBLE01"))
    assert frame
    with pytest.raises(MessageError):
        ASCII.decode(frame)
    c.close()


def test_duplicate_answer_arrives_twice(server):
    c, first, _ = exchange(server[0], purchase("DUPL0001"))
    second = c.read_frame(2)
    assert first == second and ASCII.decode(first)["39"] == "00"
    c.close()


def test_late_answer_arrives_after_the_delay(server):
    c, frame, _ = exchange(server[0], purchase("LATE0001"), wait=0.6)
    assert frame is None  # a terminal with a 0.6 s timeout has given up ...
    late = c.read_frame(2)
    assert ASCII.decode(late)["39"] == "00"  # ... and the answer still comes
    c.close()


def test_rules_file_edited_while_serving_takes_effect(server):
    port, path = server
    path.write_text("rules:\n  - match: {terminal: POS00001}\n    action: {respond: \"96\"}\n")
    import os
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000))
    c, frame, _ = exchange(port, purchase("POS00001"))
    assert ASCII.decode(frame)["39"] == "96"
    c.close()
