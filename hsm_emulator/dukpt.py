"""DUKPT key derivation: ANSI X9.24-1 (TDES, 2009) and ANSI X9.24-3 (AES, 2017).

TDES: KSN is 10 bytes (80 bits) with a 21-bit transaction counter; the initial key (IPEK) comes from the BDK
and the KSN with its counter cleared; the current key from the non-reversible key generation process over
the counter's set bits; the PIN key is the current key XOR the PIN variant.
AES: KSN is 12 bytes (8-byte initial key ID + 32-bit counter); every derivation is one NIST SP 800-108
counter-mode step with AES-ECB as PRF over the 16-byte derivation data of X9.24-3 section 6.3.
"""

from __future__ import annotations

import functools

from hsm_emulator.errors import HsmError
from hsm_emulator.primitives import aes_encrypt, des_encrypt, xor

_KEY_MASK = bytes.fromhex("C0C0C0C000000000C0C0C0C000000000")
PIN_VARIANT = bytes.fromhex("00000000000000FF00000000000000FF")
MAC_REQUEST_VARIANT = bytes.fromhex("000000000000FF00000000000000FF00")
MAC_RESPONSE_VARIANT = bytes.fromhex("00000000FF00000000000000FF000000")
DATA_REQUEST_VARIANT = bytes.fromhex("0000000000FF00000000000000FF0000")


def _parse_tdes_ksn(ksn: str | bytes) -> bytes:
    raw = bytes.fromhex(ksn) if isinstance(ksn, str) else bytes(ksn)
    if len(raw) < 10:
        # payShield accepts a shorter KSN and pads it on the left with F (X9.24 allows up to 80 bits).
        raw = bytes.fromhex(raw.hex().rjust(20, "f"))
    if len(raw) != 10:
        raise HsmError("15", "KSN must be 10 bytes")
    return raw


@functools.lru_cache(maxsize=1024)
def tdes_ipek(bdk: bytes, ksn: bytes) -> bytes:
    """Initial PIN encryption key (IPEK) for a 16-byte BDK and the KSN."""
    ksn = _parse_tdes_ksn(ksn)
    base = (int.from_bytes(ksn, "big") & ~0x1FFFFF).to_bytes(10, "big")[:8]
    left = des_encrypt(bdk, base)
    right = des_encrypt(xor(bdk, _KEY_MASK), base)
    return left + right


def _nrkgp(key: bytes, reg: bytes) -> bytes:
    """Non-reversible key generation process (X9.24-1 A.2) on a 16-byte key and 8-byte crypto register."""
    kl, kr = key[:8], key[8:]
    right = xor(des_encrypt(kl, xor(reg, kr)), kr)  # single DES under the left half
    kl2, kr2 = xor(kl, _KEY_MASK[:8]), xor(kr, _KEY_MASK[8:])
    left = xor(des_encrypt(kl2, xor(reg, kr2)), kr2)
    return left + right


@functools.lru_cache(maxsize=4096)
def tdes_current_key(bdk: bytes, ksn: bytes) -> bytes:
    """The transaction key for the KSN's counter (no variant applied)."""
    ksn = _parse_tdes_ksn(ksn)
    key = tdes_ipek(bdk, ksn)
    counter = int.from_bytes(ksn[-3:], "big") & 0x1FFFFF
    reg = bytearray(ksn[-8:])
    reg[-3] &= 0xE0
    reg[-2] = 0
    reg[-1] = 0
    shift = 0x100000
    while shift:
        if counter & shift:
            val = int.from_bytes(reg[-3:], "big") | shift
            reg[-3:] = val.to_bytes(3, "big")
            key = _nrkgp(key, bytes(reg))
        shift >>= 1
    return key


def tdes_pin_key(bdk: bytes, ksn: str | bytes) -> bytes:
    return xor(tdes_current_key(bdk, _parse_tdes_ksn(ksn)), PIN_VARIANT)


def tdes_mac_key(bdk: bytes, ksn: str | bytes, response: bool = False) -> bytes:
    return xor(tdes_current_key(bdk, _parse_tdes_ksn(ksn)), MAC_RESPONSE_VARIANT if response else MAC_REQUEST_VARIANT)


def tdes_data_key(bdk: bytes, ksn: str | bytes) -> bytes:
    """Data encryption key: the data variant, then encrypted with itself (X9.24-1 2009, A.4.1)."""
    variant = xor(tdes_current_key(bdk, _parse_tdes_ksn(ksn)), DATA_REQUEST_VARIANT)
    return des_encrypt(variant, variant[:8]) + des_encrypt(variant, variant[8:])


# --- AES DUKPT (X9.24-3) -------------------------------------------------------------------------

KEY_USAGE = {
    "kek": 0x0002,
    "pin": 0x1000,
    "mac-gen": 0x2000,
    "mac-verify": 0x2001,
    "mac": 0x2002,
    "data-encrypt": 0x3000,
    "data-decrypt": 0x3001,
    "data": 0x3002,
    "derivation": 0x8000,
    "initial": 0x8001,
}
ALGORITHMS = {"2TDEA": (0x0000, 128), "3TDEA": (0x0001, 192), "AES128": (0x0002, 128),
              "AES192": (0x0003, 192), "AES256": (0x0004, 256)}


def _aes_kind(key: bytes) -> str:
    return {16: "AES128", 24: "AES192", 32: "AES256"}[len(key)]


def _derivation_data(usage: int, algorithm: str, data8: bytes, block: int = 1) -> bytes:
    alg_id, bits = ALGORITHMS[algorithm]
    return (bytes([0x01, block]) + usage.to_bytes(2, "big") + alg_id.to_bytes(2, "big")
            + bits.to_bytes(2, "big") + data8)


def _derive(key: bytes, usage: int, algorithm: str, data8: bytes) -> bytes:
    bits = ALGORITHMS[algorithm][1]
    out = b""
    for block in range(1, (bits + 127) // 128 + 1):
        out += aes_encrypt(key, _derivation_data(usage, algorithm, data8, block))
    return out[: bits // 8]


def _parse_aes_ksn(ksn: str | bytes) -> bytes:
    raw = bytes.fromhex(ksn) if isinstance(ksn, str) else bytes(ksn)
    if len(raw) != 12:
        raise HsmError("15", "AES DUKPT KSN must be 12 bytes")
    return raw


@functools.lru_cache(maxsize=1024)
def aes_initial_key(bdk: bytes, initial_key_id: bytes) -> bytes:
    """Initial key (IK) for the 8-byte initial key ID; same length as the BDK."""
    return _derive(bdk, KEY_USAGE["initial"], _aes_kind(bdk), initial_key_id)


@functools.lru_cache(maxsize=4096)
def _aes_derivation_key(bdk: bytes, ksn: bytes) -> bytes:
    ik_id, counter = ksn[:8], int.from_bytes(ksn[8:], "big")
    key = aes_initial_key(bdk, ik_id)
    working = 0
    mask = 1 << 31
    while mask:
        if counter & mask:
            working |= mask
            key = _derive(key, KEY_USAGE["derivation"], _aes_kind(bdk), ik_id[4:] + working.to_bytes(4, "big"))
        mask >>= 1
    return key


def aes_working_key(bdk: bytes, ksn: str | bytes, usage: str = "pin", algorithm: str = "AES128") -> bytes:
    """Working key of `usage` (pin, mac-gen, data-encrypt, ...) for the 12-byte KSN."""
    raw = _parse_aes_ksn(ksn)
    if usage not in KEY_USAGE or algorithm not in ALGORITHMS:
        raise HsmError("15", "unknown AES DUKPT key usage or algorithm")
    dk = _aes_derivation_key(bdk, raw)
    return _derive(dk, KEY_USAGE[usage], algorithm, raw[4:8] + raw[8:12])
