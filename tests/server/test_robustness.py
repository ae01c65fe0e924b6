"""Issue 2: hostile input, idle and stalled connections, and 1,000 terminals at once."""

import os
import random
import socket
import time

import pytest

from switch.wire import load_dialect
from tests.server.wireclient import WireClient

ECHO = {"t": "0800", "7": "1126120000", "11": "000001", "41": "POS00001", "70": "301"}


def test_non_numeric_fields_get_format_error(start_switch):
    _, port = start_switch()
    client = WireClient(port)
    client.send({"t": "0200", "3": "00A000", "4": "000000001000", "11": "000005", "41": "POS00001"})
    answer = client.receive()
    assert (answer["t"], answer["39"], answer["11"]) == ("0210", "30", "000005")


@pytest.mark.parametrize("dialect", ["ascii87", "binary87", "bcd87", "ebcdic87"])
def test_random_bytes_truncated_and_oversized_frames_never_stop_the_server(start_switch, dialect):
    _, port = start_switch(dialect=dialect, max_frame=2048, frame_timeout=1.0)
    rng = random.Random(dialect)
    valid = load_dialect(dialect).encode({"t": "0200", "3": "000000", "4": "000000000100", "11": "000009",
                                          "41": "POS00001"})
    attacks = [
        os.urandom(64),
        b"\xff\xff" + os.urandom(100),  # oversized length
        b"\x00\x05\x00",  # truncated frame, then close
        len(valid).to_bytes(2, "big") + valid[:-2] + b"\x00\x00",
    ] + [len(valid).to_bytes(2, "big") + bytes(b ^ (rng.random() < 0.05) * rng.randrange(256) for b in valid)
         for _ in range(40)]
    for payload in attacks:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
            try:  # the server may hang up before we finish: that is a correct answer too
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
                while s.recv(4096):
                    pass
            except (OSError, TimeoutError):
                pass
    client = WireClient(port, dialect)
    client.send(ECHO)
    assert client.receive()["39"] == "00"


def test_idle_connection_closed(start_switch):
    _, port = start_switch(idle_timeout=0.5)
    client = WireClient(port)
    client.send(ECHO)
    assert client.receive()["39"] == "00"
    assert client.is_closed(timeout=3)


def test_half_frame_stall_closed_after_frame_timeout(start_switch):
    _, port = start_switch(idle_timeout=30, frame_timeout=0.5)
    staller, other = WireClient(port), WireClient(port)
    staller.send_raw(b"\x00\x40" + b"0800")  # announces 64 bytes, sends 4
    started = time.monotonic()
    assert staller.is_closed(timeout=3)
    assert time.monotonic() - started < 2.5
    other.send(ECHO)
    assert other.receive()["39"] == "00"


def test_thousand_concurrent_connections(start_switch):
    switch, port = start_switch()
    clients = [WireClient(port) for _ in range(1000)]
    deadline = time.monotonic() + 10
    while switch.factories[0].stats.open_connections < 1000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert switch.factories[0].stats.open_connections == 1000
    for i, client in enumerate(clients):
        client.send({**ECHO, "11": f"{i:06d}"})
    for i, client in enumerate(clients):
        assert client.receive()["11"] == f"{i:06d}"
    for client in clients:
        client.close()


def test_overload_answers_91_at_once_but_lets_reversals_and_echo_through(start_switch):
    from twisted.internet import defer

    from switch.server import Router, Switch

    pending = []

    def slow(request, ctx):  # a handler stuck behind a slow database
        d = defer.Deferred()
        pending.append(d)
        return d

    switch = Switch(router=Router(default=slow, max_inflight=3))
    _, port = start_switch(switch=switch)
    client = WireClient(port)
    base = {"t": "0200", "3": "000000", "4": "000000000100", "41": "POS00001"}
    for stan in range(1, 4):
        client.send({**base, "11": f"{stan:06d}"})  # these three wait
    client.send({**base, "11": "000004"})
    started = time.monotonic()
    answer = client.receive()
    assert (answer["11"], answer["39"]) == ("000004", "91")
    assert time.monotonic() - started < 1.0
    client.send(ECHO)
    assert client.receive()["39"] == "00"
    client.send({**base, "t": "0400", "11": "000005"})  # a reversal reaches its (slow) handler
    time.sleep(0.2)
    assert len(pending) == 4 and switch.router.shed == 1
