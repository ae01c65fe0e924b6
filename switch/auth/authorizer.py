"""Wiring: `build_authorizer(engine, hsm, config)` returns the Router handler for 0100/0200/0220/0400/0420
(and 0500 batch close); `register_authorizer(router, ...)` registers it for every MTI it serves.

The pipeline does blocking DB and HSM work, so it never runs on the reactor thread. A request's checks
(terminal, card, HSM) run on one of N single-thread lanes chosen by the card (PAN from field 2 or track 2,
else the terminal); its writes (limits, booking, journal) then run as one job on the committer
(switch.ledger.unit), which on SQLite commits many requests with one fsync. Requests for one card run one
after another - the next starts when the previous one is answered - different cards in parallel.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from sqlalchemy import Engine
from twisted.internet import defer, threads
from twisted.python.threadpool import ThreadPool

from switch.auth.context import AuthContext, Services
from switch.auth.journal import Journal
from switch.auth.policy import Policy
from switch.auth.remote import RemoteIssuers
from switch.auth.runner import Runner
from switch.issuer.fixtures import load_fixtures
from switch.issuer.pan import PanVault
from switch.issuer.store import IssuerStore
from switch.ledger.unit import Committer

log = logging.getLogger("acqsim.auth")

AUTH_MTIS = ("0100", "0101", "0200", "0201", "0220", "0221", "0400", "0401", "0420", "0421")


class Lanes:
    """N single-thread pools: FIFO per lane, so one card's requests never overtake each other."""

    def __init__(self, reactor: Any, count: int = 4) -> None:
        self.reactor = reactor
        self.pools = [ThreadPool(minthreads=1, maxthreads=1, name=f"auth-lane-{i}") for i in range(count)]
        for pool in self.pools:
            pool.start()
        reactor.addSystemEventTrigger("during", "shutdown", self.stop)

    def stop(self) -> None:
        for pool in self.pools:
            if pool.started:
                pool.stop()

    def lane_for(self, request: dict[str, str]) -> ThreadPool:
        pan = request.get("2") or request.get("35", "").replace("D", "=").split("=")[0] or request.get("41", "")
        h = int.from_bytes(hashlib.blake2b(pan.encode(), digest_size=4).digest(), "big")
        return self.pools[h % len(self.pools)]

    def run(self, request: dict[str, str], fn, *args) -> defer.Deferred:
        return threads.deferToThreadPool(self.reactor, self.lane_for(request), fn, *args)


def card_key(request: dict[str, str]) -> str:
    return request.get("2") or request.get("35", "").replace("D", "=").split("=")[0] or request.get("41", "")


class CardOrder:
    """One card's requests one after another: the next starts when the previous one is answered (so it
    sees that one's booking, PIN tries, journal row), while different cards run in parallel."""

    def __init__(self) -> None:
        self._tails: dict[str, defer.Deferred] = {}

    def run(self, key: str, start) -> defer.Deferred:
        previous = self._tails.get(key)
        result = defer.Deferred()
        gate = defer.Deferred()
        self._tails[key] = gate

        def release(outcome):
            if self._tails.get(key) is gate:
                del self._tails[key]
            gate.callback(None)
            return outcome

        def go(_ignored=None):
            defer.maybeDeferred(start).chainDeferred(result)

        result.addBoth(release)
        if previous is None:
            go()
        else:
            previous.addCallback(go)
        return result


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
    return Services(store=IssuerStore(engine, vault), hsm=hsm, funds=funds, journal=Journal(engine, vault),
                    policy=Policy.from_fixtures(fx, config), remote=remote)


def build_authorizer(engine: Engine, hsm: Any, config: dict | None = None, *, reactor: Any = None,
                     funds: Any = None, lanes: int = 2):
    """The Router handler: `handler(request, ctx) -> Deferred[dict]` with the answer fields (39, 37, 38 ...)."""
    if reactor is None:
        from twisted.internet import reactor as default_reactor

        reactor = default_reactor
    services = build_services(engine, hsm, config, funds=funds, reactor=reactor)
    runner = Runner(services)
    pool = Lanes(reactor, lanes)
    committer = Committer(engine)
    order = CardOrder()
    reactor.addSystemEventTrigger("after", "shutdown", committer.stop)
    if services.remote is not None:
        reactor.callWhenRunning(services.remote.start)
        reactor.addSystemEventTrigger("before", "shutdown", services.remote.stop)

    def handler(request: dict[str, str], ctx: Any = None) -> defer.Deferred:
        dialect = getattr(ctx, "dialect", None) or "ascii87"
        actx = AuthContext(request=dict(request), listener_dialect=dialect)

        def start() -> defer.Deferred:
            d = defer.Deferred()
            pool.lane_for(request).callInThread(_prepare, actx, d)
            return d

        return order.run(card_key(request), start)

    def _prepare(actx: AuthContext, d: defer.Deferred) -> None:
        """On a lane: the read-only checks, then the writes as one job (answered after their commit)."""
        def answer(result, error=None) -> None:
            reactor.callFromThread(d.callback, runner.failed(actx, error) if error is not None else result)

        try:
            answered, job = runner.prepare(actx)
        except BaseException as exc:  # noqa: B036 - the terminal gets 96, never silence
            answer(None, exc)
            return
        if job is None:
            answer(answered)
        else:
            committer.submit(job, answer)

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


def register_authorizer(router: Any, engine: Engine, hsm: Any, config: dict | None = None, **kw: Any):
    """Register the authoriser on a switch.server Router for every MTI it serves (repeats included)."""
    handler = build_authorizer(engine, hsm, config, **kw)
    for mti in AUTH_MTIS:
        router.register(mti, None, handler)
    for mti in ("0500", "0501"):
        router.register(mti, None, handler.batch_close)
    return handler
