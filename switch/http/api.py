"""The JSON API: a route table, bearer-token authentication and per-route access rules.

Access is decided in two places only, so no route can forget it:
- `Route.access`: "public" (health, readiness), "operator" (cards, metrics, monitor), or "scoped"
  (everything else: operator sees all, a merchant only its own MID);
- `Call.own(mid)` / `Call.scope_mid()`, which every scoped handler calls with the MID the data belongs
  to before it reads that data; a merchant asking for someone else's data gets 403, also when the object
  does not exist (so a 403/404 difference reveals nothing about other merchants).
Authentication: `Authorization: Bearer <token>`; a missing, unknown or expired token gets 401 on every
route but "public" ones. Tokens are never read from the query string (it ends up in logs and history).

Handlers run in a worker thread (deferToThread): they may block on the database.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from twisted.internet.threads import deferToThread
from twisted.web import resource, server

from switch.http import queries as q
from switch.http.metrics import MetricsRegistry
from switch.http.tokens import Principal, TokenStore

log = logging.getLogger("acqsim.http")


class HttpError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


def forbidden(what: str = "this data belongs to another merchant") -> HttpError:
    return HttpError(403, "forbidden", what)


def not_found(what: str) -> HttpError:
    return HttpError(404, "not_found", f"{what} not found")


@dataclass
class Download:
    """A file answer (statements): body bytes, content type and a download file name."""

    body: bytes
    content_type: str
    filename: str


@dataclass
class Call:
    principal: Principal
    params: dict[str, str]
    query: dict[str, str]
    engine: Engine
    metrics: MetricsRegistry

    def own(self, mid: str | None, *, exists: bool = True, what: str = "object") -> None:
        """Check the principal may see data of `mid` (403), then that it exists (404, operators only)."""
        if not self.principal.may_see(mid):
            raise forbidden()
        if not exists:
            raise not_found(what)

    def scope_mid(self) -> str | None:
        """The MID a list is limited to: ?mid= if given (checked), a merchant's own MID, or None (all)."""
        mid = self.query.get("mid") or None
        if mid is not None:
            self.own(mid)
            return mid
        return None if self.principal.is_operator else self.principal.mid


@dataclass(frozen=True)
class Route:
    pattern: str
    handler: Callable[[Call], Any]
    access: str = "scoped"  # public | operator | scoped
    doc: str = ""
    regex: re.Pattern = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        rx = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.pattern)
        object.__setattr__(self, "regex", re.compile(f"^{rx}/?$"))


def _items(rows: list[dict]) -> dict:
    return {"items": rows, "count": len(rows)}


# -- handlers (worker thread) -----------------------------------------------------------------------------
def h_health(c: Call) -> dict:
    return {"status": "ok"}


def h_ready(c: Call) -> dict:
    try:
        q.ping(c.engine)
    except Exception as exc:  # the database is the one thing the switch cannot run without
        raise HttpError(503, "not_ready", f"database unavailable: {type(exc).__name__}") from None
    return {"status": "ready"}


def h_whoami(c: Call) -> dict:
    return c.principal.as_json()


def h_metrics(c: Call) -> Download:
    return Download(c.metrics.render().encode(), "text/plain; version=0.0.4; charset=utf-8", "")


def h_monitor(c: Call) -> dict:
    return c.metrics.snapshot()


def h_merchants(c: Call) -> dict:
    return _items(q.merchants(c.engine, c.scope_mid()))


def h_merchant(c: Call) -> dict:
    mid = c.params["mid"]
    c.own(mid)
    row = q.merchant(c.engine, mid)
    c.own(mid, exists=row is not None, what="merchant")
    return row


def _merchant_scoped(fn: Callable[[Call, str], Any]) -> Callable[[Call], Any]:
    def handler(c: Call) -> Any:
        mid = c.params["mid"]
        c.own(mid)
        return fn(c, mid)

    handler.__name__ = fn.__name__
    return handler


def h_terminals(c: Call) -> dict:
    return _items(q.terminals(c.engine, c.scope_mid()))


def h_terminal(c: Call) -> dict:
    row = q.terminal(c.engine, c.params["tid"])
    c.own(row["mid"] if row else None, exists=row is not None, what="terminal")
    return row


def h_terminal_transactions(c: Call) -> dict:
    tid = c.params["tid"]
    mid = q.terminal_mid(c.engine, tid)
    c.own(mid, exists=mid is not None, what="terminal")
    return _items(_transactions(c, mid=mid, tid=tid))


def h_cards(c: Call) -> dict:
    return _items(q.cards(c.engine, q.parse_limit(c.query.get("limit")), c.query.get("status")))


def h_card(c: Call) -> dict:
    card_id = c.params["card_id"]
    row = q.card(c.engine, int(card_id)) if card_id.isdigit() else None
    if row is None:
        raise not_found("card")
    return row


def h_wallets(c: Call) -> dict:
    return _items(q.wallets(c.engine, c.scope_mid()))


def _transactions(c: Call, *, mid: str | None, tid: str | None = None) -> list[dict]:
    tid = tid or c.query.get("tid") or None
    if tid and mid is not None and c.query.get("tid"):
        tmid = q.terminal_mid(c.engine, tid)
        if tmid is not None and not c.principal.may_see(tmid):
            raise forbidden()
    before = c.query.get("before_id")
    return q.transactions(
        c.engine, mid=mid, tid=tid, rc=c.query.get("rc") or c.query.get("response_code") or None,
        date_from=q.parse_time(c.query.get("from")), date_to=q.parse_time(c.query.get("to"), end=True),
        limit=q.parse_limit(c.query.get("limit")), before_id=int(before) if before and before.isdigit() else None)


def h_transactions(c: Call) -> dict:
    mid = c.scope_mid()
    tid = c.query.get("tid")
    if tid and not c.principal.is_operator:
        tmid = q.terminal_mid(c.engine, tid)
        if tmid is None or not c.principal.may_see(tmid):
            raise forbidden()
    return _items(_transactions(c, mid=mid))


def h_transaction(c: Call) -> dict:
    txn_id = c.params["txn_id"]
    exists, mid = q.transaction_mid(c.engine, int(txn_id)) if txn_id.isdigit() else (False, None)
    c.own(mid, exists=exists, what="transaction")
    return q.transaction(c.engine, int(txn_id))


def h_batches(c: Call) -> dict:
    return _items(q.batches(c.engine, c.scope_mid()))


def h_settlements(c: Call) -> dict:
    return _items(q.settlements(c.engine, c.scope_mid()))


def h_payouts(c: Call) -> dict:
    return _items(q.payouts(c.engine, c.scope_mid(), q.parse_limit(c.query.get("limit"))))


def _statement(c: Call, mid: str) -> Any:
    fmt = (c.query.get("format") or "json").lower()
    if fmt not in ("json", "csv"):
        raise HttpError(400, "bad_request", "format must be json or csv")
    date_from, date_to = q.parse_time(c.query.get("from")), q.parse_time(c.query.get("to"), end=True)
    lines = q.statement(c.engine, mid, date_from, date_to)
    stamp = f"{c.query.get('from') or 'start'}_{c.query.get('to') or 'now'}".replace(":", "")
    name = f"statement_{mid}_{stamp}"
    if fmt == "json":
        body = json.dumps({"mid": mid, "from": c.query.get("from"), "to": c.query.get("to"), "lines": lines},
                          indent=1).encode()
        return Download(body, "application/json", name + ".json")
    columns: list[str] = []
    for line in lines:  # the columns the statement lines have, in their order
        columns += [k for k in line if k not in columns]
    columns = columns or list(q.STATEMENT_COLUMNS)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(lines)
    return Download(out.getvalue().encode(), "text/csv; charset=utf-8", name + ".csv")


def h_statements(c: Call) -> Any:
    mid = c.scope_mid()
    if mid is None:
        raise HttpError(400, "bad_request", "mid is required for an operator")
    return _statement(c, mid)


ROUTES: tuple[Route, ...] = (
    Route("/health", h_health, "public", "liveness: the process answers"),
    Route("/ready", h_ready, "public", "readiness: the database answers"),
    Route("/metrics", h_metrics, "operator", "Prometheus text format"),
    Route("/api/whoami", h_whoami, "scoped", "the token's role and MID"),
    Route("/api/monitor", h_monitor, "operator", "live TPS, response code mix, latency, connections"),
    Route("/api/merchants", h_merchants, doc="merchants (a merchant: itself)"),
    Route("/api/merchants/{mid}", h_merchant, doc="one merchant"),
    Route("/api/merchants/{mid}/terminals",
          _merchant_scoped(lambda c, mid: _items(q.terminals(c.engine, mid))), doc="its terminals"),
    Route("/api/merchants/{mid}/wallets",
          _merchant_scoped(lambda c, mid: _items(q.wallets(c.engine, mid))), doc="its wallet balances"),
    Route("/api/merchants/{mid}/transactions",
          _merchant_scoped(lambda c, mid: _items(_transactions(c, mid=mid))), doc="its transactions"),
    Route("/api/merchants/{mid}/batches",
          _merchant_scoped(lambda c, mid: _items(q.batches(c.engine, mid))), doc="its batches"),
    Route("/api/merchants/{mid}/settlements",
          _merchant_scoped(lambda c, mid: _items(q.settlements(c.engine, mid))), doc="its settlements"),
    Route("/api/merchants/{mid}/payouts",
          _merchant_scoped(lambda c, mid: _items(q.payouts(c.engine, mid))), doc="its payouts"),
    Route("/api/merchants/{mid}/statement", _merchant_scoped(_statement), doc="statement (format=csv|json)"),
    Route("/api/terminals", h_terminals, doc="terminals"),
    Route("/api/terminals/{tid}", h_terminal, doc="one terminal"),
    Route("/api/terminals/{tid}/transactions", h_terminal_transactions, doc="a terminal's transactions"),
    Route("/api/cards", h_cards, "operator", "cards, PAN masked 6+4"),
    Route("/api/cards/{card_id}", h_card, "operator", "one card, PAN masked 6+4"),
    Route("/api/wallets", h_wallets, doc="wallet balances"),
    Route("/api/transactions", h_transactions, doc="transactions (mid, tid, rc, from, to, limit, before_id)"),
    Route("/api/transactions/{txn_id}", h_transaction, doc="one transaction with a masked field dump"),
    Route("/api/batches", h_batches, doc="batches"),
    Route("/api/settlements", h_settlements, doc="settlements"),
    Route("/api/payouts", h_payouts, doc="payouts"),
    Route("/api/statements", h_statements, doc="statement of ?mid= (format=csv|json)"),
)


def match(path: str) -> tuple[Route, dict[str, str]] | None:
    for route in ROUTES:
        m = route.regex.match(path)
        if m:
            return route, m.groupdict()
    return None


def bearer_token(request: server.Request) -> str | None:
    raw = request.getHeader(b"authorization") or b""
    value = (raw.decode("latin-1") if isinstance(raw, bytes) else raw).strip()
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


class ApiResource(resource.Resource):
    """Leaf resource mounted at /api, /health, /ready and /metrics; routes by the full request path."""

    isLeaf = True

    def __init__(self, engine: Engine, tokens: TokenStore, metrics: MetricsRegistry) -> None:
        super().__init__()
        self.engine, self.tokens, self.metrics = engine, tokens, metrics

    def render(self, request: server.Request):
        request.setHeader(b"cache-control", b"no-store")
        if request.method not in (b"GET", b"HEAD"):
            request.setHeader(b"allow", b"GET, HEAD")
            return self._error(request, HttpError(405, "method_not_allowed", "only GET and HEAD"))
        path = request.path.decode("utf-8", "replace")
        found = match(path)
        if found is None:
            return self._error(request, not_found("route"))
        route, params = found
        principal = None
        if route.access != "public":
            principal = self.tokens.authenticate(bearer_token(request))
            if principal is None:
                request.setHeader(b"www-authenticate", b'Bearer realm="acqsim"')
                return self._error(request, HttpError(401, "unauthorized", "a valid bearer token is required"))
            if route.access == "operator" and not principal.is_operator:
                return self._error(request, forbidden("operators only"))
        query = {k.decode("utf-8", "replace"): v[0].decode("utf-8", "replace")
                 for k, v in (request.args or {}).items() if v}
        call = Call(principal or Principal("anonymous", "public"), params, query, self.engine, self.metrics)
        d = deferToThread(route.handler, call)
        d.addCallbacks(lambda result: self._ok(request, result), lambda f: self._failed(request, f))
        return server.NOT_DONE_YET

    def _ok(self, request: server.Request, result: Any) -> None:
        if isinstance(result, Download):
            body = result.body
            request.setHeader(b"content-type", result.content_type.encode())
            if result.filename:
                request.setHeader(b"content-disposition", f'attachment; filename="{result.filename}"'.encode())
        else:
            body = json.dumps(result, separators=(",", ":")).encode()
            request.setHeader(b"content-type", b"application/json")
        self._finish(request, 200, body)

    def _failed(self, request: server.Request, failure) -> None:
        exc = failure.value
        if isinstance(exc, q.BadRequest):
            exc = HttpError(400, "bad_request", str(exc))
        if not isinstance(exc, HttpError):
            log.error("HTTP %s failed: %s", request.path.decode("utf-8", "replace"), failure.getTraceback())
            exc = HttpError(500, "internal_error", "internal error (see the switch's log)")
        self._finish(request, exc.status, self._error_body(request, exc))

    def _error_body(self, request: server.Request, exc: HttpError) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({"error": exc.error, "message": exc.message}).encode()

    def _error(self, request: server.Request, exc: HttpError) -> bytes:
        request.setResponseCode(exc.status)
        self.metrics.count_http(exc.status)
        return self._error_body(request, exc)

    def _finish(self, request: server.Request, status: int, body: bytes) -> None:
        if request._disconnected or request.finished:  # the client went away while we read the database
            return
        request.setResponseCode(status)
        self.metrics.count_http(status)
        request.setHeader(b"content-length", str(len(body)).encode())
        if request.method != b"HEAD":
            request.write(body)
        request.finish()
