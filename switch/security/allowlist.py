"""Refuse TCP connections from addresses not configured (Q2: access only for those who need it; issue 10: the HSM accepts connections only from
configured addresses).

`AllowListFactory(factory, ["127.0.0.1", "10.1.0.0/16"])` wraps any Twisted server factory: for a peer
outside the list `buildProtocol` returns None, which makes Twisted close the socket at once - before a
byte is read and before any TLS handshake. Allowed peers get the wrapped factory's own protocol (no
wrapper in the data path, so transports, timeouts and abortConnection behave exactly as without it).
`is_allowed` is the same check for blocking servers.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from typing import Any

from twisted.protocols.policies import WrappingFactory

log = logging.getLogger("acqsim.security")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(allowed: Iterable[str | Network]) -> tuple[Network, ...]:
    """Addresses or CIDR networks ("127.0.0.1", "10.0.0.0/8", "::1"); ValueError names a bad entry."""
    if isinstance(allowed, str):
        allowed = [allowed]  # one address given as a string, not its characters
    out = []
    for item in allowed:
        if isinstance(item, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            out.append(item)
            continue
        try:
            out.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            raise ValueError(f"allowed address {item!r} is not an IP address or network") from None
    return tuple(out)


def is_allowed(host: str, networks: Iterable[Network]) -> bool:
    """True when `host` (an IP address string) lies in one of `networks`; IPv4-mapped IPv6 counts as IPv4."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # not an IP peer (UNIX socket, garbage): never allowed
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        candidates.append(ip.ipv4_mapped)
    return any(c.version == n.version and c in n for c in candidates for n in networks)


class AllowListFactory(WrappingFactory):
    """A server factory that refuses peers outside `allowed_networks` and counts the refusals."""

    def __init__(self, factory: Any, allowed_networks: Iterable[str | Network]) -> None:
        super().__init__(factory)
        self.networks = parse_networks(allowed_networks)
        if not self.networks:
            raise ValueError("an empty allow-list would refuse every connection")
        self.refused = 0

    def buildProtocol(self, addr: Any) -> Any:
        host = getattr(addr, "host", "")
        if not is_allowed(host, self.networks):
            self.refused += 1
            log.warning("refused connection from %s: not in the allow-list", host or addr)
            return None
        return self.wrappedFactory.buildProtocol(addr)

    def logPrefix(self) -> str:
        prefix = getattr(self.wrappedFactory, "logPrefix", None)
        return prefix() if callable(prefix) else self.wrappedFactory.__class__.__name__
