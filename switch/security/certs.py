"""A throw-away PKI for tests and demos: a CA, a server certificate for 127.0.0.1/::1/localhost and client
certificates, built with cryptography's x509 API (ECDSA P-256, SHA-256).

    pki = write_test_pki(tmp_path)             # files under tmp_path, paths on the returned object
    server_tls_options(pki.server_cert, pki.server_key, ca=pki.ca_cert, require_client_cert=True)

Never use these for anything but tests: the keys are written unencrypted.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Pem:
    """A certificate and its private key, PEM-encoded."""

    cert: bytes
    key: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "acqsim test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _validity(days: int, not_before: dt.datetime | None, not_after: dt.datetime | None):
    now = dt.datetime.now(dt.UTC)
    start = not_before or now - dt.timedelta(minutes=5)  # small skew allowance
    return start, not_after or now + dt.timedelta(days=days)


def make_ca(common_name: str = "acqsim test CA", days: int = 30) -> Pem:
    key = ec.generate_private_key(ec.SECP256R1())
    start, end = _validity(days, None, None)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name)).issuer_name(_name(common_name))
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Pem(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def make_cert(ca: Pem, common_name: str, *, server: bool = True, client: bool = False,
              ips: Iterable[str] = ("127.0.0.1", "::1"), dns: Iterable[str] = ("localhost",), days: int = 30,
              not_before: dt.datetime | None = None, not_after: dt.datetime | None = None) -> Pem:
    """A leaf certificate signed by `ca`; `server` adds serverAuth and the SANs, `client` adds clientAuth."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert)
    ca_key = serialization.load_pem_private_key(ca.key, password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    start, end = _validity(days, not_before, not_after)
    usages = ([ExtendedKeyUsageOID.SERVER_AUTH] if server else []) + ([ExtendedKeyUsageOID.CLIENT_AUTH] if client else [])
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name)).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(start).not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
    )
    names: list[x509.GeneralName] = []
    if server:
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        names += [x509.DNSName(d) for d in dns]
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return Pem(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


@dataclass(frozen=True)
class TestPki:
    """Paths of a generated test PKI (all PEM)."""

    __test__ = False  # not a pytest test class

    directory: Path
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca_cert: Path  # an unrelated CA: nothing here is signed by it
    rogue_client_cert: Path  # a client certificate signed by the unrelated CA
    rogue_client_key: Path
    expired_client_cert: Path  # signed by the right CA, expired yesterday
    expired_client_key: Path


def _write(directory: Path, name: str, pem: Pem) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    cert.write_bytes(pem.cert)
    key.write_bytes(pem.key)
    key.chmod(0o600)
    return cert, key


def write_test_pki(directory: str | Path, server_name: str = "acqsim-switch",
                   client_name: str = "TERM0001") -> TestPki:
    """Generate a CA, a server certificate (127.0.0.1, ::1, localhost), a client certificate, and the
    negative cases tests need (an unrelated CA, a client certificate from it, an expired client cert)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    ca = make_ca()
    other = make_ca("unrelated test CA")
    now = dt.datetime.now(dt.UTC)
    ca_cert, ca_key = _write(d, "ca", ca)
    other_cert, _ = _write(d, "other-ca", other)
    server_cert, server_key = _write(d, "server", make_cert(ca, server_name, server=True))
    client_cert, client_key = _write(d, "client", make_cert(ca, client_name, server=False, client=True))
    rogue_cert, rogue_key = _write(d, "rogue-client", make_cert(other, client_name, server=False, client=True))
    expired_cert, expired_key = _write(d, "expired-client", make_cert(
        ca, client_name, server=False, client=True,
        not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1)))
    return TestPki(d, ca_cert, ca_key, server_cert, server_key, client_cert, client_key, other_cert,
                   rogue_cert, rogue_key, expired_cert, expired_key)
