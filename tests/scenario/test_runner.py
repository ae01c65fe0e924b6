"""The runner over real TCP against the lead's server with host-sim rules: expectations, captures,
outcomes, parallel sessions, repeats, reports."""

from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET

import pytest

from terminal_agent.scenario import Runner, load_scenario
from terminal_agent.scenario.html import render_html
from terminal_agent.scenario.report import junit_xml, summary

SCENARIO = """
name: runner
terminal: {tid: POS00001, mid: "000000000000001", currency: "682", tpk: 9464DF9DCE8AA82F38E9627FA8F8FD9B}
cards:
  visa: {pan: "4761739001010010", pin: "1234", track2: "4761739001010010=2812201123456789000"}
timeout: 2s
steps:
  - echo:
    expect: {"39": "00", mti: "0810", "70": {echo: true}}
  - purchase: {card: visa, amount: "12.00", entry: magstripe}
    id: sale
    capture: {rrn: "37", auth: "38", stan: request.11}
    expect: {"39": "00", "38": {regex: "^[0-9A-Z]{6}$"}, "11": {echo: true}, "4": {echo: true}, "54": {absent: true}}
  - reversal: {original: sale}
    expect: {"39": "00", "37": "${rrn}", "90": {present: true}}
  - purchase: {card: visa, amount: "10.51", entry: magstripe}
    name: cents give 51
    expect: {"39": "51"}
  - balance: {card: visa, entry: magstripe}
    repeat: 2
    expect: {"39": {one_of: ["00", "51"]}}
  - parallel:
      copies: 3
      steps: [{echo: , expect: {"39": "00"}}]
  - parallel:
      - name: silent
        terminal: {tid: SILENT01}
        steps: [{echo: , outcome: no_answer, timeout: 300ms}]
      - name: closing
        terminal: {tid: CLOSE001}
        steps: [{echo: , outcome: closed}, {echo: , outcome: closed}]
      - name: garbling
        terminal: {tid: GARBLE01}
        steps: [{echo: , outcome: garbled, timeout: 300ms}]
      - name: twice
        terminal: {tid: DUPL0001}
        steps: [{echo: , outcome: duplicate, expect: {"39": "00"}}]
  - batch_close:
    expect: {"39": "00"}
"""

FAILING = """
name: failing
terminal: {tid: POS00001}
cards:
  visa: {pan: "4761739001010010"}
steps:
  - purchase: {card: visa, amount: "1.00", pin: false, entry: manual}
    expect: {"39": "05", "38": {absent: true}}
  - echo: {fields: {"48": "${never_captured}"}}
  - echo:
    terminal: x
"""


def load(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return load_scenario(p)


@pytest.fixture(scope="module")
def run(call_in_reactor, sim_port, tmp_path_factory):
    from twisted.internet import reactor

    tmp = tmp_path_factory.mktemp("runner")
    good = load(tmp, "good.yaml", SCENARIO)
    bad = load(tmp, "bad.yaml", FAILING.replace("  - echo:\n    terminal: x\n", ""))
    seen = []
    runner = Runner(reactor, "127.0.0.1", sim_port, progress=seen.append)
    result = call_in_reactor(runner.run_all, [good, bad], timeout=30)
    result.seen = seen
    return result


def test_good_scenario_passes_with_captures_outcomes_and_sessions(run):
    good = run.scenarios[0]
    assert good.passed, summary(run)
    names = [s.name for s in good.steps]
    assert names.count("echo") == 1 + 3 + 4 + 1 and "balance #1" in names and "balance #2" in names
    sale = next(s for s in good.steps if s.kind == "purchase")
    rev = next(s for s in good.steps if s.kind == "reversal")
    assert rev.request["90"][4:10] == sale.request["11"] and rev.response["37"] == sale.response["37"]
    outcomes = {s.session: s.outcome for s in good.steps if s.session not in ("main",) and "copy" not in s.session}
    assert outcomes == {"silent": "no_answer", "closing": "closed", "garbling": "garbled", "twice": "duplicate"}
    batch = next(s for s in good.steps if s.kind == "batch_close")
    # one approved 12.00 purchase, reversed; the 10.51 purchase was declined (51)
    assert batch.request["76"] == "0000000000" and batch.request["88"] == "0000000000000000"
    assert batch.request["77"] == "0000000001" and batch.request["89"] == "0000000000001200"
    assert len(run.seen) == len(good.steps) + len(run.scenarios[1].steps)


def test_failures_say_what_and_where(run):
    bad = run.scenarios[1]
    assert not bad.passed and not run.passed
    first, second = bad.steps
    assert first.status == "failed"
    assert any("field 39: expected '05', got '00'" in f and "bad.yaml:8" in f for f in first.failures)
    assert any(f.startswith("field 38: expected absent") for f in first.failures)
    assert second.status == "error" and "${never_captured}" in second.failures[0]


def test_unreachable_host_is_an_error_not_a_crash(call_in_reactor, tmp_path):
    from twisted.internet import reactor

    sc = load(tmp_path, "x.yaml", "steps: [{echo: }]\n")
    result = call_in_reactor(Runner(reactor, "127.0.0.1", 1).run_all, [sc])
    assert result.scenarios[0].steps[0].status == "error"
    assert "cannot connect to 127.0.0.1:1" in result.scenarios[0].steps[0].failures[0]


def test_junit_xml_parses_and_counts(run):
    root = ET.fromstring(junit_xml(run))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["runner", "failing"]
    assert suites[0].get("failures") == "0" and suites[1].get("failures") == "1" and suites[1].get("errors") == "1"
    cases = suites[1].findall("testcase")
    assert cases[0].find("failure") is not None and cases[1].find("error") is not None
    assert int(root.get("tests")) == sum(len(s.findall("testcase")) for s in suites)


def test_html_report_is_self_contained_and_masked(run):
    page = render_html(run)
    assert page.startswith("<!DOCTYPE html>") and "</html>" in page
    for forbidden in ("<script", "<link", "src=", "http://", "https://", "@import"):
        assert forbidden not in page
    assert "4761739001010010" not in page and "476173******0010" in page
    assert "2812201123456789000" not in page  # track 2 discretionary data never shown
    assert "field 39: expected &#x27;05&#x27;" in page
    assert page.count("<pre>") >= 2 * len(run.scenarios[0].steps)


def test_json_has_no_clear_card_data(run):
    text = json.dumps(run.to_json())
    assert "4761739001010010" not in text and "2812201123456789" not in text
    doc = json.loads(text)
    step = doc["scenarios"][0]["steps"][1]
    assert step["request"]["2"] == "476173******0010" and set(step["request"]["52"]) == {"*"}
    assert doc["totals"]["failed"] == 1 and doc["passed"] is False


def test_progress_is_one_redrawn_line_on_a_tty_and_failures_only_elsewhere(run):
    import io

    from terminal_agent.scenario.report import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    steps = [s for sc in run.scenarios for s in sc.steps]
    tty, log = Tty(), io.StringIO()
    for stream in (tty, log):
        p = Progress(len(steps), stream=stream)
        for s in steps:
            p(s)
        p.finish()
    assert tty.getvalue().count("\r\x1b[K[") == len(steps)  # one redraw per step, in place
    assert f"{len(steps)}/{len(steps)}" in tty.getvalue()
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("FAIL failing: purchase") and lines[1].startswith("ERROR")


@pytest.mark.parametrize("dialect, framing", [("bcd87", "bcd2"), ("ebcdic87", "ascii4"), ("binary87", "len4")])
def test_other_dialects_and_framings_from_the_scenario_file(call_in_reactor, tmp_path, dialect, framing):
    """A host speaking another wire format: the scenario's target/dialect/framing keys are used when the
    command line gives none."""
    from twisted.internet import reactor

    from tests.hostsim.simserver import start

    switch, port = start(call_in_reactor, None, dialect=dialect, framing=framing)
    sc = load(tmp_path, "w.yaml", f"""
        target: 127.0.0.1:{port}
        dialect: {dialect}
        framing: {framing}
        terminal: {{fixture: POS00001}}
        cards:
          visa: {{fixture: good-visa}}
        steps:
          - echo:
            expect: {{"39": "00"}}
          - purchase: {{card: visa, amount: "12.34", entry: chip}}
            expect: {{"39": "00", "4": {{echo: true}}}}
        """)
    result = call_in_reactor(Runner(reactor, None, None).run_all, [sc])
    call_in_reactor(switch.stop)
    assert result.passed, summary(result)


def test_raw_bytes_step_for_robustness_tests(call_in_reactor, sim_port, tmp_path):
    """`raw: {hex: ...}` sends bytes as they are: a truncated 0200 gets a 30 from the lead's server, line
    noise gets the connection closed."""
    from twisted.internet import reactor

    from switch.wire import load_dialect

    body = load_dialect("ascii87").encode({"t": "0200", "3": "000000", "11": "000001", "41": "POS00001"})
    truncated = body[:-1].hex()
    sc = load(tmp_path, "raw.yaml", f"""
        steps:
          - raw: {{hex: "{truncated}"}}
            expect: {{"39": "30", mti: "0210"}}
          - raw: {{hex: "FFFEFDFC00112233"}}
            outcome: closed
            timeout: 2s
        """)
    result = call_in_reactor(Runner(reactor, "127.0.0.1", sim_port).run_all, [sc])
    assert result.passed, summary(result)
    assert result.scenarios[0].steps[0].notes[0].startswith("sent ")


def test_a_crash_fails_its_scenario_not_the_run(call_in_reactor, sim_port, tmp_path, monkeypatch):
    from twisted.internet import reactor

    from terminal_agent.scenario import messages

    def broken(kind, params, ctx):
        if kind == "balance":
            raise ZeroDivisionError("boom")
        return real(kind, params, ctx)

    real = messages.build
    monkeypatch.setattr(messages, "build", broken)
    crash = load(tmp_path, "crash.yaml", "cards: {v: {pan: \"4761739001010010\"}}\nsteps:\n  - balance: {card: v}\n")
    lanes = load(tmp_path, "lanes.yaml", "cards: {v: {pan: \"4761739001010010\"}}\nsteps:\n  - parallel:\n"
                 "      - {name: a, steps: [{balance: {card: v}}]}\n      - {name: b, steps: [{echo: }]}\n")
    fine = load(tmp_path, "fine.yaml", "steps: [{echo: }]\n")
    result = call_in_reactor(Runner(reactor, "127.0.0.1", sim_port).run_all, [crash, lanes, fine])
    assert "internal error: ZeroDivisionError: boom" in result.scenarios[0].error
    statuses = {s.session: s.status for s in result.scenarios[1].steps}
    assert statuses == {"a": "error", "b": "passed"}
    assert result.scenarios[2].passed and not result.passed


def test_tpdu_framing(call_in_reactor, tmp_path):
    from twisted.internet import reactor

    from tests.hostsim.simserver import start

    switch, port = start(call_in_reactor, None, framing="len2", tpdu=True)
    sc = load(tmp_path, "t.yaml", "terminal: {tid: POS00001}\nsteps:\n  - echo:\n    expect: {\"39\": \"00\"}\n")
    result = call_in_reactor(Runner(reactor, "127.0.0.1", port, tpdu="6000010000").run_all, [sc])
    call_in_reactor(switch.stop)
    assert result.passed, summary(result)
