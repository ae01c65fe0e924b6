"""Variant LMK: 20 double-length pairs, key-type variants and the key schemes single/U/T/X/Y.

Facts carried over from the payShield host programmer's manual (variant LMK chapter):
- a key type code is 3 hex characters `VPP`: V is the LMK variant (0-9), PP the LMK pair code
  (00 -> pair 04-05, 01 -> 06-07, 02 -> 14-15, 03 -> 16-17, ... 0E -> 38-39);
- variant V is XORed into the first byte of the LMK pair (its left key);
- scheme U (double-length, variant method) encrypts the left half of the key under the LMK whose right key's
  first byte is XORed with A6 and the right half with 5A; scheme T (triple) uses 6A, DE, 2B per third;
- schemes X and Y (and an unprefixed double-length key) encrypt each half/third under the LMK in ECB
  (ANSI X9.17 method); an unprefixed or Z-prefixed single-length key is one ECB block.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from hsm_emulator.errors import HsmError
from hsm_emulator.primitives import des_decrypt, des_encrypt, has_odd_parity, kcv, xor

VARIANTS = (0x00, 0xA6, 0x5A, 0x6A, 0xDE, 0x2B, 0x50, 0x74, 0x9C, 0xFA)
DOUBLE_VARIANTS = (0xA6, 0x5A)
TRIPLE_VARIANTS = (0x6A, 0xDE, 0x2B)

# LMK pair code (last two characters of a key type) -> index of the LMK pair (0 = pair 00-01).
PAIR_CODES = {
    "00": 2, "01": 3, "02": 7, "03": 8, "04": 9, "05": 10, "06": 11, "07": 12,
    "08": 13, "09": 14, "0A": 15, "0B": 16, "0C": 17, "0D": 18, "0E": 19,
}

# Friendly names for the key types the switch and tests use (payShield key type table).
KEY_TYPES = {
    "ZMK": "000", "ZMK-COMP": "100", "KML": "200", "ZPK": "001", "PVK": "002", "TPK": "002", "TMK": "002",
    "IPEK": "302", "CVK": "402", "CSCK": "402", "TAK": "003", "WWK": "006", "ZAK": "008", "BDK": "009",
    "BDK-1": "009", "MK-AC": "109", "MK-SMI": "209", "MK-SMC": "309", "MK-DAC": "409", "MK-DN": "509",
    "BDK-2": "609", "MK-CVC3": "709", "BDK-3": "809", "ZEK": "00A", "DEK": "00B", "TEK": "00B",
}

SCHEME_LENGTHS = {"Z": 8, "U": 16, "X": 16, "T": 24, "Y": 24}

_DEFAULT_LMK_FILE = "test_lmk.txt"

# The published Thales variant test LMK (pairs 00-01 ... 38-39), the same as fixtures/hsm/test_lmk.txt.
TEST_LMK = (
    "01010101010101017902CD1FD36EF8BA", "20202020202020203131313131313131", "40404040404040405151515151515151",
    "61616161616161617070707070707070", "80808080808080809191919191919191", "A1A1A1A1A1A1A1A1B0B0B0B0B0B0B0B0",
    "C1C1010101010101D0D0010101010101", "E0E0010101010101F1F1010101010101", "1C587F1C13924FEF0101010101010101",
    "01010101010101010101010101010101", "02020202020202020404040404040404", "07070707070707071010101010101010",
    "13131313131313131515151515151515", "16161616161616161919191919191919", "1A1A1A1A1A1A1A1A1C1C1C1C1C1C1C1C",
    "23232323232323232525252525252525", "26262626262626262929292929292929", "2A2A2A2A2A2A2A2A2C2C2C2C2C2C2C2C",
    "2F2F2F2F2F2F2F2F3131313131313131", "01010101010101010101010101010101",
)


def default_lmk_path() -> Path:
    from switch.paths import fixtures_dir

    return fixtures_dir() / "hsm" / _DEFAULT_LMK_FILE


def key_type_code(key_type: str) -> str:
    """'ZPK' or '001' -> '001'; raises HsmError 04 for an unknown type."""
    code = KEY_TYPES.get(key_type.upper(), key_type.upper())
    if len(code) != 3 or code[0] not in "0123456789" or code[1:] not in PAIR_CODES:
        raise HsmError("04", f"invalid key type {key_type!r}")
    return code


@dataclass(frozen=True)
class KeyUnderLmk:
    scheme: str  # "" (unprefixed), Z, U, X, T or Y
    cipher: bytes

    def text(self) -> str:
        return self.scheme + self.cipher.hex().upper()


def parse_key(text: str) -> KeyUnderLmk:
    """'U' + 32H, 'T' + 48H, 'X'/'Y'/'Z' + hex, or bare 16H/32H/48H -> KeyUnderLmk."""
    scheme = text[:1].upper() if text[:1].upper() in SCHEME_LENGTHS else ""
    body = text[1:] if scheme else text
    want = SCHEME_LENGTHS.get(scheme)
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raise HsmError("15", "key is not hex") from None
    if (want is not None and len(raw) != want) or len(raw) not in (8, 16, 24):
        raise HsmError("15", "key length does not match its scheme")
    return KeyUnderLmk(scheme, raw)


class Lmk:
    """A variant LMK set. Thread-safe (immutable apart from a decrypted-key cache guarded by a lock)."""

    def __init__(self, pairs: list[bytes]) -> None:
        if len(pairs) != 20 or any(len(p) != 16 for p in pairs):
            raise ValueError("a variant LMK is 20 double-length pairs")
        self._pairs = tuple(bytes(p) for p in pairs)
        self._cache: dict[tuple[str, str], bytes] = {}
        self._odd: dict[tuple[str, str], bytes] = {}  # keys that passed the parity check (decrypt_checked)
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: str | Path | None = None) -> Lmk:
        """Load an LMK file (20 lines of 32 hex; ';' comments). None: the shipped test LMK (fixtures/hsm),
        or the same published values built in when the fixtures are not installed (wheel installs)."""
        if path is None:
            try:
                path = default_lmk_path()
                text = path.read_text()
            except (OSError, ImportError):
                return cls([bytes.fromhex(p) for p in TEST_LMK])
        else:
            text = Path(path).read_text()
        lines = text.splitlines()
        pairs = []
        for line in lines:
            line = line.split(";", 1)[0].strip().replace(" ", "")
            if line:
                pairs.append(bytes.fromhex(line))
        return cls(pairs)

    def pair(self, index: int) -> bytes:
        """LMK pair by index (0 = pair 00-01, 1 = 02-03, ...), for the few commands that use a pair directly."""
        return self._pairs[index]

    @property
    def check_value(self) -> str:
        """LMK check value (16H) as NC reports it: the check value of LMK pair 00-01."""
        return kcv(self._pairs[0]).hex().upper()

    def variant_key(self, key_type: str, part: int | None = None, parts: int = 1) -> bytes:
        code = key_type_code(key_type)
        lmk = bytearray(self._pairs[PAIR_CODES[code[1:]]])
        lmk[0] ^= VARIANTS[int(code[0])]
        if part is not None and parts > 1:
            table = DOUBLE_VARIANTS if parts == 2 else TRIPLE_VARIANTS
            lmk[8] ^= table[part]
        return bytes(lmk)

    def encrypt_key(self, clear: bytes, key_type: str, scheme: str = "U") -> str:
        """Clear key -> text under the LMK in `scheme` ('' or 'Z' for single length)."""
        scheme = scheme.upper()
        n = len(clear)
        if scheme in ("", "Z", "0"):
            scheme = "" if n == 8 else ("X" if n == 16 else "Y")
            if n == 8:
                return des_encrypt(self.variant_key(key_type), clear).hex().upper()
        if scheme not in SCHEME_LENGTHS or SCHEME_LENGTHS[scheme] != n:
            raise HsmError("26", "key scheme does not fit key length")
        return scheme + self._crypt(clear, key_type, scheme, des_encrypt).hex().upper()

    def decrypt_key(self, text: str, key_type: str) -> bytes:
        """Key text under the LMK -> clear key (cached); raises HsmError on malformed input."""
        cache_key = (text, key_type)
        hit = self._cache.get(cache_key)
        if hit is not None:
            return hit
        key = parse_key(text)
        scheme = key.scheme or ("" if len(key.cipher) == 8 else "X")
        if scheme in ("", "Z"):
            clear = des_decrypt(self.variant_key(key_type), key.cipher)
        else:
            clear = self._crypt(key.cipher, key_type, scheme, des_decrypt)
        with self._lock:
            if len(self._cache) > 10000:
                self._cache.clear()
            self._cache[cache_key] = clear
        return clear

    def decrypt_checked(self, text: str, key_type: str, parity_error: str) -> bytes:
        """decrypt_key, then the odd-parity check (HsmError `parity_error`); a key that passed is not checked
        again (the typed API asks for the same few keys on every request)."""
        cache_key = (text, key_type)
        hit = self._odd.get(cache_key)
        if hit is not None:
            return hit
        clear = check_parity(self.decrypt_key(text, key_type), parity_error)
        with self._lock:
            if len(self._odd) > 10000:
                self._odd.clear()
            self._odd[cache_key] = clear
        return clear

    def _crypt(self, data: bytes, key_type: str, scheme: str, fn) -> bytes:
        parts = len(data) // 8
        out = []
        for i in range(parts):
            if scheme in ("U", "T"):
                lmk = self.variant_key(key_type, i, parts)
            else:
                lmk = self.variant_key(key_type)
            out.append(fn(lmk, data[8 * i : 8 * i + 8]))
        return b"".join(out)


def check_parity(clear: bytes, code: str) -> bytes:
    """Raise HsmError(code) when a key fails the odd-parity check, as payShield does."""
    if not has_odd_parity(clear):
        raise HsmError(code, "key parity error")
    return clear


def kcv_hex(clear: bytes, length: int = 6) -> str:
    return kcv(clear).hex().upper()[:length]


__all__ = ["Lmk", "KeyUnderLmk", "parse_key", "key_type_code", "check_parity", "kcv_hex", "xor"]
