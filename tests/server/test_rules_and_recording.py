"""Issue 7 on the switch side: a listener with host simulation rules and a masked recording."""

import json

from tests.server.wireclient import WireClient

RULES = """\
rules:
  - name: cents give the response code
    match: {mti: "0200", cents: true}
    action: {respond: cents}
"""


def test_rules_run_before_the_router_and_traffic_is_recorded_masked(start_switch, tmp_path):
    rules, recording = tmp_path / "rules.yaml", tmp_path / "traffic.jsonl"
    rules.write_text(RULES)
    _, port = start_switch(rules=str(rules), record=str(recording))
    client = WireClient(port)
    base = {"t": "0200", "2": "4761739001010010", "3": "000000", "11": "000001", "41": "POS00001",
            "52": "0123456789ABCDEF"}
    client.send({**base, "4": "000000001051"})
    assert client.receive()["39"] == "51"  # the rule
    client.send({**base, "4": "000000001000", "11": "000002"})
    assert client.receive()["39"] == "00"  # no rule: the router answers
    lines = [json.loads(line) for line in recording.read_text().splitlines()]
    assert [line["dir"] for line in lines] == ["in", "out", "in", "out"]
    assert lines[1]["msg"]["39"] == "51"
    text = recording.read_text()
    assert "4761739001010010" not in text and "0123456789ABCDEF" not in text
    assert "476173******0010" in text
