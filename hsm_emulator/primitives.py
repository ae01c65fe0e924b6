"""Block-cipher primitives shared by the whole HSM, and the shim that keeps psec/pyemv quiet.

`cryptography` deprecated TripleDES in its primitives module and two-key (16-byte) keys in the decrepit
module. Every DES operation here goes through the decrepit TripleDES with a 24-byte key (K1|K2|K1, or
K|K|K for single DES, which is DES by construction), so nothing warns. psec and pyemv build their ciphers
from `cryptography.hazmat.primitives.ciphers.algorithms.TripleDES`; `install_shim()` points their module
reference at a namespace whose TripleDES does the same expansion, so their vetted algorithms (PVV, IBM 3624,
CVV, ISO 9797 MACs, TR-31, EMV session keys) run unchanged and silently.
"""

from __future__ import annotations

import functools
import threading
import types
from typing import Any

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES as _DecrepitTripleDES
from cryptography.hazmat.primitives import cmac as _cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def expand_des_key(key: bytes) -> bytes:
    """8 -> K|K|K, 16 -> K1|K2|K1, 24 unchanged: the 3-key form is the only one nothing warns about."""
    n = len(key)
    if n == 24:
        return key
    if n == 16:
        return key + key[:8]
    if n == 8:
        return key * 3
    raise ValueError(f"DES key must be 8, 16 or 24 bytes, not {n}")


def TripleDES(key: bytes) -> _DecrepitTripleDES:  # noqa: N802 - mirrors the cryptography class name
    return _DecrepitTripleDES(expand_des_key(bytes(key)))


@functools.lru_cache(maxsize=4096)
def _ecb_cipher(key: bytes) -> Cipher:
    # Key schedules are cached: the same few working keys are used for every transaction.
    return Cipher(TripleDES(key), modes.ECB())


@functools.lru_cache(maxsize=1024)
def _aes_ecb_cipher(key: bytes) -> Cipher:
    return Cipher(algorithms.AES(key), modes.ECB())


_contexts = threading.local()


def _ecb(kind: str, key: bytes, build) -> Any:
    """A per-thread context for this key and kind (ECB direction, or a CBC-MAC chain). ECB keeps no state between blocks, so one
    context serves every call; setting one up costs ~3 us, reusing it ~0.4 us (OpenSSL contexts are not
    shared between threads, hence thread-local)."""
    cache = getattr(_contexts, "cache", None)
    if cache is None or len(cache) > 4096:
        cache = _contexts.cache = {}
    ctx = cache.get((kind, key))
    if ctx is None:
        ctx = cache[(kind, key)] = build(key)
    return ctx


def _whole_blocks(data: bytes, size: int) -> bytes:
    # A shared ECB context keeps a partial block for the next call, which would shift every later result
    # under that key on this thread: refuse it instead.
    if len(data) % size:
        raise ValueError(f"ECB data must be whole {size}-byte blocks, not {len(data)} bytes")
    return data


def _des_encryptor(key: bytes) -> Any:
    return _ecb_cipher(key).encryptor()


def _des_decryptor(key: bytes) -> Any:
    return _ecb_cipher(key).decryptor()


def _aes_encryptor(key: bytes) -> Any:
    return _aes_ecb_cipher(key).encryptor()


def _aes_decryptor(key: bytes) -> Any:
    return _aes_ecb_cipher(key).decryptor()


def des_encrypt(key: bytes, data: bytes) -> bytes:
    """(T)DES ECB encryption; data must be a multiple of 8 bytes (ValueError otherwise)."""
    return _ecb("de", key, _des_encryptor).update(_whole_blocks(data, 8))


def des_decrypt(key: bytes, data: bytes) -> bytes:
    return _ecb("dd", key, _des_decryptor).update(_whole_blocks(data, 8))


class _Chain:
    """A reusable CBC encryptor and the last block it produced (its next IV), as an int for cheap XOR."""

    __slots__ = ("update", "last")

    def __init__(self, key: bytes) -> None:
        self.update = Cipher(TripleDES(key), modes.CBC(bytes(8))).encryptor().update
        self.last = 0


def des_cbc_last_block(key: bytes, data: bytes) -> bytes:
    """Last block of zero-IV (T)DES CBC encryption of `data` (whole blocks): the CBC-MAC chaining value.

    A CBC context carries on from its previous output, so XORing that output into the first block restarts
    the chain from a zero IV; one context per key and thread then serves every call (~3 us saved a call).
    """
    if not data or len(data) % 8:
        raise ValueError("CBC-MAC data must be whole 8-byte blocks")  # a partial block would desync the chain
    chain = _ecb("cm", key, _Chain)
    first = (int.from_bytes(data[:8], "big") ^ chain.last).to_bytes(8, "big")
    last = chain.update(first + data[8:])[-8:]
    chain.last = int.from_bytes(last, "big")
    return last


def des_cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    return Cipher(TripleDES(key), modes.CBC(iv)).encryptor().update(data)


def des_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    return Cipher(TripleDES(key), modes.CBC(iv)).decryptor().update(data)


def aes_encrypt(key: bytes, data: bytes) -> bytes:
    return _ecb("ae", key, _aes_encryptor).update(_whole_blocks(data, 16))


def aes_decrypt(key: bytes, data: bytes) -> bytes:
    return _ecb("ad", key, _aes_decryptor).update(_whole_blocks(data, 16))


def aes_cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    return Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor().update(data)


def aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    return Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor().update(data)


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC (NIST SP 800-38B, RFC 4493), full 16 bytes."""
    c = _cmac.CMAC(algorithms.AES(key))
    c.update(data)
    return c.finalize()


def tdes_cmac(key: bytes, data: bytes) -> bytes:
    c = _cmac.CMAC(TripleDES(key))
    c.update(data)
    return c.finalize()


def xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


_ODD = bytes((b & 0xFE) | ((bin(b & 0xFE).count("1") + 1) % 2) for b in range(256))  # byte -> odd-parity byte


def odd_parity(key: bytes) -> bytes:
    """Set each byte's low bit so the byte has odd parity (DES key convention); one table lookup per byte."""
    return bytes(key).translate(_ODD)


_PARITY = bytes(bin(b).count("1") % 2 for b in range(256))  # 1 where the byte has odd parity


def has_odd_parity(key: bytes) -> bool:
    return b"\x00" not in key.translate(_PARITY)


def kcv(key: bytes, aes: bool = False) -> bytes:
    """Key check value: the key encrypts a zero block (DES), or the AES CMAC of a zero block (X9.24 AES KCV)."""
    if aes:
        return aes_cmac(key, bytes(16))
    return des_encrypt(key, bytes(8))


_SHIM = types.SimpleNamespace(TripleDES=TripleDES, AES=algorithms.AES)


def install_shim() -> None:
    """Point psec's and pyemv's cipher factories at the non-deprecated TripleDES (see module docstring)."""
    import psec.des
    import psec.mac
    import pyemv.mac
    import pyemv.tools

    for mod in (psec.des, psec.mac, pyemv.mac, pyemv.tools):
        mod._algorithms = _SHIM  # type: ignore[attr-defined]
    # Their ECB helpers build a cipher context per block; ours reuse one per key (same results, checked by
    # the published vectors in tests/hsm). Callers reach them through the module, so this takes effect.
    psec.des.encrypt_tdes_ecb = _checked(des_encrypt)  # type: ignore[assignment]
    psec.des.decrypt_tdes_ecb = _checked(des_decrypt)  # type: ignore[assignment]
    pyemv.tools.encrypt_tdes_ecb = _checked(des_encrypt)  # type: ignore[assignment]


def _checked(fn):
    def ecb(key: bytes, data: bytes) -> bytes:
        if len(data) < 8 or len(data) % 8:
            raise ValueError(f"Data length ({len(data)}) must be multiple of DES block size 8.")
        return fn(bytes(key), bytes(data))

    return ecb


install_shim()
