"""Block-cipher helpers for the PIN pad side. Two-key triple DES goes through the decrepit TripleDES module
with K1|K2|K1 expanded keys (DESIGN.md), so nothing warns."""

from __future__ import annotations

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def _tdes_key(key: bytes) -> bytes:
    if len(key) == 8:
        return key * 3
    if len(key) == 16:
        return key + key[:8]
    if len(key) == 24:
        return key
    raise ValueError("DES key must be 8, 16 or 24 bytes")


def tdes_encrypt(key: bytes, data: bytes) -> bytes:
    enc = Cipher(TripleDES(_tdes_key(key)), modes.ECB()).encryptor()
    return enc.update(data) + enc.finalize()


def tdes_decrypt(key: bytes, data: bytes) -> bytes:
    dec = Cipher(TripleDES(_tdes_key(key)), modes.ECB()).decryptor()
    return dec.update(data) + dec.finalize()


def aes_encrypt(key: bytes, data: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return enc.update(data) + enc.finalize()


def xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def kcv(key: bytes, length: int = 3) -> str:
    """Key check value: the key encrypting zeros, first `length` bytes in hex (TDES keys)."""
    return tdes_encrypt(key, bytes(8))[:length].hex().upper()


def retail_mac(key: bytes, data: bytes) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 (retail MAC), padding method 1 (zeros), double-length key K1|K2."""
    k1, k2 = key[:8], key[8:16]
    if len(data) % 8 or not data:
        data += bytes(8 - len(data) % 8)
    state = bytes(8)
    for i in range(0, len(data), 8):
        state = tdes_encrypt(k1, xor(state, data[i : i + 8]))
    return tdes_encrypt(k1, tdes_decrypt(k2, state))
