"""Key management: A0 (generate), A6 (import), A8 (export), BU (check value), FA (ZPK from ZMK),
HC (new TMK/TPK/PVK under the current one)."""

from __future__ import annotations

import secrets

from hsm_emulator import dukpt
from hsm_emulator.commands import Reader, command
from hsm_emulator.errors import HsmError, digits
from hsm_emulator.keys import decrypt_under_zmk, encrypt_under_zmk, tr31_unwrap, tr31_wrap
from hsm_emulator.lmk import PAIR_CODES, check_parity, kcv_hex, key_type_code
from hsm_emulator.primitives import has_odd_parity, odd_parity

_LEN = {"U": 16, "X": 16, "T": 24, "Y": 24, "Z": 8, "0": 8}


def _scheme(r: Reader) -> str:
    s = r.text(1).upper()
    if s not in _LEN:
        raise HsmError("26", "invalid key scheme")
    return s


def _lmk_out(hsm, clear: bytes, key_type: str, scheme: str) -> str:
    return hsm.lmk.encrypt_key(clear, key_type, "" if scheme in ("Z", "0") else scheme)


def _skip_lmk_id(r: Reader) -> None:
    if r.optional("%"):
        r.num(2)  # LMK identifier: this HSM holds one LMK, 00


@command("A0")
def a0(hsm, r: Reader) -> str:
    """Generate a key: mode 0 (under LMK), 1 (also under a ZMK), A/B (derive an IPEK from a BDK and KSN)."""
    mode = r.text(1).upper()
    if mode not in "01AB":
        raise HsmError("15", "mode")
    key_type = key_type_code(r.hex(3))
    scheme = _scheme(r)
    if mode in "AB":
        if r.text(1) != "0" or r.text(1) not in "123":  # derive key mode 0 (IKEY), DUKPT master key type
            raise HsmError("15", "derive key mode or master key type")
        bdk = hsm.key(r.key(32, "UXTY"), "BDK")
        ksn = r.hex(15)
        clear = dukpt.tdes_ipek(bdk, bytes.fromhex((ksn + "00000").ljust(20, "0")[:20]))
    else:
        clear = odd_parity(secrets.token_bytes(_LEN[scheme]))
    out = _lmk_out(hsm, clear, key_type, scheme)
    if mode in "1B":
        zmk = hsm.key(r.key(16), "ZMK", "10")
        out += encrypt_under_zmk(zmk, clear, _scheme(r))
    _skip_lmk_id(r)
    return out + kcv_hex(clear)


@command("A6")
def a6(hsm, r: Reader) -> str:
    """Import a key from ZMK to LMK: key type, ZMK, key under ZMK (or 'R' + TR-31 block), LMK scheme."""
    key_type = key_type_code(r.hex(3))
    zmk = hsm.key(r.key(16), "ZMK", "10")
    if r.peek() == "R":
        r.raw(1)
        head = r.peek(5)  # version id + 4-digit block length from the TR-31 header
        if len(head) < 5 or not digits(head[1:]):
            raise HsmError("83", "TR-31 header")
        clear = tr31_unwrap(zmk, r.text(int(head[1:])), key_type)
    else:
        clear = decrypt_under_zmk(zmk, r.key(16))
    scheme = _scheme(r)
    if r.optional(";"):  # optional: reserved field + ZMK scheme... ignored beyond the scheme character
        r.text(1)
    _skip_lmk_id(r)
    out = _lmk_out(hsm, clear, key_type, scheme) + kcv_hex(clear)
    # A key parity error is advice only on import (error 01 with the key), per the host command reference.
    return out if has_odd_parity(clear) else ("01", out)


@command("A8")
def a8(hsm, r: Reader) -> str:
    """Export a key from LMK to ZMK: key type, ZMK, key under LMK, ZMK scheme ('R' = TR-31 key block)."""
    key_type = key_type_code(r.hex(3))
    zmk = hsm.key(r.key(16), "ZMK", "10")
    clear = hsm.key(r.key(16), key_type, "11")
    scheme = r.text(1).upper()
    if scheme == "R":
        usage = mode = None
        version, export = "00", "E"
        if r.optional("&"):
            usage, mode, version, export = r.text(2), r.text(1), r.num(2), r.text(1)
        out = "R" + tr31_wrap(zmk, clear, key_type, version, export, usage, mode)
    else:
        if scheme not in _LEN:
            raise HsmError("26", "invalid key scheme")
        out = encrypt_under_zmk(zmk, clear, scheme)
    _skip_lmk_id(r)
    return out + kcv_hex(clear)


@command("BU")
def bu(hsm, r: Reader) -> str:
    """Key check value: LMK pair code (2H, FF = key type follows), length flag, key [; key type][; 0 0 kcv type]."""
    code = r.hex(2)
    length_flag = r.num(1)
    key_text = r.key({"0": 16, "1": 32, "2": 48}.get(length_flag, 16))
    key_type = "0" + code
    if code == "FF":
        if not r.optional(";"):
            raise HsmError("15", "key type expected")
        key_type = r.hex(3)
    elif code not in PAIR_CODES:
        raise HsmError("04", "invalid LMK pair code")
    kcv_len = 16
    if r.optional(";"):
        r.text(2)
        kcv_len = 6 if r.num(1) == "1" else 16
    clear = hsm.key(key_text, key_type)
    return kcv_hex(clear, kcv_len)


@command("FA")
def fa(hsm, r: Reader) -> str:
    """Translate a ZPK from ZMK to LMK: ZMK, ZPK under ZMK [; ZMK scheme, LMK scheme, KCV type]."""
    zmk = hsm.key(r.key(16), "ZMK", "10")
    clear = check_parity(decrypt_under_zmk(zmk, r.key(16)), "11")
    scheme, kcv_len = ("U" if len(clear) == 16 else ""), 16
    if r.optional(";"):
        _scheme(r)
        scheme = _scheme(r)
        kcv_len = 6 if r.num(1) == "1" else 16
    _skip_lmk_id(r)
    return _lmk_out(hsm, clear, "001", scheme) + kcv_hex(clear, kcv_len)


@command("HC")
def hc(hsm, r: Reader) -> str:
    """Generate a TMK/TPK/PVK: the new key under the current key and under the LMK."""
    current_text = r.key(16)
    current = hsm.key(current_text, "TMK", "10")
    under_key_scheme = lmk_scheme = current_text[0] if current_text[0] in "UTXY" else "Z"
    if r.optional(";"):
        under_key_scheme = _scheme(r)
        lmk_scheme = _scheme(r)
        r.text(1)
    clear = odd_parity(secrets.token_bytes(_LEN[lmk_scheme]))
    return encrypt_under_zmk(current, clear, under_key_scheme) + _lmk_out(hsm, clear, "002", lmk_scheme)
