"""Wiring: `build_authorizer(engine, hsm, config)` returns the Router handler for 0100/0200/0220/0400/0420
(and 0500 batch close); `register_authorizer(router, ...)` registers it for every MTI it serves.

The pipeline does blocking DB and HSM work, so it never runs on the reactor thread. A request's checks
(terminal, card, HSM) run on one of N single-thread lanes chosen by the card (PAN from field 2 or track 2,
else the terminal); its writes (limits, booking, journal) then run as one job on the committer
(switch.ledger.unit), which on SQLite commits many requests with one fsync. Requests for one card run one
after another - the next starts when the previous one is answered - different cards in parallel.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import queue
import threading
from typing import Any

from sqlalchemy import Engine
from twisted.internet import defer
from twisted.python import failure

from switch.auth.context import AuthContext, Services
from switch.auth.journal import Journal
from switch.auth.policy import Policy
from switch.auth.remote import RemoteIssuers
from switch.auth.runner import Runner
from switch.issuer.fixtures import load_fixtures
from switch.issuer.pan import PanVault
from switch.issuer.store import IssuerStore
from switch.ledger.committer import Committer
from switch.osthread import name_this_thread

log = logging.getLogger("acqsim.auth")

AUTH_MTIS = ("0100", "0101", "0200", "0201", "0220", "0221", "0400", "0401", "0420", "0421")


class Lane:
    """One worker thread fed through a SimpleQueue (a C queue: far cheaper per hand-off than Twisted's
    ThreadPool with its context tracking and Python condition variables)."""

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self.thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self.thread.start()

    def call(self, fn, *args) -> None:
        self._queue.put((fn, args))

    def stop(self) -> None:
        self._queue.put(None)

    def _loop(self) -> None:
        name_this_thread(self.thread.name)
        while True:
            item = self._queue.get()
            if item is None:
                return
            fn, args = item
            try:
                fn(*args)
            except Exception:  # the callables answer their own errors; this is a last resort
                log.exception("lane task failed")


class Lanes:
    """N worker threads; a request goes to the lane of its card (PAN from field 2 or track 2, else the
    terminal). One card's requests are also kept in order by CardOrder."""

    def __init__(self, reactor: Any, count: int = 2) -> None:
        self.reactor = reactor
        self.pools = [Lane(f"auth-lane-{i}") for i in range(count)]
        reactor.addSystemEventTrigger("during", "shutdown", self.stop)

    def stop(self) -> None:
        for lane in self.pools:
            lane.stop()

    def lane_for(self, request: dict[str, str]) -> Lane:
        h = int.from_bytes(hashlib.blake2b(card_key(request).encode(), digest_size=4).digest(), "big")
        return self.pools[h % len(self.pools)]

    def run(self, request: dict[str, str], fn, *args) -> defer.Deferred:
        """fn(*args) on the request's lane; a Deferred (reactor thread) with its result."""
        d = defer.Deferred()
        reactor = self.reactor

        def call() -> None:
            try:
                result = fn(*args)
            except BaseException:  # noqa: B036 - handed to the Deferred
                reactor.callFromThread(d.errback, failure.Failure())
                return
            reactor.callFromThread(d.callback, result)

        self.lane_for(request).call(call)
        return d


def card_key(request: dict[str, str]) -> str:
    return request.get("2") or request.get("35", "").replace("D", "=").split("=")[0] or request.get("41", "")


class CardOrder:
    """One card's requests one after another: the next starts when the previous one is answered (so it
    sees that one's booking, PIN tries, journal row), while different cards run in parallel. Reactor
    thread only."""

    def __init__(self) -> None:
        self._waiting: dict[str, collections.deque] = {}

    def run(self, key: str, start) -> None:
        waiting = self._waiting.get(key)
        if waiting is None:
            self._waiting[key] = collections.deque()
            start()
        else:
            waiting.append(start)

    def done(self, key: str) -> None:
        waiting = self._waiting.get(key)
        if waiting:
            waiting.popleft()()
        else:
            self._waiting.pop(key, None)


class ToReactor:
    """Answers from worker threads to the reactor, many per wake-up: the committer hands over all the
    answers of a group commit and wakes the reactor once (`wake`), not once per request."""

    def __init__(self, reactor: Any, order: CardOrder) -> None:
        self.reactor = reactor
        self.order = order
        self._items: list = []
        self._scheduled = False
        self._lock = threading.Lock()

    def put(self, d: defer.Deferred, key: str, result: dict[str, str], wake: bool = True) -> None:
        with self._lock:
            self._items.append((d, key, result))
            call = wake and not self._scheduled
            if call:
                self._scheduled = True
        if call:
            self.reactor.callFromThread(self._flush)

    def wake(self) -> None:
        with self._lock:
            call = bool(self._items) and not self._scheduled
            if call:
                self._scheduled = True
        if call:
            self.reactor.callFromThread(self._flush)

    def _flush(self) -> None:
        with self._lock:
            items, self._items = self._items, []
            self._scheduled = False
        for d, key, result in items:
            d.callback(result)
            self.order.done(key)


def build_services(engine: Engine, hsm: Any, config: dict | None = None, *, funds: Any = None,
                   reactor: Any = None) -> Services:
    """Everything the steps need, from the database, the HSM and the (fixtures + config) policy."""
    config = config or {}
    fx = load_fixtures(config.get("fixtures_dir"))
    vault = PanVault.from_hex(fx.card_data_key(config))
    if funds is None:
        from switch.auth.wallets_funds import WalletsFunds

        funds = WalletsFunds(engine, config)
    remote = RemoteIssuers(reactor, engine, vault, hsm=hsm) if reactor is not None else None
    store = IssuerStore(engine, vault)
    wallets = getattr(funds, "w", None)
    if hasattr(wallets, "generation"):
        # Every request reads the reference-data generation in its checks: the booking's merchant reads
        # (status N8, contract for the fee) are cached on it instead of read again per request.
        wallets.generation = store.generation
    return Services(store=store, hsm=hsm, funds=funds, journal=Journal(engine, vault),
                    policy=Policy.from_fixtures(fx, config), remote=remote)


def build_authorizer(engine: Engine, hsm: Any, config: dict | None = None, *, reactor: Any = None,
                     funds: Any = None, lanes: int | None = None):
    """The Router handler: `handler(request, ctx) -> Deferred[dict]` with the answer fields (39, 37, 38 ...)."""
    if reactor is None:
        from twisted.internet import reactor as default_reactor

        reactor = default_reactor
    services = build_services(engine, hsm, config, funds=funds, reactor=reactor)
    runner = Runner(services)
    if lanes is None:
        # SQLite: the lanes only check (HSM, cached data) and the committer books; more threads would just
        # fight over the GIL. PostgreSQL: each lane also runs its requests' transactions, so more of them
        # keep more commits in flight - each lane keeps two pooled connections (reads, its transactions):
        # four lanes leave the pool's overflow to everything else.
        lanes = 2 if engine.dialect.name == "sqlite" else 4
    pool = Lanes(reactor, lanes)
    order = CardOrder()
    deliver = ToReactor(reactor, order)
    committer = Committer(engine, on_group_end=deliver.wake)
    reactor.addSystemEventTrigger("after", "shutdown", committer.stop)
    if services.remote is not None:
        reactor.callWhenRunning(services.remote.start)
        reactor.addSystemEventTrigger("before", "shutdown", services.remote.stop)

    # SQLite with the in-process HSM: the committer thread checks each request (while the previous
    # group's COMMIT is being fsynced) and then books it in the next group (one hand-off fewer, and no
    # lane threads fighting it for the GIL). Cards of a remote issuer (a blocking forward) and a network
    # HSM keep the lanes, so they never stall it.
    inline = committer.group and _in_process(hsm)
    if inline:
        services.store.refresh()  # BIN table in memory before the reactor thread routes with it

    budget = float((config or {}).get("auth", {}).get("answer_budget_ms", 5000)) / 1000.0

    def context(request: dict[str, str], ctx: Any) -> AuthContext:
        """Built on the worker thread: the reactor thread only routes."""
        received = getattr(ctx, "received_at", None)
        return AuthContext(request=dict(request), listener_dialect=getattr(ctx, "dialect", None) or "ascii87",
                           deadline=received + budget if received is not None and budget > 0 else None)

    def handler(request: dict[str, str], ctx: Any = None) -> defer.Deferred:
        d = defer.Deferred()
        key = card_key(request)
        if inline and not _remote(services.store, key):
            item = Inline(runner, request, ctx, context, deliver, d, key)
            order.run(key, lambda: committer.submit(None, item.done, prepare=item))
            return d
        lane = pool.lane_for(request)
        order.run(key, lambda: lane.call(lambda: _prepare(context(request, ctx), d, key)))
        return d

    def _prepare(actx: AuthContext, d: defer.Deferred, key: str) -> None:
        """On a lane: the read-only checks, then the writes as one job (answered after their commit)."""
        def answer(result, error=None) -> None:
            deliver.put(d, key, runner.failed(actx, error) if error is not None else result)

        try:
            answered, job = runner.prepare(actx)
        except BaseException as exc:  # noqa: B036 - the terminal gets 96, never silence
            answer(None, exc)
            return
        if job is None:
            answer(answered)
        else:
            committer.submit(job, lambda result, error=None: deliver.put(
                d, key, runner.failed(actx, error) if error is not None else result, wake=not committer.group))

    def batch_handler(request: dict[str, str], ctx: Any = None) -> defer.Deferred:
        from switch.auth.batch import batch_close

        wallets = getattr(services.funds, "w", None)
        if wallets is None or not hasattr(wallets, "close_batch"):
            return defer.succeed({"39": "96"})
        return pool.run(request, batch_close, wallets, dict(request))

    handler.services = services  # type: ignore[attr-defined]  (tests and the admin API look inside)
    handler.lanes = pool  # type: ignore[attr-defined]
    handler.committer = committer  # type: ignore[attr-defined]
    handler.batch_close = batch_handler  # type: ignore[attr-defined]
    return handler


class Inline:
    """One request checked and booked on the committer thread (SQLite, in-process HSM): `prepare()` there,
    then its answer (`done`, after the group's commit) is queued for the reactor, which is woken once per
    group. A class rather than closures: one object per request on the hot path."""

    __slots__ = ("runner", "request", "ctx", "context", "actx", "deliver", "d", "key")

    def __init__(self, runner: Runner, request: dict[str, str], ctx: Any, context: Any, deliver: ToReactor,
                 d: defer.Deferred, key: str) -> None:
        self.runner, self.request, self.ctx, self.context = runner, request, ctx, context
        self.deliver, self.d, self.key = deliver, d, key
        self.actx: AuthContext | None = None

    def __call__(self) -> tuple[dict[str, str] | None, Any]:
        self.actx = self.context(self.request, self.ctx)
        return self.runner.prepare(self.actx)

    def done(self, result: dict[str, str] | None, error: BaseException | None = None) -> None:
        if error is not None:
            result = self.runner.failed(self.actx or AuthContext(request=dict(self.request)), error)
        self.deliver.put(self.d, self.key, result, wake=False)


def _in_process(hsm: Any) -> bool:
    """The in-process HSM (no network wait per command), also behind a proxy such as the metrics timer."""
    from hsm_emulator import Hsm

    for _ in range(4):
        if isinstance(hsm, Hsm):
            return True
        hsm = getattr(hsm, "_hsm", None)  # switch.http.metrics timed_hsm keeps the wrapped HSM there
    return False


def _remote(store: Any, pan: str) -> bool:
    routed = store.route_bin(pan) if pan.isdigit() else None
    return routed is not None and routed[0].kind == "remote"


def register_authorizer(router: Any, engine: Engine, hsm: Any, config: dict | None = None, **kw: Any):
    """Register the authoriser on a switch.server Router for every MTI it serves (repeats included)."""
    handler = build_authorizer(engine, hsm, config, **kw)
    for mti in AUTH_MTIS:
        router.register(mti, None, handler)
    for mti in ("0500", "0501"):
        router.register(mti, None, handler.batch_close)
    return handler
