"""TLS for the switch's listeners and the HSM port (Q2: transport is encrypted; issue 10): Twisted connection creators built on
pyOpenSSL, the same as stdlib ssl.SSLContext objects for blocking code (HsmClient), and `listen` which
puts TLS and the address allow-list in front of any Twisted factory.

Every argument that names a certificate or key takes a path or the PEM bytes themselves. TLS 1.2 is the
floor; a certificate file may hold the chain after the leaf; a CA file may hold several CAs.
"""

from __future__ import annotations

import ssl as stdlib_ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from twisted.internet import ssl
from twisted.internet.interfaces import IListeningPort

PemSource = str | Path | bytes
_BEGIN = b"-----BEGIN CERTIFICATE-----"


def read_pem(source: PemSource) -> bytes:
    """PEM bytes from bytes (returned as they are) or from a file path."""
    if isinstance(source, bytes):
        return source
    return Path(source).read_bytes()


def _cert_blocks(pem: bytes) -> list[bytes]:
    parts = pem.split(_BEGIN)[1:]
    if not parts:
        raise ValueError("no PEM certificate found")
    return [_BEGIN + p for p in parts]


def _certificates(source: PemSource) -> list[ssl.Certificate]:
    return [ssl.Certificate.loadPEM(block) for block in _cert_blocks(read_pem(source))]


def _private_certificate(cert: PemSource, key: PemSource) -> tuple[ssl.PrivateCertificate, list]:
    blocks = _cert_blocks(read_pem(cert))
    leaf = ssl.PrivateCertificate.loadPEM(blocks[0] + b"\n" + read_pem(key))
    chain = [ssl.Certificate.loadPEM(b).original for b in blocks[1:]]
    return leaf, chain


def server_tls_options(cert: PemSource, key: PemSource, ca: PemSource | None = None,
                       require_client_cert: bool = False) -> ssl.CertificateOptions:
    """Server side of a TLS listener: pass to reactor.listenSSL or `listen(..., tls=...)`.

    With `ca`, client certificates are verified against it; with `require_client_cert` (mutual TLS) a
    client that shows none, or one not issued by `ca`, or an expired one, fails the handshake.
    """
    if require_client_cert and ca is None:
        raise ValueError("require_client_cert needs the CA that issues client certificates")
    leaf, chain = _private_certificate(cert, key)
    # cryptography objects rather than pyOpenSSL's X509/PKey, which pyOpenSSL now deprecates.
    options = ssl.CertificateOptions(
        privateKey=leaf.privateKey.original.to_cryptography_key(),
        certificate=leaf.original.to_cryptography(),
        extraCertChain=[c.to_cryptography() for c in chain] or None,
        verify=ca is not None,
        caCerts=[c.original for c in _certificates(ca)] if ca is not None else None,  # X509Store wants X509
        requireCertificate=require_client_cert,
        raiseMinimumTo=ssl.TLSVersion.TLSv1_2,
    )
    options.getContext()  # built now, so a bad certificate or key fails here and not at the first client
    return options


def client_tls_options(ca: PemSource, cert: PemSource | None = None, key: PemSource | None = None,
                       hostname: str = "127.0.0.1") -> Any:
    """Client side: trust only `ca`, check the server's name (or IP address) is `hostname`, and show
    `cert`/`key` when the server asks for a client certificate. For endpoints / reactor.connectSSL."""
    extra: dict[str, Any] = {"raiseMinimumTo": ssl.TLSVersion.TLSv1_2}
    if cert is not None:
        if key is None:
            raise ValueError("a client certificate needs its key")
        leaf, chain = _private_certificate(cert, key)
        # Given as cryptography objects here rather than as clientCertificate=, which hands pyOpenSSL the
        # deprecated X509/PKey objects (DeprecationWarning on every connection).
        extra.update(privateKey=leaf.privateKey.original.to_cryptography_key(),
                     certificate=leaf.original.to_cryptography(),
                     extraCertChain=[c.to_cryptography() for c in chain] or None)
    trust = ssl.trustRootFromCertificates(_certificates(ca))
    return ssl.optionsForClientTLS(hostname, trustRoot=trust, extraCertificateOptions=extra)


def listen(reactor: Any, port: int, factory: Any, *, tls: Any = None,
           allowed_networks: Iterable[str] | None = None, backlog: int = 50,
           interface: str = "") -> IListeningPort:
    """Listen on TCP, with TLS when `tls` (from server_tls_options) is given, refusing peers outside
    `allowed_networks` before any TLS handshake when given. The drop-in for reactor.listenTCP."""
    if allowed_networks is not None:
        from switch.security.allowlist import AllowListFactory

        factory = AllowListFactory(factory, allowed_networks)
    if tls is not None:
        return reactor.listenSSL(port, factory, tls, backlog=backlog, interface=interface)
    return reactor.listenTCP(port, factory, backlog=backlog, interface=interface)


def ssl_server_context(cert: PemSource, key: PemSource, ca: PemSource | None = None,
                       require_client_cert: bool = False) -> stdlib_ssl.SSLContext:
    """The stdlib equivalent of server_tls_options, for blocking servers (socketserver & co)."""
    if require_client_cert and ca is None:
        raise ValueError("require_client_cert needs the CA that issues client certificates")
    ctx = stdlib_ssl.SSLContext(stdlib_ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = stdlib_ssl.TLSVersion.TLSv1_2
    _load_chain(ctx, cert, key)
    if ca is not None:
        ctx.load_verify_locations(cadata=read_pem(ca).decode("ascii"))
        ctx.verify_mode = stdlib_ssl.CERT_REQUIRED if require_client_cert else stdlib_ssl.CERT_OPTIONAL
    return ctx


def ssl_client_context(ca: PemSource, cert: PemSource | None = None,
                       key: PemSource | None = None) -> stdlib_ssl.SSLContext:
    """The stdlib equivalent of client_tls_options, for blocking clients such as HsmClient:
    `ctx.wrap_socket(sock, server_hostname="127.0.0.1")` checks the chain and the name or IP."""
    ctx = stdlib_ssl.SSLContext(stdlib_ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = stdlib_ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(cadata=read_pem(ca).decode("ascii"))
    if cert is not None:
        if key is None:
            raise ValueError("a client certificate needs its key")
        _load_chain(ctx, cert, key)
    return ctx


def _load_chain(ctx: stdlib_ssl.SSLContext, cert: PemSource, key: PemSource) -> None:
    # load_cert_chain wants files; paths go straight in, PEM bytes through a private temporary file.
    if not isinstance(cert, bytes) and not isinstance(key, bytes):
        ctx.load_cert_chain(str(cert), str(key))
        return
    import os
    import tempfile

    fd, name = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(read_pem(cert) + b"\n" + read_pem(key))
        ctx.load_cert_chain(name)
    finally:
        os.unlink(name)


def peer_common_name(transport: Any) -> str | None:
    """The common name of the peer's verified certificate (mutual TLS), or None without one."""
    get = getattr(transport, "getPeerCertificate", None)
    cert = get() if get else None
    if cert is None:
        return None
    from cryptography.x509.oid import NameOID

    names = cert.to_cryptography().subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None
