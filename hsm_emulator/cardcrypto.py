"""Card-check arithmetic of the authorisation path (EMV cryptograms, CVV) on reusable cipher contexts.

The same algorithms as pyemv (`kd.derive_icc_mk_a`, `kd.derive_common_sk`, `ac.generate_ac`,
`ac.generate_arpc_1`) and psec (`cvv.generate_cvv`), written from the standards (EMV 4.3 Book 2 Annex A1.3,
A1.4.1, A1.2 / ISO 9797-1 MAC algorithm 3, method 1 ARPC; Visa CVV) so that a working key's cipher context
is built once per thread instead of on every call. tests/hsm/test_cardcrypto.py checks every function here
against those libraries on random keys and data.

Clear keys stay in this process: in the per-thread context cache (primitives) and in `IccKeyCache`.
"""

from __future__ import annotations

import binascii
import threading
from collections import OrderedDict

from cryptography.hazmat.primitives.ciphers import Cipher, modes

from hsm_emulator.errors import HsmError, digits
from hsm_emulator.primitives import TripleDES, des_cbc_last_block, des_encrypt, odd_parity

_ZERO = bytes(8)
_ECB, _CBC_ZERO_IV = modes.ECB(), modes.CBC(_ZERO)  # immutable: shared by every one-off cipher
_ONES = (1 << 64) - 1
_NO_HEX_LETTERS = str.maketrans("", "", "abcdef")  # Visa CVV/PVV keep the decimal digits of the hex result


def _xor8(a: bytes, b: int) -> bytes:
    return (int.from_bytes(a, "big") ^ b).to_bytes(8, "big")


# ------------------------------------------------------------------------------------------- key derivation
def icc_master_key(imk: bytes, pan: str, psn: str) -> bytes:
    """EMV option A: TDES(IMK)[Y || not Y], Y = rightmost 16 digits of PAN || PSN, odd parity.

    Raises ValueError for a PAN/PSN that is not hex, as pyemv does (binascii, not bytes.fromhex, which
    would skip spaces).
    """
    y = binascii.a2b_hex((pan + psn)[-16:].zfill(16))
    return odd_parity(des_encrypt(imk, y + _xor8(y, _ONES)))


def common_session_key(mk: bytes, r: bytes) -> bytes:
    """EMV common session key derivation (Book 2 A1.3.1): TDES(MK)[R with byte 3 = F0 || R with 0F]."""
    if len(mk) != 16:
        raise ValueError("ICC Master Key must be a double length DES key")
    if len(r) != 8:
        raise ValueError("Diversification value must be 8 bytes long")
    left, right = r[:2] + b"\xf0" + r[3:], r[:2] + b"\x0f" + r[3:]
    return odd_parity(des_encrypt(mk, left + right))


class IccKeyCache:
    """Bounded LRU of derived ICC master keys per (IMK, PAN, PSN): a card's key is derived once, not on every
    ARQC. Thread-safe; lives in (and dies with) the Hsm object."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._keys: OrderedDict[tuple[bytes, str, str], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, imk: bytes, pan: str, psn: str) -> bytes:
        ident = (imk, pan, psn)
        with self._lock:
            mk = self._keys.get(ident)
            if mk is not None:
                self._keys.move_to_end(ident)
                return mk
        mk = icc_master_key(imk, pan, psn)  # outside the lock: a race only derives the same key twice
        with self._lock:
            self._keys[ident] = mk
            if len(self._keys) > self._size:
                self._keys.popitem(last=False)
        return mk

    def __len__(self) -> int:
        return len(self._keys)


# ------------------------------------------------------------------------------------------- MACs
def pad(data: bytes, method: int) -> bytes:
    """ISO 9797-1 padding 1 (zeros; empty data becomes one zero block) or 2 (0x80 then zeros)."""
    if method == 2:
        data += b"\x80"
    elif method != 1:
        raise ValueError("Specify valid padding method: 1 or 2.")
    short = -len(data) % 8
    return data + bytes(short) if short or data else _ZERO


def retail_mac(key: bytes, padded: bytes, reuse: bool = True) -> bytes:
    """ISO 9797-1 MAC algorithm 3 of whole blocks: single-DES CBC under K1, the last block under TDES K1K2K1.

    `reuse`: keep this key's cipher contexts for later calls (long-lived keys); False for one-off session
    keys, which would only crowd the per-thread context cache.
    """
    if len(key) != 16:
        raise ValueError("Session Key must be a double length DES key")
    if not padded or len(padded) % 8:
        raise ValueError("MAC input must be padded to whole 8-byte blocks")  # a shared ECB context would
        # otherwise keep the partial block and shift every later result
    last = padded[-8:]
    if len(padded) > 8:
        chained = des_cbc_last_block(key[:8], padded[:-8]) if reuse else _one_off_cbc(key[:8], padded[:-8])
        last = _xor8(last, int.from_bytes(chained, "big"))
    return des_encrypt(key, last) if reuse else _one_off_ecb(key).update(last)


def arpc_method_1(mk: bytes, arqc: bytes, arc: bytes) -> bytes:
    """EMV ARPC method 1 (Book 2 A1.2.1): TDES(key)[ARQC XOR (ARC || 00..00)]."""
    if len(mk) != 16:
        raise ValueError("Session Key must be a double length DES key")
    if len(arqc) != 8:
        raise ValueError("ARQC must be 8 bytes long")
    if len(arc) != 2:
        raise ValueError("ARPC-RC must be 2 bytes long")
    return des_encrypt(mk, _xor8(arqc, int.from_bytes(arc, "big") << 48))


def _one_off_cbc(key: bytes, data: bytes) -> bytes:
    return Cipher(TripleDES(key), _CBC_ZERO_IV).encryptor().update(data)[-8:]


def _one_off_ecb(key: bytes):
    return Cipher(TripleDES(key), _ECB).encryptor()


# ------------------------------------------------------------------------------------------- Visa CVV
def cvv_value(cvk: bytes, pan: str, expiry: str, service_code: str) -> str:
    """CVV for CW/CY and the typed API, payShield errors for a bad key length or field."""
    if len(cvk) != 16:
        raise HsmError("27", "CVK not double length")
    if not (digits(pan) and 1 <= len(pan) <= 19 and digits(expiry) and len(expiry) == 4
            and digits(service_code) and len(service_code) == 3):
        raise HsmError("15", "PAN, expiry or service code")
    return visa_cvv(cvk, pan, expiry, service_code)


def visa_cvv(cvk: bytes, pan: str, expiry: str, service_code: str) -> str:
    """Visa CVV/CVV2/iCVV: DES(K1)[block 1] XOR block 2 under TDES, first three decimal digits of the hex.

    The caller has validated the fields (digits; PAN at most 19, expiry 4, service code 3).
    """
    block = (pan + expiry + service_code).ljust(32, "0")
    first = des_encrypt(cvk[:8], binascii.a2b_hex(block[:16]))
    result = des_encrypt(cvk, _xor8(first, int(block[16:32], 16)))
    return result.hex().translate(_NO_HEX_LETTERS)[:3]
