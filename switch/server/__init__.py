"""The switch's TCP side: listeners, per-connection protocol, router and network management."""

from switch.server.app import Switch, raise_fd_limit
from switch.server.listeners import ConfigError, ListenerConfig, load_config, parse_listen
from switch.server.netmgmt import NetworkManagement
from switch.server.protocol import IsoServerFactory, IsoServerProtocol, ListenerStats
from switch.server.router import (
    ECHOED_FIELDS,
    RequestContext,
    Router,
    approve_all,
    build_response,
    new_rrn,
    response_mti,
)

__all__ = [
    "ECHOED_FIELDS", "ConfigError", "IsoServerFactory", "IsoServerProtocol", "ListenerConfig", "ListenerStats",
    "NetworkManagement", "RequestContext", "Router", "Switch", "approve_all", "build_response", "load_config",
    "new_rrn", "parse_listen", "raise_fd_limit", "response_mti",
]
