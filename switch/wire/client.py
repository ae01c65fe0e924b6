"""Twisted ISO 8583 client: sends requests and matches answers by MTI class, terminal (41) and STAN (11)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from twisted.internet import defer
from twisted.internet.endpoints import SSL4ClientEndpoint, TCP4ClientEndpoint, connectProtocol
from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure

from switch.wire.dialect import Dialect, MessageError, load_dialect
from switch.wire.framing import Framing
from switch.wire.stream import FramedIsoProtocol

log = logging.getLogger("acqsim.client")
_DONE = Failure(ConnectionDone())


class RequestTimeout(Exception):
    """No answer arrived within the request's timeout."""


class ConnectionClosed(Exception):
    """The connection closed before the answer arrived."""


def match_key(msg: dict[str, str]) -> tuple[str, str, str]:
    """Requests and answers share the MTI class (second digit), terminal id and STAN."""
    mti = msg.get("t", "")
    return (mti[1:2], msg.get("41", "").strip(), msg.get("11", ""))


class IsoClient(FramedIsoProtocol):
    """One connection to an ISO 8583 host. Unmatched frames go to `on_unmatched` (raw bytes or dict)."""

    def __init__(self, dialect: Dialect, framing: Framing, tpdu: bytes | None = None):
        super().__init__(dialect, framing)
        self.tpdu = tpdu
        self._waiting: dict[tuple[str, str, str], defer.Deferred] = {}
        self.on_unmatched: Callable[[dict[str, str]], None] | None = None
        self.closed = defer.Deferred()
        self.last_raw_response: bytes | None = None

    @classmethod
    def connect(cls, reactor, host: str, port: int, dialect: str | Dialect = "ascii87",
                framing: str | Framing = "len2", tpdu: bytes | str | None = None,
                timeout: float = 5.0, tls=None) -> defer.Deferred:
        """Connect; fires with the IsoClient. `tls`: client options (switch.security.tls.client_tls_options)."""
        if isinstance(dialect, str):
            dialect = load_dialect(dialect)
        if isinstance(framing, str):
            framing = Framing(framing, tpdu=tpdu is not None)
        if isinstance(tpdu, str):
            tpdu = bytes.fromhex(tpdu)
        if tls is not None:
            endpoint = SSL4ClientEndpoint(reactor, host, port, tls, timeout=timeout)
        else:
            endpoint = TCP4ClientEndpoint(reactor, host, port, timeout=timeout)
        return connectProtocol(endpoint, cls(dialect, framing, tpdu))

    def send(self, msg: dict[str, str]) -> bytes:
        """Encode and send without waiting for an answer; returns the encoded message."""
        payload = self.dialect.encode(msg)
        self.sendFrame(payload, self.tpdu)
        return payload

    def send_raw(self, payload: bytes) -> None:
        """Send bytes as one frame, whatever they contain (garbled-input tests)."""
        self.sendFrame(payload, self.tpdu)

    def request(self, msg: dict[str, str], timeout: float = 10.0) -> defer.Deferred:
        """Send and fire with the matching answer, or fail with RequestTimeout / ConnectionClosed."""
        from twisted.internet import reactor

        key = match_key(msg)
        if key in self._waiting:
            return defer.fail(ValueError(f"a request with key {key} is already waiting"))
        if not self.connected:
            return defer.fail(ConnectionClosed("not connected"))
        d: defer.Deferred = defer.Deferred()
        self._waiting[key] = d
        try:
            self.send(msg)
        except MessageError:
            del self._waiting[key]
            return defer.fail()
        timer = reactor.callLater(timeout, self._expire, key, timeout)

        def _cancel_timer(result):
            if timer.active():
                timer.cancel()
            return result

        return d.addBoth(_cancel_timer)

    def _expire(self, key, timeout: float) -> None:
        d = self._waiting.pop(key, None)
        if d is not None:
            d.errback(RequestTimeout(f"no answer within {timeout:g}s"))

    def frameReceived(self, tpdu: bytes | None, payload: bytes) -> None:
        self.last_raw_response = payload
        try:
            msg = self.dialect.decode(payload)
        except MessageError as exc:
            log.warning("undecodable answer from %s: %s", self.peer, exc)
            return
        d = self._waiting.pop(match_key(msg), None)
        if d is not None:
            d.callback(msg)
        elif self.on_unmatched is not None:
            self.on_unmatched(msg)
        else:
            log.info("unmatched answer %s from %s", msg.get("t"), self.peer)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = _DONE) -> None:
        super().connectionLost(reason)
        waiting, self._waiting = self._waiting, {}
        for d in waiting.values():
            d.errback(ConnectionClosed(str(reason.value)))
        if not self.closed.called:
            self.closed.callback(None)
