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


def luhn_ok(pan: str) -> bool:
    """True when the PAN's last digit is its Luhn check digit."""
    if not pan.isdigit() or not 12 <= len(pan) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(pan)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_digit(partial: str) -> str:
    """The check digit to append to `partial`."""
    for d in "0123456789":
        if luhn_ok(partial + d):
            return d
    raise ValueError("no check digit")  # unreachable for digit strings


def mask_pan(pan: str | None) -> str:
    """First 6 and last 4 digits; anything shorter than 11 characters is masked fully."""
    if not pan:
        return ""
    if len(pan) < 11:
        return "*" * len(pan)
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]


class PanVault:
    """Encrypts PANs for storage and computes their lookup hash."""

    def __init__(self, data_key: bytes) -> None:
        if len(data_key) not in (16, 24, 32):
            raise ValueError("card data key must be 16, 24 or 32 bytes")
        self._enc = AESGCM(self._derive(data_key, b"acqsim pan encryption"))
        self._mac_key = self._derive(data_key, b"acqsim pan lookup hash")

    @classmethod
    def from_hex(cls, key_hex: str) -> PanVault:
        return cls(bytes.fromhex(key_hex))

    @staticmethod
    def _derive(key: bytes, info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(key)

    def lookup_hash(self, pan: str) -> str:
        return hmac.new(self._mac_key, pan.encode(), hashlib.sha256).hexdigest()

    def keyed_digest(self, data: bytes) -> str:
        """Keyed digest of arbitrary request content (duplicate detection) - never a plain hash of card data."""
        return hmac.new(self._mac_key, data, hashlib.sha256).hexdigest()

    def encrypt(self, pan: str) -> str:
        nonce = os.urandom(12)
        return (nonce + self._enc.encrypt(nonce, pan.encode(), b"pan")).hex()

    def decrypt(self, blob_hex: str) -> str:
        blob = bytes.fromhex(blob_hex)
        return self._enc.decrypt(blob[:12], blob[12:], b"pan").decode()
