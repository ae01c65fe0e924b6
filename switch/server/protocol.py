"""The switch's per-connection protocol: decode, answer format errors, dispatch, encode the answer."""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass, field

from twisted.internet import protocol

from switch.hostsim import execute as _simulate_action
from switch.server.router import RequestContext, Router, build_response
from switch.wire import Dialect, FrameError, Framing, MessageError, answer_tpdu, dump, masked_hex
from switch.wire.stream import FramedIsoProtocol

log = logging.getLogger("acqsim.switch")
_connection_ids = itertools.count(1)


@dataclass
class ListenerStats:
    """Counters a listener keeps for metrics and tests."""

    open_connections: int = 0
    total_connections: int = 0
    requests: int = 0
    format_errors: int = 0
    unreadable: int = 0
    by_response_code: dict[str, int] = field(default_factory=dict)


class IsoServerProtocol(FramedIsoProtocol):
    factory: IsoServerFactory

    def connectionMade(self) -> None:
        super().connectionMade()
        self.ctx = RequestContext(self.factory.name, self.peer, self.dialect.name, next(_connection_ids))
        stats = self.factory.stats
        stats.open_connections += 1
        stats.total_connections += 1

    def connectionLost(self, reason=protocol.connectionDone) -> None:
        super().connectionLost(reason)
        self.factory.stats.open_connections -= 1

    def frameReceived(self, tpdu: bytes | None, payload: bytes) -> None:
        factory = self.factory
        try:
            request = self.dialect.decode(payload)
        except MessageError as exc:
            self._bad_message(tpdu, payload, exc)
            return
        mti = request["t"]
        if not (len(mti) == 4 and mti.isascii() and mti.isdigit()):  # no answer MTI can be made from it
            self._bad_message(tpdu, payload, MessageError(f"MTI {mti!r} is not 4 digits"))
            return
        factory.stats.requests += 1
        if factory.trace:
            log.debug("%s", dump(request, self.dialect.spec, title=f"in from {self.peer}"))
        if factory.recorder is not None:
            factory.recorder.record("in", request, self.peer)
        received = time.monotonic()
        action = factory.rules.match(request) if factory.rules is not None else None
        if action is not None:
            self._simulate(action, request, received, tpdu)
            return
        d = factory.router.dispatch(request, self._context(received))
        d.addCallback(self._answer, tpdu, received)

    def _context(self, received: float) -> RequestContext:
        """This request's context; the connection's session dict is shared, the rest is copied."""
        base = self.ctx
        return RequestContext(base.listener, self.peer, base.dialect, base.connection_id, received, base.session)

    def _simulate(self, action, request: dict[str, str], received: float, tpdu: bytes | None) -> None:
        """A host simulation rule answers instead of the pipeline (issue 7): it may delay, drop or garble."""
        from twisted.internet import reactor  # not at import time: that would install the default reactor

        reply_tpdu = answer_tpdu(tpdu) if tpdu else None
        # Most rules answer themselves: the context is built only if the pipeline is asked.
        d = _simulate_action(action, request,
                             answer=lambda req: self.factory.router.dispatch(req, self._context(received)),
                             encode=self._encode_recorded,
                             write=lambda data: self._write_if_connected(data, reply_tpdu),
                             close=self.transport.loseConnection, clock=reactor)
        # Usually d has already fired with None (answered and written): adding an errback would only run
        # the callback machinery once more for nothing.
        if not d.called or d.result is not None:
            d.addErrback(lambda f: log.error("host simulation rule failed for %s: %s", self.peer, f.value))

    def _encode_recorded(self, response: dict[str, str]) -> bytes:
        if self.factory.recorder is not None:
            self.factory.recorder.record("out", response, self.peer)
        return self.dialect.encode(response)

    def _write_if_connected(self, payload: bytes, tpdu: bytes | None) -> None:
        if self.connected:
            self.sendFrame(payload, tpdu)

    def _answer(self, response: dict[str, str], tpdu: bytes | None, received: float) -> None:
        if not self.connected:
            return
        factory = self.factory
        payload = self._encode_answer(response)
        if payload is None:
            self.transport.loseConnection()
            return
        if factory.recorder is not None:
            factory.recorder.record("out", response, self.peer)
        code = response.get("39", "")
        factory.stats.by_response_code[code] = factory.stats.by_response_code.get(code, 0) + 1
        if factory.on_answer is not None:
            factory.on_answer(response, time.monotonic() - received)
        try:
            self.sendFrame(payload, answer_tpdu(tpdu) if tpdu else None)
        except FrameError as exc:  # the answer does not fit this framing (ascii2 holds 99 bytes)
            log.error("closing %s: answer %s does not fit the framing: %s", self.peer, response.get("t"), exc)
            self.transport.loseConnection()

    def _encode_answer(self, response: dict[str, str]) -> bytes | None:
        """The answer's bytes; an answer that will not encode shrinks to MTI + 39 (96, or 30 as it was)."""
        try:
            return self.dialect.encode(response)
        except MessageError as exc:
            log.error("cannot encode answer %s to %s: %s", response.get("t"), self.peer, exc)
        code = response.get("39") if response.get("39") == "30" else "96"
        try:
            return self.dialect.encode({"t": response["t"], "39": code})
        except MessageError:
            return None

    def _bad_message(self, tpdu: bytes | None, payload: bytes, exc: MessageError) -> None:
        """Readable MTI: answer its response MTI with 39=30. Otherwise log a masked dump and hang up."""
        stats = self.factory.stats
        if exc.mti and exc.mti[2] in "024" and exc.mti[1] in "1245689":
            stats.format_errors += 1
            log.warning("format error from %s in %s field %s: %s", self.peer, exc.mti, exc.field, exc)
            # Echo only what decoded whole, so terminals can match the answer; the rest may be garbage.
            sizes = {"7": 10, "11": 6, "41": 8}
            request = {"t": exc.mti, **{k: v for k, v in exc.partial.items()
                                         if k in sizes and len(v) == sizes[k] and v.isprintable()}}
            self._answer(build_response(request, {"39": "30"}), tpdu, time.monotonic())
            return
        stats.unreadable += 1
        log.warning("closing %s: unreadable message (%s): %s", self.peer, exc, masked_hex(payload))
        self.transport.loseConnection()


class IsoServerFactory(protocol.Factory):
    """One listener: its dialect, framing, timeouts and router."""

    protocol = IsoServerProtocol

    def __init__(self, name: str, dialect: Dialect, framing: Framing, router: Router,
                 idle_timeout: float | None = 300.0, frame_timeout: float | None = 10.0, trace: bool = False):
        self.name = name
        self.dialect = dialect
        self.framing = framing
        self.router = router
        self.idle_timeout = idle_timeout
        self.frame_timeout = frame_timeout
        self.trace = trace
        self.stats = ListenerStats()
        self.on_answer = None  # callable(response, seconds) for metrics
        self.rules = None  # switch.hostsim.RuleSet: host simulation rules run before the router
        self.recorder = None  # terminal_agent.scenario.record.Recorder: masked traffic recording

    def buildProtocol(self, addr) -> IsoServerProtocol:
        proto = IsoServerProtocol(self.dialect, self.framing, self.idle_timeout, self.frame_timeout)
        proto.factory = self
        return proto
