"""Assembles a running switch: router, network management and the listeners."""

from __future__ import annotations

import logging
import resource
from collections.abc import Callable

from switch.server.listeners import ListenerConfig
from switch.server.netmgmt import NetworkManagement
from switch.server.protocol import IsoServerFactory
from switch.server.router import Handler, Router
from switch.wire import load_dialect

log = logging.getLogger("acqsim.switch")


def raise_fd_limit() -> int:
    """Lift the soft open-files limit to the hard one: a switch holds thousands of terminal sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def _load_rules(path: str):
    from switch.hostsim import RulesError, RuleSet
    from switch.server.listeners import ConfigError

    try:
        return RuleSet.load(path)
    except RulesError as exc:
        raise ConfigError(str(exc)) from None


class Switch:
    """The switch's network side. Plug handlers into `router`; call `listen` for each listener."""

    def __init__(self, router: Router | None = None, key_change: Handler | None = None):
        self.router = router or Router()
        self.netmgmt = NetworkManagement(key_change)
        self.router.register("0800", None, self.netmgmt)
        self.factories: list[IsoServerFactory] = []
        self.ports: list = []
        self.answer_hooks: list[Callable[[dict, float], None]] = []

    def listen(self, reactor, cfg: ListenerConfig) -> tuple[str, int]:
        """Start one listener; returns the bound (host, port) (port 0 picks a free one)."""
        raise_fd_limit()
        factory = IsoServerFactory(cfg.name, load_dialect(cfg.dialect), cfg.framing_obj(), self.router,
                                   idle_timeout=cfg.idle_timeout or None, frame_timeout=cfg.frame_timeout or None,
                                   trace=cfg.trace)
        factory.on_answer = self._on_answer
        if cfg.rules:
            factory.rules = _load_rules(cfg.rules)
        if cfg.record:
            from terminal_agent.scenario.record import Recorder

            factory.recorder = Recorder(cfg.record)
        from switch.security.tls import listen

        port = listen(reactor, cfg.port, factory, tls=cfg.tls_options(), allowed_networks=cfg.allowed,
                      backlog=1024, interface=cfg.host)
        self.factories.append(factory)
        self.ports.append(port)
        address = port.getHost()
        return address.host, address.port

    def _on_answer(self, response: dict, seconds: float) -> None:
        for hook in self.answer_hooks:
            hook(response, seconds)

    def stop(self):
        from twisted.internet import defer

        return defer.gatherResults([p.stopListening() for p in self.ports])
