"""TLS listeners, mutual TLS and the address allow-list over real sockets (Q2: encrypted transport,
least privilege; issue 10).

Servers run on the session reactor thread (tests/conftest.py); clients are both blocking stdlib ssl
sockets (as HsmClient would use) and Twisted TLS endpoints (as the switch's outbound links would)."""

from __future__ import annotations

import socket
import ssl
import warnings

import pytest
from twisted.internet import defer, endpoints, protocol
from twisted.protocols.wire import Echo

from switch.security.allowlist import AllowListFactory, is_allowed, parse_networks
from switch.security.certs import write_test_pki
from switch.security.tls import (
    client_tls_options,
    listen,
    peer_common_name,
    server_tls_options,
    ssl_client_context,
    ssl_server_context,
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return write_test_pki(tmp_path_factory.mktemp("pki"))


class WhoAmI(protocol.Protocol):
    """Answers any data with the common name of the client's certificate (or '-')."""

    def dataReceived(self, data: bytes) -> None:
        self.transport.write((peer_common_name(self.transport) or "-").encode() + b"|" + data)


@pytest.fixture
def serve(call_in_reactor, reactor):
    ports = []

    def start(proto=Echo, **kw):
        factory = protocol.Factory.forProtocol(proto)
        port = call_in_reactor(listen, reactor, 0, factory, interface="127.0.0.1", **kw)
        ports.append(port)
        return port, port.getHost().port

    yield start
    for port in ports:
        call_in_reactor(port.stopListening)


def blocking_echo(port: int, ctx: ssl.SSLContext | None, hostname: str = "127.0.0.1",
                  data: bytes = b"hello", expect: int | None = None) -> bytes | None:
    """Send data and read the answer; None when the connection is refused, closed or the handshake fails."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            sock = ctx.wrap_socket(raw, server_hostname=hostname) if ctx else raw
            with sock:
                sock.sendall(data)
                out = b""
                while len(out) < (expect or len(data)):
                    chunk = sock.recv(4096)
                    if not chunk:
                        return None
                    out += chunk
                return out
    except (ssl.SSLError, OSError):
        return None


def twisted_echo(reactor, port: int, options) -> defer.Deferred:
    class Client(protocol.Protocol):
        def __init__(self):
            self.done = defer.Deferred()
            self.buf = b""

        def connectionMade(self):
            self.transport.write(b"ping")

        def dataReceived(self, data):
            self.buf += data
            if self.buf.endswith(b"ping") and not self.done.called:
                self.done.callback(self.buf)
                self.transport.loseConnection()

        def connectionLost(self, reason):
            if not self.done.called:
                self.done.errback(reason)

    ep = endpoints.SSL4ClientEndpoint(reactor, "127.0.0.1", port, options, timeout=5)
    d = endpoints.connectProtocol(ep, Client())
    d.addCallback(lambda p: p.done)
    return d


def test_server_tls(pki, serve, call_in_reactor, reactor):
    _, port = serve(tls=server_tls_options(pki.server_cert, pki.server_key))
    assert blocking_echo(port, ssl_client_context(pki.ca_cert)) == b"hello"
    assert blocking_echo(port, ssl_client_context(pki.ca_cert), hostname="localhost") == b"hello"
    assert call_in_reactor(twisted_echo, reactor, port, client_tls_options(pki.ca_cert)) == b"ping"
    # Wrong trust root, wrong name, or plain TCP: no data exchanged.
    assert blocking_echo(port, ssl_client_context(pki.other_ca_cert)) is None
    assert blocking_echo(port, ssl_client_context(pki.ca_cert), hostname="switch.example") is None
    assert blocking_echo(port, None) is None
    with pytest.raises(Exception):  # noqa: B017 - any TLS verification failure
        call_in_reactor(twisted_echo, reactor, port, client_tls_options(pki.other_ca_cert))
    with pytest.raises(Exception):  # noqa: B017
        call_in_reactor(twisted_echo, reactor, port, client_tls_options(pki.ca_cert, hostname="10.9.9.9"))


def test_tls_versions_below_1_2_refused(pki, serve):
    _, port = serve(tls=server_tls_options(pki.server_cert, pki.server_key))
    ctx = ssl_client_context(pki.ca_cert)
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    assert blocking_echo(port, ctx) is None


def test_mutual_tls(pki, serve, call_in_reactor, reactor):
    tls = server_tls_options(pki.server_cert, pki.server_key, ca=pki.ca_cert, require_client_cert=True)
    _, port = serve(proto=WhoAmI, tls=tls)
    good = ssl_client_context(pki.ca_cert, pki.client_cert, pki.client_key)
    assert blocking_echo(port, good, data=b"hello", expect=14) == b"TERM0001|hello"
    answer = call_in_reactor(twisted_echo, reactor, port,
                             client_tls_options(pki.ca_cert, pki.client_cert, pki.client_key))
    assert answer == b"TERM0001|ping"
    # No client certificate, one from another CA, an expired one: refused.
    assert blocking_echo(port, ssl_client_context(pki.ca_cert)) is None
    assert blocking_echo(port, ssl_client_context(pki.ca_cert, pki.rogue_client_cert, pki.rogue_client_key)) is None
    assert blocking_echo(port, ssl_client_context(pki.ca_cert, pki.expired_client_cert,
                                                  pki.expired_client_key)) is None
    with pytest.raises(Exception):  # noqa: B017
        call_in_reactor(twisted_echo, reactor, port, client_tls_options(pki.ca_cert))


def test_optional_client_cert(pki, serve):
    tls = server_tls_options(pki.server_cert, pki.server_key, ca=pki.ca_cert)
    _, port = serve(proto=WhoAmI, tls=tls)
    assert blocking_echo(port, ssl_client_context(pki.ca_cert), expect=7) == b"-|hello"
    with_cert = ssl_client_context(pki.ca_cert, pki.client_cert, pki.client_key)
    assert blocking_echo(port, with_cert, expect=14) == b"TERM0001|hello"


def test_pem_bytes_and_stdlib_server(pki, tmp_path):
    opts = server_tls_options(pki.server_cert.read_bytes(), pki.server_key.read_bytes(), ca=pki.ca_cert.read_bytes())
    assert opts.getContext() is not None
    ctx = ssl_server_context(pki.server_cert.read_bytes(), pki.server_key.read_bytes(), ca=pki.ca_cert,
                             require_client_cert=True)
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    with pytest.raises(ValueError):
        server_tls_options(pki.server_cert, pki.server_key, require_client_cert=True)
    with pytest.raises(Exception, match="(?i)do not match|mismatch"):  # fails at configuration
        server_tls_options(pki.server_cert, pki.client_key)
    with pytest.raises(ValueError):
        client_tls_options(pki.ca_cert, cert=pki.client_cert)


def test_allow_list(serve, call_in_reactor):
    port, number = serve(allowed_networks=["10.0.0.0/8", "192.0.2.7"])
    assert blocking_echo(number, None) is None  # 127.0.0.1 is not allowed: closed before any byte
    assert call_in_reactor(lambda: port.factory.refused) == 1
    _, number = serve(allowed_networks=["::1", "127.0.0.0/8"])
    assert blocking_echo(number, None) == b"hello"


def test_allow_list_before_tls(pki, serve, call_in_reactor):
    tls = server_tls_options(pki.server_cert, pki.server_key)
    port, number = serve(tls=tls, allowed_networks=["198.51.100.0/24"])
    assert blocking_echo(number, ssl_client_context(pki.ca_cert)) is None
    factory = port.factory
    while not isinstance(factory, AllowListFactory):
        factory = factory.wrappedFactory
    assert call_in_reactor(lambda: factory.refused) == 1
    _, number = serve(tls=tls, allowed_networks=["127.0.0.1"])
    assert blocking_echo(number, ssl_client_context(pki.ca_cert)) == b"hello"


def test_allow_list_rules():
    nets = parse_networks(["127.0.0.1", "10.1.0.0/16", "2001:db8::/32"])
    assert is_allowed("127.0.0.1", nets) and is_allowed("10.1.200.3", nets)
    assert is_allowed("::ffff:127.0.0.1", nets)  # IPv4-mapped IPv6 peer on a dual-stack socket
    assert is_allowed("2001:db8::5", nets)
    assert not is_allowed("127.0.0.2", nets) and not is_allowed("10.2.0.1", nets)
    assert not is_allowed("", nets) and not is_allowed("/tmp/sock", nets)
    assert parse_networks("127.0.0.1") == parse_networks(["127.0.0.1"])
    with pytest.raises(ValueError, match="not an IP"):
        parse_networks(["localhost"])
    with pytest.raises(ValueError):
        AllowListFactory(protocol.Factory(), [])


def test_iso_switch_factory_over_mutual_tls(pki, call_in_reactor, reactor):
    """The switch's own listener factory behind mutual TLS and the allow-list: an 0800 echo is answered."""
    from switch.server import IsoServerFactory, Switch
    from switch.wire import Framing, load_dialect

    dialect, framing = load_dialect("ascii87"), Framing("len2")
    factory = IsoServerFactory("tls", dialect, framing, Switch().router)
    tls = server_tls_options(pki.server_cert, pki.server_key, ca=pki.ca_cert, require_client_cert=True)
    port = call_in_reactor(listen, reactor, 0, factory, tls=tls, allowed_networks=["127.0.0.1"],
                           interface="127.0.0.1")
    try:
        ctx = ssl_client_context(pki.ca_cert, pki.client_cert, pki.client_key)
        with socket.create_connection(("127.0.0.1", port.getHost().port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(framing.frame(dialect.encode({"t": "0800", "7": "1126120000", "11": "000001", "70": "301"})))
                head = s.recv(2)
                body = b""
                while len(body) < int.from_bytes(head, "big"):
                    body += s.recv(4096)
        answer = dialect.decode(body)
        assert answer["t"] == "0810" and answer["39"] == "00" and answer["11"] == "000001"
    finally:
        call_in_reactor(port.stopListening)


def test_cli_test_pki(tmp_path, capsys):
    import json

    from switch.cli.main import main

    assert main(["test-pki", str(tmp_path / "pki"), "--json"]) == 0
    paths = json.loads(capsys.readouterr().out)
    assert server_tls_options(paths["server_cert"], paths["server_key"], ca=paths["ca_cert"]) is not None
    assert oct((tmp_path / "pki" / "server.key").stat().st_mode)[-3:] == "600"
