"""`acqsim switch serve` and `acqsim iso decode` as a user runs them."""

import os
import re
import subprocess
import sys

from switch.wire import load_dialect
from tests.server.wireclient import WireClient

ACQSIM = [sys.executable, "-m", "switch.cli.main"]


def _serve(*extra, tmp_path):
    env = {**os.environ, "ACQSIM_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen([*ACQSIM, "switch", "serve", "--port", "0", "--http-port", "-1", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    ports = []
    for line in proc.stdout:
        m = re.match(r"listening iso8583 127\.0\.0\.1:(\d+)", line)
        if m:
            ports.append(int(m[1]))
        if len(ports) == 1 + sum(1 for e in extra if e == "--listen"):
            break
    return proc, ports


def test_serve_two_listeners_with_their_own_dialects(tmp_path):
    proc, ports = _serve("--approve-all", "--listen", "bcd87:bcd2:tpdu@127.0.0.1:0", tmp_path=tmp_path)
    try:
        ascii_client = WireClient(ports[0])
        ascii_client.send({"t": "0800", "11": "000001", "70": "301"})
        assert ascii_client.receive()["39"] == "00"
        bcd_client = WireClient(ports[1], "bcd87", "bcd2", tpdu=bytes.fromhex("6000010002"))
        bcd_client.send({"t": "0800", "11": "000002", "70": "301"})
        assert bcd_client.receive()["39"] == "00"
    finally:
        proc.terminate()
        proc.wait(10)


def test_bad_arguments_get_one_line(tmp_path):
    for args in (["switch", "serve", "--dialect", "klingon"], ["switch", "serve", "--listen", "nonsense"],
                 ["iso", "decode", "zz"], ["switch", "serve", "--framing", "len9"], ["bench", "--rate", "-5"],
                 ["bench", "--count", "0"], ["bench", "--cards", "0"], ["switch", "serve", "--cpus", "1-0"],
                 ["switch", "serve", "--cpus", "4096", "--approve-all", "--port", "0", "--http-port", "-1"]):
        result = subprocess.run([*ACQSIM, *args], capture_output=True, text=True, timeout=30)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_iso_decode_prints_masked_dump():
    raw = load_dialect("binary87").encode({"t": "0200", "2": "4761739001010010", "4": "000000001000",
                                           "52": "0123456789ABCDEF", "41": "POS00001"})
    framed = len(raw).to_bytes(2, "big") + raw
    result = subprocess.run([*ACQSIM, "iso", "decode", framed.hex(), "--dialect", "binary87", "--framing", "len2"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "476173******0010" in result.stdout and "4761739001010010" not in result.stdout
    assert "0123456789ABCDEF" not in result.stdout
    assert "Amount, Transaction" in result.stdout


def test_serve_on_the_cpus_given(tmp_path):
    """--cpus pins every thread of the switch (reactor, committer, fsync, lanes) to the CPUs named."""
    cpu = min(os.sched_getaffinity(0))
    proc, ports = _serve("--cpus", str(cpu), tmp_path=tmp_path)
    try:
        client = WireClient(ports[0])
        client.send({"t": "0800", "11": "000001", "70": "301"})
        assert client.receive()["39"] == "00"  # started and serving, its threads running
        threads = os.listdir(f"/proc/{proc.pid}/task")
        assert len(threads) > 1
        for tid in threads:
            assert os.sched_getaffinity(int(tid)) == {cpu}
    finally:
        proc.terminate()
        proc.wait(10)
