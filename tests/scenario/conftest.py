from __future__ import annotations

import pytest

# Host behaviour the runner tests need, chosen by terminal id; everything else gets the lead's
# approve-all router (39=00 with an RRN and approval code).
RULES = """
rules:
  - match: {cents: true}
    action: {respond: cents}
  - match: {terminal: SILENT01}
    action: {no_answer: true}
  - match: {terminal: CLOSE001}
    action: {close: true}
  - match: {terminal: GARBLE01}
    action: {garble: true}
  - match: {terminal: DUPL0001}
    action: {duplicate: true}
"""


@pytest.fixture(scope="module")
def sim_port(call_in_reactor, tmp_path_factory):
    from tests.hostsim.simserver import start

    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(RULES)
    switch, number = start(call_in_reactor, path)
    yield number
    call_in_reactor(switch.stop)
