"""Keys under a ZMK/TMK (zone exchange): variant (U/T), ANSI X9.17 (X/Y, bare) and TR-31 key blocks (R)."""

from __future__ import annotations

from psec import tr31

from hsm_emulator.errors import HsmError
from hsm_emulator.lmk import DOUBLE_VARIANTS, SCHEME_LENGTHS, TRIPLE_VARIANTS
from hsm_emulator.primitives import des_decrypt, des_encrypt

# payShield key type -> (TR-31 key usage, mode of use) for export, and the usages accepted on import.
TR31_USAGE = {
    "000": ("K0", "B"), "001": ("P0", "B"), "002": ("P0", "B"), "003": ("M3", "C"), "008": ("M3", "C"),
    "009": ("B0", "X"), "302": ("B1", "X"), "402": ("C0", "C"), "109": ("E0", "X"), "00A": ("D0", "B"),
    "00B": ("D0", "B"),
}
TR31_ACCEPT = {
    "000": {"K0", "K1"}, "001": {"P0"}, "002": {"P0", "V2", "V1", "K0"}, "003": {"M1", "M3", "M0"},
    "008": {"M1", "M3", "M0"}, "009": {"B0"}, "302": {"B1"}, "402": {"C0"}, "109": {"E0"},
    "00A": {"D0"}, "00B": {"D0"},
}


def _zmk_variant(zmk: bytes, part: int, parts: int) -> bytes:
    table = DOUBLE_VARIANTS if parts == 2 else TRIPLE_VARIANTS
    k = bytearray(zmk)
    k[8] ^= table[part]
    return bytes(k)


def encrypt_under_zmk(zmk: bytes, key: bytes, scheme: str) -> str:
    """Key -> text under the ZMK: U/T variant method, X/Y (and bare/Z for single) ANSI X9.17 ECB."""
    scheme = scheme.upper()
    parts = len(key) // 8
    if scheme in ("Z", "") and parts == 1:
        return des_encrypt(zmk, key).hex().upper()
    if SCHEME_LENGTHS.get(scheme) != len(key):
        raise HsmError("26", "key scheme does not fit key length")
    if scheme in ("U", "T"):
        out = b"".join(des_encrypt(_zmk_variant(zmk, i, parts), key[8 * i : 8 * i + 8]) for i in range(parts))
    else:
        out = des_encrypt(zmk, key)
    return scheme + out.hex().upper()


def decrypt_under_zmk(zmk: bytes, text: str) -> bytes:
    scheme = text[:1].upper() if text[:1].upper() in SCHEME_LENGTHS else ""
    try:
        raw = bytes.fromhex(text[1:] if scheme else text)
    except ValueError:
        raise HsmError("15", "key is not hex") from None
    parts = len(raw) // 8
    if scheme in ("U", "T"):
        return b"".join(des_decrypt(_zmk_variant(zmk, i, parts), raw[8 * i : 8 * i + 8]) for i in range(parts))
    return des_decrypt(zmk, raw)


def tr31_wrap(kbpk: bytes, key: bytes, key_type: str, version: str = "00", exportability: str = "E",
              usage: str | None = None, mode: str | None = None) -> str:
    """TR-31 key block (version B for TDES KBPKs, D for AES) protecting `key` under the ZMK."""
    u, m = TR31_USAGE.get(key_type, ("P0", "B"))
    kb = tr31.KeyBlock(kbpk, tr31.Header(
        version_id="B" if len(kbpk) in (16, 24) else "D",
        key_usage=usage or u, algorithm="T", mode_of_use=mode or m,
        version_num=version, exportability=exportability))
    return kb.wrap(key)


def tr31_unwrap(kbpk: bytes, block: str, key_type: str) -> bytes:
    try:
        header, key = tr31.unwrap(kbpk, block)
    except (tr31.HeaderError, tr31.KeyBlockError, ValueError) as exc:
        # 84: key block check value (MAC) error; 83: key block format error
        raise HsmError("84" if "MAC" in str(exc) else "83", f"TR-31: {exc}") from None
    if header.key_usage not in TR31_ACCEPT.get(key_type, {header.key_usage}):
        raise HsmError("BD", "TR-31 key usage does not match the key type")
    if header.algorithm not in ("T", "D"):
        raise HsmError("BD", "TR-31 algorithm is not DES")
    return key
