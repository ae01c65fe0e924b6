"""Test helpers: the lead's switch server (switch.server.Switch) with a host-simulation rules file on its
listener - exactly what `acqsim switch serve --rules FILE` runs - and a blocking wire client.

Tests start it on port 0 on the session reactor and talk to it over real TCP sockets. The router behind
the rules is the lead's approve-all default unless a test passes its own.
"""

from __future__ import annotations

import socket
import struct
import time

from switch.server import ListenerConfig, Switch
from switch.server.router import Router
from switch.wire import load_dialect


def start(call_in_reactor, rules_path, router: Router | None = None, **listener):
    """Listen on 127.0.0.1:0 with `rules_path`; returns (switch, port number). Stop with switch.stop()."""
    from twisted.internet import reactor

    switch = Switch(router)
    cfg = ListenerConfig(port=0, rules=str(rules_path) if rules_path else None, idle_timeout=0, frame_timeout=0,
                         **listener)
    _, port = call_in_reactor(switch.listen, reactor, cfg)
    return switch, port


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
