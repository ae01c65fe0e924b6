"""PAN helpers: Luhn check, 6+4 masking, and PAN protection at rest (Q2).

A stored PAN is AES-GCM ciphertext under the card data key; lookups use an HMAC-SHA256 keyed hash so the
database never needs the clear PAN to find a card. Both sub-keys are derived from one data key with HKDF
so one secret in config covers both purposes without reusing a key for two algorithms.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from switch.wire.pan import luhn_digit, mask_pan
from switch.wire.pan import luhn_ok as _luhn_ok

__all__ = ["PanVault", "luhn_digit", "luhn_ok", "mask_pan"]

REQUEST_DIGEST_PREFIX = b"acqsim request digest v2\x00"


def luhn_ok(pan: str) -> bool:
    """A card number: 12 to 19 digits whose last is the Luhn check digit."""
    return 12 <= len(pan) <= 19 and _luhn_ok(pan)


class PanVault:
    """Encrypts PANs for storage and computes their lookup hash."""

    def __init__(self, data_key: bytes) -> None:
        if len(data_key) not in (16, 24, 32):
            raise ValueError("card data key must be 16, 24 or 32 bytes")
        self._enc = AESGCM(self._derive(data_key, b"acqsim pan encryption"))
        self._mac_key = self._derive(data_key, b"acqsim pan lookup hash")
        # Keyed once, copied per call: HMAC's key schedule (two hash blocks) is most of a short message's
        # cost. The request digest's prefix separates it from the PAN lookup hash under the same key.
        self._lookup_mac = _KeyedSha256(self._mac_key)
        self._request_mac = _KeyedSha256(self._mac_key, REQUEST_DIGEST_PREFIX)

    @classmethod
    def from_hex(cls, key_hex: str) -> PanVault:
        return cls(bytes.fromhex(key_hex))

    @staticmethod
    def _derive(key: bytes, info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)

    def lookup_hash(self, pan: str) -> str:
        return self._lookup_mac.hexdigest(pan.encode())

    def request_digest(self, data: bytes) -> str:
        """Keyed digest of a request's canonical content (duplicate detection): never a plain hash of card
        data, so a stored digest cannot be brute-forced back to the PAN it covers."""
        return self._request_mac.hexdigest(data)

    def keyed_digest(self, data: bytes) -> str:
        """Keyed digest of arbitrary content (the journal's digest before v2, still read for old rows)."""
        return hmac.new(self._mac_key, data, hashlib.sha256).hexdigest()

    def encrypt(self, pan: str) -> str:
        nonce = os.urandom(12)
        return (nonce + self._enc.encrypt(nonce, pan.encode(), b"pan")).hex()

    def decrypt(self, blob_hex: str) -> str:
        blob = bytes.fromhex(blob_hex)
        return self._enc.decrypt(blob[:12], blob[12:], b"pan").decode()


class _KeyedSha256:
    """HMAC-SHA256 (RFC 2104) with the key's inner and outer pads hashed once: a call copies two hash
    states. The same digest as hmac.new(key, prefix + data, sha256), at half the cost of copying an
    hmac.HMAC object (pure Python) on every request."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes, prefix: bytes = b"") -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD) + prefix)
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def hexdigest(self, data: bytes) -> str:
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


_BLOCK = 64  # SHA-256 block size
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))
