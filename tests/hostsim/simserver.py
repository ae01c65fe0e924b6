"""The lead's switch server with host-simulation rules plugged in front of its router, the way
switch.server will call them (docs/requests.md): decode, `rules.match`, `execute` or the router.

Tests start it on port 0 on the session reactor and talk to it over real TCP sockets.
"""

from __future__ import annotations

import socket
import struct
import time

from switch.hostsim import RuleSet, execute
from switch.server.protocol import IsoServerFactory, IsoServerProtocol
from switch.server.router import RequestContext, Router
from switch.wire import MessageError, answer_tpdu, load_dialect
from switch.wire.framing import Framing


class RulesProtocol(IsoServerProtocol):
    def frameReceived(self, tpdu, payload):
        try:
            request = self.dialect.decode(payload)
        except MessageError:
            return super().frameReceived(tpdu, payload)
        action = self.factory.rules.match(request) if self.factory.rules else None
        if action is None:
            return super().frameReceived(tpdu, payload)
        from twisted.internet import reactor

        ctx = RequestContext(self.ctx.listener, self.peer, self.ctx.dialect, self.ctx.connection_id)

        def write(data: bytes) -> None:
            if self.connected:
                self.sendFrame(data, answer_tpdu(tpdu) if tpdu else None)

        execute(action, request, answer=lambda req: self.factory.router.dispatch(req, ctx),
                encode=self.dialect.encode, write=write, close=self.transport.loseConnection, clock=reactor)


class RulesFactory(IsoServerFactory):
    protocol = RulesProtocol

    def __init__(self, rules: RuleSet | None, router: Router | None = None, dialect: str = "ascii87"):
        super().__init__("sim", load_dialect(dialect), Framing("len2"), router or Router(), idle_timeout=None,
                         frame_timeout=None)
        self.rules = rules

    def buildProtocol(self, addr):
        proto = RulesProtocol(self.dialect, self.framing, self.idle_timeout, self.frame_timeout)
        proto.factory = self
        return proto


def start(call_in_reactor, rules: RuleSet | None, router: Router | None = None):
    """Listen on 127.0.0.1:0; returns (port object, port number)."""
    from twisted.internet import reactor

    factory = RulesFactory(rules, router)
    port = call_in_reactor(reactor.listenTCP, 0, factory, interface="127.0.0.1")
    return port, port.getHost().port


class WireClient:
    """A blocking test client: len2 framing, ascii87; sees exactly what arrives on the socket."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.dialect = load_dialect("ascii87")
        self.buf = b""

    def send(self, msg: dict) -> None:
        data = self.dialect.encode(msg)
        self.sock.sendall(struct.pack(">H", len(data)) + data)

    def read_frame(self, timeout: float) -> bytes | None:
        """One frame's payload; None on timeout; b"" when the peer closed."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 2:
                n = struct.unpack(">H", self.buf[:2])[0]
                if len(self.buf) >= 2 + n:
                    payload, self.buf = self.buf[2:2 + n], self.buf[2 + n:]
                    return payload
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return None
            if not chunk:
                return b""
            self.buf += chunk

    def close(self) -> None:
        self.sock.close()
