"""Host-simulation rules: loader errors name file, line and key; each match condition; reload on change."""

from __future__ import annotations

import os
import time

import pytest

from switch.hostsim import Action, RulesError, RuleSet, cents_code, garble
from switch.wire import MessageError, load_dialect

REQ = {"t": "0200", "2": "4761739001010010", "3": "000000", "4": "000000001051", "11": "000001",
       "22": "051", "41": "POS00001", "42": "000000000000001", "52": "0123456789ABCDEF"}


def rules(text: str) -> RuleSet:
    return RuleSet.from_text(text, "rules.yaml")


@pytest.mark.parametrize("text, line, key, words", [
    ("rules:\n  - match: {mti: \"0200\"}\n", 2, "rules[0]", "needs an action"),
    ("rules:\n  - match: {mti: \"0200\", colour: red}\n    action: {close: true}\n", 2, "rules[0].match.colour",
     "unknown key"),
    ("rules:\n  - name: a\n    action:\n      respond: \"5\"\n", 4, "rules[0].action.respond", "response code"),
    ("rules:\n  - action: {close: true, no_answer: true}\n", 2, "rules[0].action", "exactly one"),
    ("rules:\n  - action: {delay: soon}\n", 2, "rules[0].action.delay", "duration"),
    ("rules:\n  - match:\n      mti: \"200\"\n    action: {close: true}\n", 3, "rules[0].match.mti", "4 digits"),
    ("rules:\n  - match:\n      fields: {\"22\": \"[\"}\n    action: {close: true}\n", 3, "rules[0].match.fields.22",
     "regular expression"),
    ("rules:\n  - match:\n      amount: {min: ten}\n    action: {close: true}\n", 3, "rules[0].match.amount.min",
     "whole number"),
    ("rules:\n  - action: {close: yes}\n", 2, "rules[0].action.close", "close: true"),
    ("rules: [\n", 2, "", "YAML syntax"),
    ("rules:\n  - action: {close: true}\n    action: {close: true}\n", 3, "action", "duplicate key"),
])
def test_loader_errors_name_file_line_and_key(text, line, key, words):
    with pytest.raises(RulesError) as err:
        rules(text)
    e = err.value
    assert (e.file, e.line, e.key) == ("rules.yaml", line, key), str(e)
    assert words in str(e)
    assert str(e).startswith(f"rules.yaml:{line}: ")


def test_load_from_file_names_the_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("rules:\n  - match: {terminal: POS00001}\n    action: {late: 2 hours}\n")
    with pytest.raises(RulesError, match=r"bad\.yaml:3: rules\[0\]\.action\.late: expected a duration"):
        RuleSet.load(p)


def test_each_condition_matches_and_misses():
    cases = [
        ("mti: \"0200\"", "mti: [\"0100\", \"0400\"]"),
        ("processing_code: \"00\"", "processing_code: \"20\""),
        ("amount: 1051", "amount: 1050"),
        ("amount: {min: 1000, max: 2000}", "amount: {max: 1000}"),
        ("cents: true", "cents: [\"55\"]"),
        ("pan: \"476173\"", "pan: \"5413\""),
        ("pan: \"4761739001010010\"", "pan: \"4761739001010028\""),
        ("terminal: POS00001", "terminal: [ATM00001]"),
        ("merchant: \"000000000000001\"", "merchant: \"000000000000099\""),
        ("present: [\"52\"]", "present: [\"55\"]"),
        ("absent: [\"55\"]", "absent: [\"52\"]"),
        ("fields: {\"22\": \"^05\"}", "fields: {\"22\": \"^90\"}"),
    ]
    for hit, miss in cases:
        assert rules(f"rules:\n  - match: {{{hit}}}\n    action: {{close: true}}\n").match(REQ) is not None, hit
        assert rules(f"rules:\n  - match: {{{miss}}}\n    action: {{close: true}}\n").match(REQ) is None, miss


def test_pan_prefix_also_read_from_track2_when_field_2_is_absent():
    rs = rules("rules:\n  - match: {pan: \"476173\"}\n    action: {close: true}\n")
    req = {k: v for k, v in REQ.items() if k != "2"} | {"35": "4761739001010010=28122011234"}
    assert rs.match(req) is not None


def test_cents_give_the_response_code():
    rs = rules("rules:\n  - match: {mti: \"0200\", cents: true}\n    action: {respond: cents}\n")
    action = rs.match(REQ)
    assert action.kind == "respond"
    resp = action.response_for(REQ)
    assert resp["t"] == "0210" and resp["39"] == "51" and resp["11"] == "000001" and resp["41"] == "POS00001"
    assert "2" not in resp and "52" not in resp
    # .00 amounts are left to the real pipeline, so ordinary purchases still work beside the rule
    assert rs.match(REQ | {"4": "000000001000"}) is None
    assert cents_code({"4": "000000000055"}) == "55"


def test_first_match_wins_and_times_limits_a_rule():
    rs = rules("rules:\n  - match: {terminal: POS00001}\n    times: 2\n    action: {respond: \"91\"}\n"
               "  - action: {respond: {code: \"05\", fields: {\"44\": hello, \"11\": null}}}\n")
    assert [rs.match(REQ).code for _ in range(3)] == ["91", "91", "05"]
    assert rs.match(REQ).response_for(REQ)["44"] == "hello"
    assert "11" not in rs.match(REQ).response_for(REQ)


def test_reload_on_change_and_bad_edit_keeps_previous_rules(tmp_path):
    p = tmp_path / "rules.yaml"
    p.write_text("rules:\n  - action: {respond: \"51\"}\n")
    rs = RuleSet.load(p)
    assert rs.match(REQ).code == "51"
    p.write_text("rules:\n  - action: {respond: \"05\"}\n   \n")
    os.utime(p, ns=(time.time_ns(), time.time_ns() + 1_000_000))
    assert rs.match(REQ).code == "05"
    p.write_text("rules:\n  - action: {respond: \"5\"}\n")
    os.utime(p, ns=(time.time_ns(), time.time_ns() + 2_000_000))
    assert rs.match(REQ).code == "05"  # the broken edit did not take
    assert "rules.yaml:2" in rs.last_error
    p.write_text("rules: []\n")
    assert rs.match(REQ) is None and rs.last_error is None


def test_garble_keeps_length_and_breaks_every_dialect():
    for name in ("ascii87", "binary87", "bcd87", "ebcdic87"):
        d = load_dialect(name)
        data = d.encode(Action("respond", code="00").response_for(REQ))
        bad = garble(data)
        assert len(bad) == len(data)
        with pytest.raises(MessageError):
            d.decode(bad)


def _bomb(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + f"\nrules: *a{levels}\n"


@pytest.mark.parametrize("text, words", [
    ("rules: \x07\n", r"U\+0007 is not allowed"),
    ("rules: " + "[" * 3000 + "]" * 3000, "nesting too deep"),
    (_bomb(9), "expands to more than"),  # "billion laughs": refused at once, not walked
    ("rules:\n  - times: \u00b2\n    action: {close: true}\n", "whole number"),  # int() refuses '²'
    ("rules:\n  - match: {amount: \"1\u00b2\"}\n    action: {close: true}\n", "whole number"),
])
def test_hostile_files_get_a_config_error(text, words):
    """Found by the security helper's fuzzing (docs/requests.md): only RulesError may escape the loader."""
    with pytest.raises(RulesError, match=words):
        rules(text)


def test_non_utf8_file(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_bytes(b"rules:\n  - name: \xff\xfe\n")
    with pytest.raises(RulesError, match=r"r\.yaml:2: not UTF-8"):
        RuleSet.load(p)
