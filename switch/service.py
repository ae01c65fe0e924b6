"""Wires the switch's parts together for `acqsim switch serve`, the demo and the benchmark.

    database (switch.store) -> fixtures on an empty database (switch.issuer) -> HSM (in-process or TCP)
    -> authoriser on the router (switch.auth) -> key change -> HTTP API and metrics (switch.http)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switch.paths import default_data_dir
from switch.server.app import Switch

log = logging.getLogger("acqsim.switch")


@dataclass
class SwitchOptions:
    db: str | None = None
    data_dir: str | Path | None = None
    config: dict | None = None
    hsm: tuple[str, int] | None = None  # remote payShield-style HSM; None: in-process
    tokens: str | None = None  # HTTP API tokens file (default: fixtures/tokens.yaml)
    approve_all: bool = False  # wire testing: no authoriser, every request approved


@dataclass
class Running:
    """A built switch and what it is made of (the demo, the bench and the HTTP API look inside)."""

    switch: Switch
    engine: Any = None
    hsm: Any = None
    authorizer: Any = None
    data_dir: Path | None = None
    metrics: Any = None  # switch.http.MetricsRegistry: answers, latency, HSM latency
    tokens: str | None = None


def read_config(path: str | None) -> dict:
    from switch.issuer.loader import read_config as _read

    return _read(path)


def build(options: SwitchOptions, reactor: Any = None) -> Running:
    """Open the database (migrating it), load fixtures on a fresh one, plug in the authoriser."""
    data_dir = Path(options.data_dir or default_data_dir())
    data_dir.mkdir(parents=True, exist_ok=True)
    if options.approve_all:
        return Running(Switch(), data_dir=data_dir)
    if reactor is None:
        from twisted.internet import reactor
    from switch.auth import register_authorizer
    from switch.auth.keychange import build_key_change
    from switch.issuer.loader import ensure_fixtures
    from switch.store import open_database

    config = options.config or {}
    engine = open_database(options.db, data_dir)
    hsm = _hsm(options.hsm)
    if ensure_fixtures(engine, hsm, config):
        log.info("empty database: loaded the shipped fixtures")
    from switch.http import MetricsRegistry, timed_hsm

    metrics = MetricsRegistry()
    switch = Switch(key_change=build_key_change(engine, hsm, reactor))
    authorizer = register_authorizer(switch.router, engine, timed_hsm(hsm, metrics), config, reactor=reactor)
    _expire_holds_periodically(reactor, engine, float(config.get("hold_expiry_interval", 60)))
    return Running(switch, engine, hsm, authorizer, data_dir, metrics, options.tokens)


def _expire_holds_periodically(reactor: Any, engine: Any, interval: float) -> None:
    """Bookings release overdue holds as they go; this releases them on an idle switch too (off the reactor)."""
    from twisted.internet import task, threads

    from switch.ledger import Ledger

    ledger = Ledger(engine)

    def expire():
        d = threads.deferToThread(ledger.expire_pending)
        d.addErrback(lambda f: log.error("hold expiry failed: %s", f.value))
        return d

    loop = task.LoopingCall(expire)
    loop.clock = reactor
    reactor.callWhenRunning(loop.start, interval, now=False)


def _hsm(address: tuple[str, int] | None) -> Any:
    if address is None:
        from hsm_emulator import Hsm

        return Hsm()
    from hsm_emulator import HsmClient

    return HsmClient(address[0], address[1])


def start_http(reactor: Any, running: Running, host: str, port: int) -> tuple[str, int] | None:
    """The HTTP API and pages on host:port; None when the switch has no database (approve-all)."""
    if running.engine is None or port < 0:
        return None
    from switch.http import build_site
    from switch.http import start_http as _start

    site = build_site(running.engine, switch=running.switch, tokens=running.tokens, metrics=running.metrics)
    return _start(reactor, site, host, port)
