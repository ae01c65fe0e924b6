"""A terminal process killed (SIGKILL) while waiting for an answer reverses the request after restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from switch.cli.main import main

from .approver import Approver
from .conftest import FIXTURES

pytestmark = pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
ROOT = Path(__file__).resolve().parents[2]


def test_sigkill_while_waiting_then_restart_reverses(call_in_reactor, reactor, cards, tmp_path, capsys):
    from terminal_agent.profile import load_profiles

    host = Approver(cards.values(), load_profiles(FIXTURES))
    call_in_reactor(host.listen, reactor)
    host.mode["0200"] = "silent"
    common = ["--port", str(host.port), "--data-dir", str(tmp_path), "--fixtures", str(FIXTURES)]
    proc = subprocess.Popen([sys.executable, "-m", "switch.cli.main", "terminal", "purchase", "--card",
                             "4761739001010010", "--amount", "3.00", "--pin", "1234", "--timeout", "60", *common],
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not any(m["t"] == "0200" for m in host.seen):
            assert time.monotonic() < deadline and proc.poll() is None, "the terminal never sent its 0200"
            time.sleep(0.05)
        proc.kill()                                  # power cut while the request is in flight
        proc.wait(10)
        state = json.loads((tmp_path / "terminals" / "POS00001.json").read_text())
        assert state["in_flight"]["msg"]["11"] == host.seen[-1]["11"]
        host.mode.clear()
        assert main(["terminal", "reverse", "--pending", "--json", *common]) == 0
        capsys.readouterr()
        rev = host.seen[-1]
        assert rev["t"] == "0400" and rev["90"][:10] == "0200" + state["in_flight"]["msg"]["11"]
        after = json.loads((tmp_path / "terminals" / "POS00001.json").read_text())
        assert after["reversals"] == [] and "in_flight" not in after
    finally:
        if proc.poll() is None:
            proc.kill()
        call_in_reactor(host.switch.stop)
