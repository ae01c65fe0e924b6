"""payShield-style TCP server (Twisted): 2-byte big-endian length, a fixed-length header echoed back, then
the command; several commands in one segment are each answered, in order.

Every frame gets an answer: a frame shorter than header + command code gets `<header>ZZ15`, an unknown
command `<code+1>68`, a malformed field the command's error code (15 ...), an internal fault 15 (logged);
a frame whose length prefix exceeds `max_frame` closes the connection. Stalled frames and idle connections
time out so no connection hangs forever.
"""

from __future__ import annotations

import logging

from twisted.internet import protocol
from twisted.protocols.basic import Int16StringReceiver
from twisted.protocols.policies import TimeoutMixin

from hsm_emulator.hsm import Hsm

log = logging.getLogger("hsm_emulator.server")


class HsmProtocol(Int16StringReceiver, TimeoutMixin):
    def __init__(self, factory: HsmFactory) -> None:
        self.factory = factory
        self.peer = "?"
        self.MAX_LENGTH = factory.max_frame

    def connectionMade(self) -> None:  # noqa: N802 - Twisted API
        addr = self.transport.getPeer()
        self.peer = f"{getattr(addr, 'host', '?')}:{getattr(addr, 'port', '?')}"
        self.setTimeout(self.factory.idle_timeout)
        self.factory.connections += 1

    def connectionLost(self, reason=None) -> None:  # noqa: N802
        self.setTimeout(None)
        self.factory.connections -= 1

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.resetTimeout()
        super().dataReceived(data)

    def stringReceived(self, frame: bytes) -> None:  # noqa: N802
        n = self.factory.header_length
        header, command = frame[:n], frame[n:]
        if len(frame) < n + 2:
            response = header.ljust(n, b" ")[:n] + b"ZZ15"
        else:
            response = header + self.factory.hsm.execute(command, caller=self.peer)
        self.sendString(response)

    def lengthLimitExceeded(self, length: int) -> None:  # noqa: N802
        log.warning("frame of %d bytes from %s exceeds %d: closing", length, self.peer, self.MAX_LENGTH)
        self.transport.loseConnection()

    def timeoutConnection(self) -> None:  # noqa: N802
        self.transport.loseConnection()


class HsmFactory(protocol.ServerFactory):
    def __init__(self, hsm: Hsm, header_length: int = 4, max_frame: int = 32767, idle_timeout: float = 600.0) -> None:
        if not 0 <= header_length <= 255:
            raise ValueError("header length must be 0..255")
        self.hsm = hsm
        self.header_length = header_length
        self.max_frame = max_frame
        self.idle_timeout = idle_timeout
        self.connections = 0

    def buildProtocol(self, addr) -> HsmProtocol:  # noqa: N802
        return HsmProtocol(self)


def listen(reactor, hsm: Hsm, host: str = "127.0.0.1", port: int = 1500, header_length: int = 4, **kw):
    """Start listening; returns the IListeningPort (its getHost().port is the real port when port=0)."""
    return reactor.listenTCP(port, HsmFactory(hsm, header_length, **kw), interface=host)
