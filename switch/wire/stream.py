"""A Twisted protocol that reads and writes framed ISO 8583 messages; server and client build on it."""

from __future__ import annotations

import logging

from twisted.internet import protocol, tcp
from twisted.protocols.policies import TimeoutMixin

from switch.wire.dialect import Dialect
from switch.wire.dump import masked_hex
from switch.wire.framing import FrameError, FrameReader, Framing

log = logging.getLogger("acqsim.wire")
_PLAIN_TCP = (tcp.Server, tcp.Client)


def write_now(transport, data: bytes) -> None:
    """`transport.write(data)`, but sent at once on a plain TCP socket with nothing queued ahead of it.

    Twisted's write only buffers: it registers the socket for writing (epoll_ctl), sends on the next turn
    of the loop and deregisters it (epoll_ctl again). For one small answer that is three system calls and
    a loop turn where one send() does, and each call lets another thread take the GIL. Anything queued,
    TLS, a short send or an error goes the usual way, so order and error handling stay Twisted's.
    """
    if (type(transport) in _PLAIN_TCP and not transport.TLS and transport.connected
            and not transport.disconnecting and not transport.dataBuffer
            # Twisted's private state, read with defaults that turn this path off should it change
            and not getattr(transport, "_tempDataLen", 1) and not getattr(transport, "_writeDisconnected", 1)):
        sent = transport.writeSomeData(data)
        if type(sent) is int and sent > 0:
            if sent == len(data):
                return
            data = data[sent:]
    transport.write(data)


class FramedIsoProtocol(protocol.Protocol, TimeoutMixin):
    """Splits the stream into frames and hands each (tpdu, payload) to `frameReceived`.

    Two timers share TimeoutMixin: `idle_timeout` between messages and the shorter `frame_timeout` while a
    frame is half received, so a peer that stalls mid-frame is cut off quickly without hurting others.
    """

    dialect: Dialect
    framing: Framing
    idle_timeout: float | None = None
    frame_timeout: float | None = None

    def __init__(self, dialect: Dialect, framing: Framing, idle_timeout: float | None = None,
                 frame_timeout: float | None = None):
        self.dialect = dialect
        self.framing = framing
        self.idle_timeout = idle_timeout
        self.frame_timeout = frame_timeout
        self._reader = FrameReader(framing)
        self.peer = "?"

    def connectionMade(self) -> None:
        peer = self.transport.getPeer()
        self.peer = f"{getattr(peer, 'host', '?')}:{getattr(peer, 'port', '?')}"
        self.setTimeout(self.idle_timeout)

    def dataReceived(self, data: bytes) -> None:
        try:
            frames = self._reader.feed(data)
        except FrameError as exc:
            log.warning("closing %s: unreadable stream (%s): %s", self.peer, exc, masked_hex(data))
            self.transport.abortConnection()
            return
        for tpdu, payload in frames:
            self.frameReceived(tpdu, payload)
            if not self.connected:
                return
        pending = self._reader.pending
        self.setTimeout(self.frame_timeout if pending and self.frame_timeout else self.idle_timeout)

    def frameReceived(self, tpdu: bytes | None, payload: bytes) -> None:
        raise NotImplementedError

    def sendFrame(self, payload: bytes, tpdu: bytes | None = None) -> None:
        write_now(self.transport, self.framing.frame(payload, tpdu))

    def timeoutConnection(self) -> None:
        state = "mid-frame" if self._reader.pending else "idle"
        log.info("closing %s: %s timeout", self.peer, state)
        self.transport.abortConnection()

    def connectionLost(self, reason=protocol.connectionDone) -> None:
        self.setTimeout(None)
