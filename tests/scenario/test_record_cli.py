"""Recorder (masked JSONL), recording -> scenario, and the `acqsim scenario` CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import yaml

from terminal_agent.scenario import load_scenario
from terminal_agent.scenario.record import Recorder, read_recording, recording_to_scenario, write_scenario

PAN = "4761739001010010"
TRACK = "4761739001010010=2812201123456789000"


def traffic(path):
    rec = Recorder(path)
    peer = "127.0.0.1:50000"
    sale = {"t": "0200", "2": PAN, "3": "000000", "4": "000000001234", "7": "1126120000", "11": "000101",
            "22": "051", "35": TRACK, "41": "POS00001", "42": "000000000000001", "49": "682",
            "52": "0123456789ABCDEF", "55": "9F2608AABBCCDDEEFF00119F360200FF"}
    rec.record("in", {"t": "0800", "11": "000100", "41": "POS00001", "70": "301"}, peer)
    rec.record("out", {"t": "0810", "11": "000100", "41": "POS00001", "39": "00", "70": "301"}, peer)
    rec.record("in", sale, peer)
    rec.record("out", {"t": "0210", "11": "000101", "41": "POS00001", "39": "00", "37": "633012000001",
                       "38": "123456"}, peer)
    rec.record("in", {"t": "0400", "2": PAN, "3": "000000", "4": "000000001234", "11": "000102", "41": "POS00001",
                      "90": "0200000101" + "1126120000" + "0" * 22}, peer)  # no answer recorded
    rec.record("in", {"t": "0200", "2": "4761739999999992", "3": "310000", "4": "000000000000", "11": "000103",
                      "22": "901", "41": "POS00001"}, peer)
    rec.record("out", {"t": "0210", "11": "000103", "41": "POS00001", "39": "14"}, peer)
    rec.close()


def test_recorder_masks_card_data(tmp_path):
    path = tmp_path / "rec.jsonl"
    traffic(path)
    text = path.read_text()
    assert PAN not in text and "2812201123456789000" not in text and "0123456789ABCDEF" not in text
    assert "AABBCCDDEEFF0011" not in text
    lines = [json.loads(x) for x in text.splitlines()]
    sale = lines[2]["msg"]
    assert sale["2"] == "476173******0010" and sale["35"].startswith("476173******0010")
    assert set(sale["52"]) == {"*"} and sale["55"] == "tags:9F26,9F36"
    assert [x["dir"] for x in lines] == ["in", "out", "in", "out", "in", "in", "out"]


def test_recording_becomes_a_scenario_that_loads(tmp_path):
    path = tmp_path / "rec.jsonl"
    traffic(path)
    doc = recording_to_scenario(read_recording(path), name="replay")
    out = tmp_path / "replay.yaml"
    with open(out, "w") as fh:
        write_scenario(doc, fh)
    loaded = yaml.safe_load(out.read_text())
    assert loaded["terminal"] == {"fixture": "POS00001"}
    kinds = [next(iter(s)) for s in loaded["steps"]]
    assert kinds == ["echo", "purchase", "reversal", "balance"]
    sale = loaded["steps"][1]
    assert sale["purchase"]["amount_minor"] == "1234" and sale["purchase"]["entry"] == "chip"
    assert sale["purchase"]["pin"] is True and sale["expect"]["39"] == "00" and sale["id"] == "s000101"
    assert loaded["steps"][2]["reversal"] == {"original": "s000101"} and loaded["steps"][2]["outcome"] == "no_answer"
    assert loaded["steps"][3]["expect"] == {"39": "14"}
    cards = loaded["cards"]
    assert {"fixture": "good-visa"} in cards.values() and {"fixture": "unknown-card"} in cards.values()
    sc = load_scenario(out)
    assert [s.kind for s in sc.steps] == kinds


def _acqsim(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    return subprocess.run([sys.executable, "-m", "switch.cli.main", *args], capture_output=True, text=True,
                          timeout=60, env=env, cwd=cwd)


def test_cli_record(tmp_path):
    path = tmp_path / "rec.jsonl"
    traffic(path)
    r = _acqsim("scenario", "record", str(path), "-o", str(tmp_path / "s.yaml"), "--name", "x")
    assert r.returncode == 0, r.stderr
    assert yaml.safe_load((tmp_path / "s.yaml").read_text())["name"] == "x"
    r = _acqsim("scenario", "record", str(tmp_path / "missing.jsonl"))
    assert r.returncode == 2 and "cannot read" in r.stderr


def test_cli_run_exit_codes_and_reports(sim_port, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("terminal: {tid: POS00001}\nsteps:\n  - echo:\n    expect: {\"39\": \"00\"}\n")
    failing = tmp_path / "failing.yaml"
    failing.write_text("terminal: {tid: POS00001}\nsteps:\n  - echo:\n    expect: {\"39\": \"05\"}\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("steps:\n  - echo:\n    expectt: {}\n")
    target = f"127.0.0.1:{sim_port}"
    r = _acqsim("scenario", "run", str(good), "--target", target, "--junit", str(tmp_path / "j.xml"),
                "--html", str(tmp_path / "r.html"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1/1 scenarios passed" in r.stdout
    assert ET.parse(tmp_path / "j.xml").getroot().get("failures") == "0"
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
    r = _acqsim("scenario", "run", str(good), str(failing), "--target", target, "--json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["passed"] is False and [s["passed"] for s in doc["scenarios"]] == [True, False]
    r = _acqsim("scenario", "run", str(good), str(broken), "--target", target, "--junit", str(tmp_path / "k.xml"))
    assert r.returncode == 1
    assert f"{broken}:3: steps[0].expectt: unknown key" in r.stderr
    suites = ET.parse(tmp_path / "k.xml").getroot().findall("testsuite")
    assert suites[1].find("testcase/error") is not None
    r = _acqsim("scenario", "run", str(tmp_path / "nope.yaml"), "--target", target)
    assert r.returncode == 2 and "no such file" in r.stderr


def test_switch_recording_replays_as_a_scenario(call_in_reactor, tmp_path):
    """Record and replay end to end: the lead's switch records a scenario's traffic (--record), the
    recording becomes a scenario, and that scenario passes against the switch again."""
    from twisted.internet import reactor

    from terminal_agent.scenario import Runner
    from tests.hostsim.simserver import start

    traffic_path = tmp_path / "traffic.jsonl"
    switch, port = start(call_in_reactor, None, record=str(traffic_path))
    original = tmp_path / "original.yaml"
    original.write_text(
        "terminal: {fixture: POS00001}\ncards:\n  visa: {fixture: good-visa}\nsteps:\n  - echo:\n"
        "  - purchase: {card: visa, amount: \"12.34\"}\n    id: sale\n  - reversal: {original: sale}\n"
        "  - refund: {card: visa, amount: \"1.00\", entry: magstripe}\n")
    first = call_in_reactor(Runner(reactor, "127.0.0.1", port).run_all, [load_scenario(original)])
    assert first.passed
    assert PAN not in traffic_path.read_text()
    replay = tmp_path / "replay.yaml"
    with open(replay, "w") as fh:
        write_scenario(recording_to_scenario(read_recording(traffic_path), name="replay"), fh)
    sc = load_scenario(replay)
    assert [s.kind for s in sc.steps] == ["echo", "purchase", "reversal", "refund"]
    assert sc.cards[sc.steps[1].params["card"]].pan == PAN  # mapped back to the fixture card by 6+4
    second = call_in_reactor(Runner(reactor, "127.0.0.1", port).run_all, [sc])
    assert second.passed, [s.failures for s in second.scenarios[0].steps]
    call_in_reactor(switch.stop)
