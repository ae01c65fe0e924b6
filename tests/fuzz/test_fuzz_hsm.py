"""Fuzz the HSM host-command parser (issue 10): `Hsm().execute(bytes)` answers every input with a
well-formed response (command code + 1, two-character error code) and never raises or hangs. Inputs
are mutations of valid commands for each family, so the parsers are exercised past the first field;
an exception the HSM swallows ("internal error", logged) counts as a crash too."""

from __future__ import annotations

import logging
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.conftest import fuzz_settings
from tests.fuzz.samples import mutated

CLEAR = "0123456789ABCDEFFEDCBA9876543210"
ACCT = "456789012345"  # 12 account digits (PAN without BIN prefix digit and check digit)
BLOCK = "0412AC89ABCDEF67"
SLOW_SECONDS = 2.0
# Reported in docs/requests.md (security helper to the HSM helper): fields checked with str.isdigit()
# accept b"\xb2" / b"\xb3" / b"\xb9" (superscripts once decoded as latin-1) and a library then raises;
# the HSM answers 15 but logs an internal error. Counted, not failed on, until fixed.


class Internal(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record):
        self.records.append(f"{record.getMessage()} {record.exc_info[1]!r}" if record.exc_info else record.getMessage())


@pytest.fixture(scope="module")
def hsm_and_seeds():
    hsm_emulator = pytest.importorskip("hsm_emulator")
    hsm = hsm_emulator.Hsm()
    k = {t: hsm.import_clear_key(CLEAR, t)[0] for t in ("TPK", "ZPK", "PVK", "BDK", "TAK", "ZEK", "MK-AC", "CVK", "ZMK")}
    seeds = [
        "NC", "A00002U", "A01002U" + k["ZMK"] + "X", "A8001" + k["ZMK"] + k["ZPK"] + "U",
        "A6001" + k["ZMK"] + "X" + "0" * 32 + "U", "A0A302U01" + k["BDK"] + "FFFF9876543210E",
        "HC" + k["TPK"] + ";XU0", "BUFF1" + k["TPK"] + ";002;001", "BU0200406FBB23A5214DF",
        "M0" + "00" + "11" + "00A" + k["ZEK"] + "0020" + "0123456789ABCDEF0123456789ABCDEF",
        "M2" + "01" + "11" + "00A" + k["ZEK"] + "0" * 16 + "0020" + "0123456789ABCDEF0123456789ABCDEF",
        "DC" + k["TPK"] + k["PVK"] + BLOCK + "01" + ACCT + "1" + "1234",
        "CM" + k["BDK"] + k["PVK"] + "A05" + "FFFF9876543210E00001" + BLOCK + ACCT + "1" + "1234",
        "G0" + k["BDK"] + k["ZPK"] + "A05" + "FFFF9876543210E00002" + BLOCK + "01" + ACCT,
        "BA" + "1234FFFFFFFF" + ACCT, "DG" + k["PVK"] + "12345" + ACCT + "1",
        "DA" + k["TPK"] + k["PVK"] + "12" + BLOCK + "01" + "04" + ACCT + "0123456789012345" + "1234FFFFFFFF" + "1234",
        "EA" + k["ZPK"] + k["PVK"] + "12" + BLOCK + "01" + "04" + ACCT + "0123456789012345" + "1234FFFFFFFF" + "1234",
        "CA" + k["TPK"] + k["ZPK"] + "12" + BLOCK + "01" + "01" + ACCT,
        "JC" + k["TPK"] + BLOCK + "01" + ACCT, "JE" + k["ZPK"] + BLOCK + "01" + ACCT,
        "CY" + k["CVK"] + "123" + "4761739001010010;" + "2512" + "201",
        "CW" + k["CVK"] + "4761739001010010;" + "2512" + "201",
        "M6" + "1" + "0" + "0" + "3" + "0" + k["TAK"] + "0010" + "0123456789ABCDEF",
        "M8" + "1" + "0" + "0" + "3" + "0" + k["TAK"] + "0010" + "0123456789ABCDEF" + "01234567",
        "KQ" + "0" + "0" + k["MK-AC"] + "4761739001010010" + "00" + "0001" + "12345678" + "0010"
        + "0123456789ABCDEF" + ";" + "0123456789ABCDEF" + "3030",
        "\x19trailer", "NC\x19" + "A" * 40,
    ]
    return hsm, [s.encode("latin-1") for s in seeds]


@fuzz_settings(1500)
@given(data=st.data())
def test_hsm_execute(hsm_and_seeds, data):
    from hsm_emulator.commands import response_code

    hsm, seeds = hsm_and_seeds
    command = data.draw(st.one_of(mutated(seeds), st.binary(max_size=80),
                                  st.sampled_from(seeds).flatmap(lambda s: st.binary(max_size=40).map(lambda t: s + t))))
    handler = Internal()
    audit = logging.getLogger("hsm_emulator.audit")
    audit.addHandler(handler)
    try:
        t0 = time.perf_counter()
        out = hsm.execute(command)
        elapsed = time.perf_counter() - t0
    finally:
        audit.removeHandler(handler)
    assert isinstance(out, bytes) and len(out) >= 4
    code = command[:2].decode("latin-1")
    expected = response_code(code) if len(code) == 2 and code.isalnum() else "ZZ"
    assert out[:2] == expected.encode("latin-1"), (command, out)
    assert len(out[2:4]) == 2 and out[2:4].isalnum()
    assert not handler.records, f"HSM swallowed an internal error for {command!r}: {handler.records}"
    assert elapsed < SLOW_SECONDS, f"{command[:2]!r} took {elapsed:.2f}s"


def test_hsm_superscript_digit_reproducer(hsm_and_seeds):
    hsm, _ = hsm_and_seeds
    cvk = hsm.import_clear_key(CLEAR, "CVK")[0]
    handler = Internal()
    audit = logging.getLogger("hsm_emulator.audit")
    audit.addHandler(handler)
    try:
        out = hsm.execute(b"CY" + cvk.encode() + b"123" + b"47617\xb39001010010;2512201")
    finally:
        audit.removeHandler(handler)
    assert out[:4] != b"CZ00"
    assert not handler.records, handler.records  # a format error (15) without an internal exception


def test_hsm_server_over_tcp(hsm_and_seeds, call_in_reactor, reactor):
    """The HSM's TCP server behind the allow-list: hostile frames on many connections at once; each
    well-framed command is answered with the header echoed, a good client is served after every input,
    and every connection ends closed (idle timeout) - none hangs."""
    import socket
    import struct

    from hypothesis import given

    from hsm_emulator.server import HsmFactory
    from switch.security.tls import listen
    from tests.fuzz.test_fuzz_server import Crashes, drain

    hsm, seeds = hsm_and_seeds
    factory = HsmFactory(hsm, header_length=4, max_frame=4096, idle_timeout=2.0)
    port = call_in_reactor(listen, reactor, 0, factory, allowed_networks=["127.0.0.1"], interface="127.0.0.1")
    number = port.getHost().port
    crashes = Crashes()
    from twisted.logger import globalLogPublisher

    globalLogPublisher.addObserver(crashes)
    socks, unhealthy = [], []

    def frame(cmd: bytes) -> bytes:
        return struct.pack(">H", len(cmd) + 4) + b"HDR1" + cmd

    def good_client_ok() -> bool:
        with socket.create_connection(("127.0.0.1", number), timeout=5) as s:
            s.sendall(frame(b"NC"))
            data = b""
            while len(data) < 10:
                chunk = s.recv(4096)
                if not chunk:
                    return False
                data += chunk
            return data[2:10] == b"HDR1ND00"

    try:
        @fuzz_settings(60)
        @given(data=st.data())
        def one(data):
            kind = data.draw(st.sampled_from(["frames", "garbage"]))
            if kind == "frames":
                cmds = data.draw(st.lists(mutated(seeds), min_size=1, max_size=3))
                raw = b"".join(frame(c[:4000]) for c in cmds)
            else:
                raw = data.draw(st.binary(max_size=300))
            s = socket.create_connection(("127.0.0.1", number), timeout=5)
            socks.append(s)
            try:
                s.sendall(raw)
            except OSError:
                pass
            if not good_client_ok():
                unhealthy.append(len(socks))

        one()
        results = drain(socks, time.monotonic() + 2.0 + 5)
    finally:
        globalLogPublisher.removeObserver(crashes)
        for s in socks:
            s.close()
        call_in_reactor(port.stopListening)
    assert not crashes.events, crashes.events[:3]
    assert not unhealthy, f"the HSM stopped serving a good client after inputs {unhealthy[:5]}"
    assert all(r is not None for r in results), "a connection neither answered nor closed"
    for r in results:
        while len(r) >= 2:  # every answer is a whole frame: length, the header echoed or padded, code, error
            n = struct.unpack(">H", r[:2])[0]
            assert n >= 8 and len(r) >= 2 + n, r[:16]
            r = r[2 + n:]
        assert r == b""
