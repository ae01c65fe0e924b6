"""Issue 9: answers are sent at once (one send(), no writability round trip), and order is kept when data
is already queued (a short send, a slow reader)."""

import socket

from twisted.internet import protocol, tcp

from switch.wire.stream import write_now
from tests.server.wireclient import WireClient

ECHO = {"t": "0800", "7": "1126120000", "11": "000001", "41": "POS00001", "70": "301"}


def test_an_answer_on_an_idle_connection_is_sent_without_waiting_for_writability(start_switch, monkeypatch):
    registrations = []
    original = tcp.Server.startWriting
    monkeypatch.setattr(tcp.Server, "startWriting", lambda self: (registrations.append(self), original(self)))
    _, port = start_switch()
    client = WireClient(port)
    for stan in ("000001", "000002", "000003"):
        client.send({**ECHO, "11": stan})
        assert client.receive()["11"] == stan
    assert registrations == []  # Twisted's buffered write would register the socket once per answer


class _Holder(protocol.Protocol):
    def connectionMade(self) -> None:
        self.factory.connected.append(self)


def test_a_short_send_and_the_writes_behind_it_keep_their_order(call_in_reactor):
    from twisted.internet import reactor

    factory = protocol.Factory.forProtocol(_Holder)
    factory.connected = []
    port = call_in_reactor(reactor.listenTCP, 0, factory, interface="127.0.0.1")
    try:
        with socket.create_connection(("127.0.0.1", port.getHost().port), timeout=10) as peer:
            call_in_reactor(lambda: None)
            while not factory.connected:
                call_in_reactor(lambda: None)
            server = factory.connected[0]
            big = bytes(range(256)) * 40_000  # ~10 MB: more than the socket buffers (4 MB at most) take at once

            def write_both():
                write_now(server.transport, big)
                queued = bool(server.transport.dataBuffer or server.transport._tempDataLen)
                write_now(server.transport, b"tail")
                return queued

            assert call_in_reactor(write_both) is True  # the first write was short: the rest is queued
            received = bytearray()
            while len(received) < len(big) + 4:
                chunk = peer.recv(1 << 20)
                assert chunk, "connection closed early"
                received += chunk
            assert bytes(received) == big + b"tail"
    finally:
        call_in_reactor(port.stopListening)
