"""Scenario files: what loads, and errors that name the file, line and key."""

from __future__ import annotations

import textwrap

import pytest

from terminal_agent.scenario import ConfigError, load_scenario
from terminal_agent.scenario.loader import parse_amount, parse_duration

GOOD = """
name: good
include: common/defaults.yaml
cards:
  inline: {pan: "4761739001010010", pin: "1234", expiry: "2812"}
variables: {tip: "1.00"}
timeout: 3s
steps:
  - include: common/echo.yaml
  - purchase: {card: visa, amount: "12.34"}
    id: sale
    capture: {rrn: "37", stan: request.11}
    expect:
      "39": "00"
      "38": {regex: "^[0-9A-Z]{6}$"}
      "11": {echo: true}
      "54": {absent: true}
      "37": {present: true}
      mti: "0210"
  - reversal: {original: sale}
    expect: {"39": {one_of: ["00", "25"]}, "37": "${rrn}"}
  - wait: 250ms
  - balance: {card: inline}
    repeat: 3
    timeout: 1.5
  - parallel:
      - name: lane 1
        steps: [{purchase: {card: visa, amount: "1"}}]
      - name: lane 2
        terminal: {tid: POS00002}
        steps: [{refund: {card: inline, amount_minor: "100"}, expect: {"39": {not: "96"}}}]
  - parallel: {copies: 3, steps: [{echo: }]}
  - batch_close: {totals: auto}
  - raw: {mti: "0800", fields: {"70": "301"}}
    outcome: no_answer
"""


def write(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(textwrap.dedent(text).lstrip("\n"))
    return p


@pytest.fixture
def lib(tmp_path):
    write(tmp_path, "common/defaults.yaml", """
        terminal: {tid: POS00001, mid: "000000000000001", currency: "682", tpk: 9464DF9DCE8AA82F38E9627FA8F8FD9B}
        cards:
          visa: {pan: "4761739001010010", pin: "1234"}
        """)
    write(tmp_path, "common/echo.yaml", """
        steps:
          - echo:
            expect: {"39": "00"}
        """)
    return tmp_path


def test_good_file_loads_with_includes(lib):
    sc = load_scenario(write(lib, "good.yaml", GOOD))
    assert sc.name == "good" and sc.terminal.tid == "POS00001" and sc.terminal.currency == "682"
    assert set(sc.cards) == {"visa", "inline"} and sc.timeout == 3.0 and sc.variables == {"tip": "1.00"}
    kinds = [s.kind for s in sc.steps]
    assert kinds == ["echo", "purchase", "reversal", "wait", "balance", "parallel", "parallel", "batch_close", "raw"]
    echo = sc.steps[0]
    assert echo.file.endswith("common/echo.yaml") and echo.line == 2
    sale = sc.steps[1]
    assert sale.id == "sale" and sale.capture == {"rrn": "37", "stan": "request.11"}
    assert [(e.field, e.op) for e in sale.expect] == [("39", "equal"), ("38", "regex"), ("11", "echo"),
                                                       ("54", "absent"), ("37", "present"), ("t", "equal")]
    assert sc.steps[3].wait_s == 0.25
    assert sc.steps[4].repeat == 3 and sc.steps[4].timeout == 1.5
    lanes = sc.steps[5].sessions
    assert [s.name for s in lanes] == ["lane 1", "lane 2"] and lanes[1].terminal.tid == "POS00002"
    assert len(sc.steps[6].sessions) == 3
    assert sc.steps[8].outcome == "no_answer"


def test_parse_helpers():
    assert parse_amount("12.34") == 1234 and parse_amount("5", 3) == 5000 and parse_amount("7", 0) == 7
    assert parse_duration("500ms") == 0.5 and parse_duration("2s") == 2 and parse_duration("1m") == 60
    with pytest.raises(ValueError):
        parse_amount("1.234")


BAD = [
    ("unknown step kind", "steps:\n  - purchace: {card: visa, amount: 1}\n", 2, "steps[0]", "exactly one of"),
    ("unknown step key", "steps:\n  - echo:\n    expct: {}\n", 3, "steps[0].expct", "unknown key"),
    ("bad amount", "steps:\n  - purchase:\n      card: visa\n      amount: 12.345\n", 4,
     "steps[0].purchase.amount", "decimals"),
    ("unknown card", "steps:\n  - purchase: {card: amex, amount: 1}\n", 2, "steps[0].purchase.card", "unknown card"),
    ("missing amount", "steps:\n  - refund: {card: visa}\n", 2, "steps[0].refund", "needs amount"),
    ("original not earlier", "steps:\n  - reversal: {original: sale}\n", 2, "steps[0].reversal.original",
     "no earlier step"),
    ("bad regex", "steps:\n  - echo:\n    expect:\n      \"39\": {regex: \"([\"}\n", 4, "steps[0].expect.39.regex",
     "regular expression"),
    ("bad expectation op", "steps:\n  - echo:\n    expect:\n      \"39\": {equals: \"00\"}\n", 4,
     "steps[0].expect.39.equals", "unknown expectation"),
    ("bad field number", "steps:\n  - echo:\n    expect: {\"200\": x}\n", 3, "steps[0].expect.200", "field number"),
    ("present not true", "steps:\n  - echo:\n    expect: {\"39\": {present: yes}}\n", 3,
     "steps[0].expect.39.present", "present: true"),
    ("bad wait", "steps:\n  - wait: soon\n", 2, "steps[0].wait", "duration"),
    ("bad repeat", "steps:\n  - echo:\n    repeat: 0\n", 3, "steps[0].repeat", "whole number"),
    ("bad outcome", "steps:\n  - echo:\n    outcome: silence\n", 3, "steps[0].outcome", "expected one of"),
    ("duplicate id", "steps:\n  - echo:\n    id: a\n  - echo:\n    id: a\n", 5, "steps[1].id", "used twice"),
    ("bad capture", "steps:\n  - echo:\n    capture: {rrn: reply.37}\n", 3, "steps[0].capture.rrn", "field number"),
    ("bad pin", "steps:\n  - purchase: {card: visa, amount: 1, pin: 12}\n", 2, "steps[0].purchase.pin", "4-12 digits"),
    ("no steps", "name: x\n", 1, "", "non-empty list of steps"),
    ("top-level typo", "nmae: x\nsteps: [{echo: }]\n", 1, "nmae", "unknown key"),
    ("session without steps", "steps:\n  - parallel:\n      - name: a\n", 3, "steps[0].parallel[0]",
     "list of steps"),
    ("expect on wait", "steps:\n  - wait: 1s\n    expect: {\"39\": \"00\"}\n", 3, "steps[0].expect", "no answer"),
    ("duplicate key", "steps:\n  - echo:\n    name: a\n    name: b\n", 4, "name", "duplicate key"),
    ("yaml syntax", "steps: [\n  {echo: \n", 3, "", "YAML syntax"),
    ("raw without mti", "steps:\n  - raw: {fields: {\"70\": \"301\"}}\n", 2, "steps[0].raw", "mti"),
    ("bad field key", "steps:\n  - echo: {fields: {\"0\": x}}\n", 2, "steps[0].echo.fields.0", "field number"),
    ("bad card pan", "cards:\n  x: {pan: \"12ab\"}\nsteps: [{echo: }]\n", 2, "cards.x.pan", "12 to 19 digits"),
    ("bad entry", "steps:\n  - purchase: {card: visa, amount: 1, entry: swipe}\n", 2, "steps[0].purchase.entry",
     "expected one of"),
]


@pytest.mark.parametrize("what, body, line, key, words", BAD, ids=[b[0] for b in BAD])
def test_bad_file_error_names_file_line_and_key(lib, what, body, line, key, words):
    head = "" if body.startswith(("cards:", "name:", "nmae:")) else "cards:\n  visa: {pan: \"4761739001010010\"}\n"
    path = write(lib, "bad.yaml", head + body)
    offset = head.count("\n")
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    e = err.value
    assert e.file == str(path), str(e)
    assert e.line == line + offset, str(e)
    assert e.key == key, str(e)
    assert words in str(e)
    assert str(e).startswith(f"{path}:{line + offset}: ")


def test_error_inside_an_included_file_names_that_file(lib):
    write(lib, "common/broken.yaml", "steps:\n  - echo:\n  - purchase: {card: visa, amount: abc}\n")
    path = write(lib, "top.yaml", "include: common/defaults.yaml\nsteps:\n  - include: common/broken.yaml\n")
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    assert err.value.file.endswith("common/broken.yaml") and err.value.line == 3
    assert err.value.key == "steps[1].purchase.amount"


def test_missing_include_and_include_cycle(lib):
    path = write(lib, "a.yaml", "steps:\n  - echo:\n  - include: nope.yaml\n")
    with pytest.raises(ConfigError, match=r"a\.yaml:3: steps\[1\]\.include: included file not found"):
        load_scenario(path)
    write(lib, "loop1.yaml", "steps:\n  - include: loop2.yaml\n")
    write(lib, "loop2.yaml", "steps:\n  - include: loop1.yaml\n")
    with pytest.raises(ConfigError, match="include cycle"):
        load_scenario(lib / "loop1.yaml")


def test_fixture_cards_and_terminals(lib):
    path = write(lib, "fx.yaml", """
        terminal: {fixture: ATM00001}
        cards:
          atm: {fixture: atm-card}
          mc: {fixture: "5413330089010012"}
        steps: [{cash: {card: atm, amount: "100"}}]
        """)
    sc = load_scenario(path)
    assert sc.terminal.kind == "atm" and sc.terminal.tpk and sc.terminal.currency == "682"
    assert sc.cards["atm"].pan == "4761739001010036" and sc.cards["atm"].pin == "2468"
    assert sc.cards["atm"].track2 and sc.cards["atm"].icc_track2 and sc.cards["atm"].imk_ac
    assert sc.cards["mc"].scheme == "mastercard"
    bad = write(lib, "fx2.yaml", "cards:\n  x: {fixture: no-such-card}\nsteps: [{echo: }]\n")
    with pytest.raises(ConfigError, match=r"fx2\.yaml:2: cards\.x\.fixture: no card 'no-such-card'"):
        load_scenario(bad)
