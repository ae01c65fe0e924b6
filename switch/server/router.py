"""Routes each request to a handler by MTI and processing code, and shapes the answer.

A handler is `handler(request, ctx) -> dict | Deferred[dict]` returning the answer's own fields (39 at least);
`build_response` adds the response MTI and the fields a host echoes.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer
from twisted.python import failure

log = logging.getLogger("acqsim.router")

ECHOED_FIELDS = ("2", "3", "4", "7", "11", "12", "13", "22", "32", "37", "41", "42", "49", "70", "90")
REQUEST_MTIS = ("0100", "0120", "0200", "0220", "0400", "0420", "0500", "0800")
# Fixed-length numeric fields (ISO 8583:1987 type n) that text dialects cannot check by themselves.
NUMERIC_FIELDS = {"3": 6, "4": 12, "7": 10, "11": 6, "12": 6, "13": 4, "14": 4, "18": 4, "22": 3, "25": 2,
                  "49": 3, "70": 3}


def format_problem(request: dict[str, str]) -> str | None:
    """Why a decoded request is malformed (answered 30), or None."""
    for key, size in NUMERIC_FIELDS.items():
        value = request.get(key)
        if value is not None and (len(value) != size or not value.isdigit()):
            return f"field {key} must be {size} digits"
    return None


@dataclass
class RequestContext:
    """What a handler may know about where a request came from."""

    listener: str
    peer: str
    dialect: str
    connection_id: int
    received_at: float = field(default_factory=time.monotonic)
    session: dict[str, Any] = field(default_factory=dict)  # per-connection state (sign-on, keys)


Handler = Callable[[dict, RequestContext], "dict | defer.Deferred"]


def response_mti(mti: str) -> str:
    """0200 -> 0210, 0420 -> 0430; repeats (0201, 0421) answer as the original (0210, 0430)."""
    function = int(mti[2])
    return f"{mti[:2]}{function + 1 if function % 2 == 0 else function}{'0'}"


def build_response(request: dict[str, str], answer: dict[str, str]) -> dict[str, str]:
    response = {"t": response_mti(request["t"])}
    for key in ECHOED_FIELDS:
        if key in request:
            response[key] = request[key]
    response.pop("2", None)  # hosts echo the PAN only when the handler decides to
    response.update(answer)
    return response


class Router:
    """Handler table keyed by MTI, then by the longest matching processing-code prefix."""

    def __init__(self, default: Handler | None = None, max_inflight: int = 2000):
        self._routes: dict[str, list[tuple[str, Handler]]] = {}
        self.default = default or approve_all
        # Load shedding: beyond this many requests waiting for their handler, new authorisations are
        # answered 91 at once instead of queueing past the terminals' timeout (issue 10). Reversals and
        # network management always go through: they release money or keep the line up.
        self.max_inflight = max_inflight
        self.inflight = 0
        self.shed = 0

    def register(self, mti: str, processing_prefix: str | None, handler: Handler) -> None:
        routes = self._routes.setdefault(mti, [])
        routes.append((processing_prefix or "", handler))
        routes.sort(key=lambda route: -len(route[0]))

    def handler_for(self, request: dict[str, str]) -> Handler:
        routes = self._routes.get(request.get("t", ""))
        if routes:
            code = request.get("3", "")
            for prefix, handler in routes:
                if code.startswith(prefix):
                    return handler
        return self.default

    def dispatch(self, request: dict[str, str], ctx: RequestContext) -> defer.Deferred:
        """Always fires with a full response dict; a failing handler answers 96 (system error)."""
        problem = format_problem(request)
        if problem:
            log.warning("format error from %s in %s: %s", ctx.peer, request.get("t"), problem)
            return defer.succeed(build_response(request, {"39": "30"}))
        mti = request["t"]
        if self.inflight >= self.max_inflight and mti[1] not in "48":
            self.shed += 1
            if self.shed % 1000 == 1:
                log.warning("overloaded: %d requests in flight, answering 91 (%d shed so far)", self.inflight, self.shed)
            return defer.succeed(build_response(request, {"39": "91"}))
        handler = self.handler_for(request)
        self.inflight += 1
        try:
            answer = handler(request, ctx)
        except Exception:
            return defer.succeed(self._failed(failure.Failure(), request, ctx))
        if not isinstance(answer, defer.Deferred):
            self.inflight -= 1
            return defer.succeed(build_response(request, answer))
        # One callback pair per request (not maybeDeferred and a chain of four): this runs for every answer.
        return answer.addCallbacks(self._answered, self._failed, callbackArgs=(request,),
                                   errbackArgs=(request, ctx))

    def _answered(self, answer: dict[str, str], request: dict[str, str]) -> dict[str, str]:
        self.inflight -= 1
        return build_response(request, answer)

    def _failed(self, reason: failure.Failure, request: dict[str, str], ctx: RequestContext) -> dict[str, str]:
        self.inflight -= 1
        log.error("handler failed for %s from %s: %s", request.get("t"), ctx.peer, reason.getTraceback())
        return build_response(request, {"39": "96"})


_approval_counter = itertools.count(1)


def new_rrn(now: float | None = None) -> str:
    """Retrieval reference number: YDDD + hour + 6-digit sequence (12 characters)."""
    t = time.gmtime(now)
    return f"{t.tm_year % 10}{t.tm_yday:03d}{t.tm_hour:02d}{next(_approval_counter) % 1_000_000:06d}"


def approve_all(request: dict[str, str], ctx: RequestContext) -> dict[str, str]:
    """Default handler until an authoriser is plugged in: approve with an RRN and approval code."""
    rrn = new_rrn()
    return {"39": "00", "37": request.get("37") or rrn, "38": rrn[-6:]}
