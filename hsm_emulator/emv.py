"""EMV application cryptograms: ARQC verification and ARPC generation as KQ does it.

Scheme "visa" (KQ scheme 0, Visa CVN 10 style): ICC master key by EMV option A from the issuer MK-AC, no
session key, ISO 9797-1 algorithm 3 with zero padding, ARPC method 1.
Scheme "mastercard" (KQ scheme 1, M/Chip, CVN 16): option A master key, AC session key from
R = ATC || 0000 || UN (MasterCard proprietary SKD), ISO 9797-1 algorithm 3 with 80-padding; ARPC method 1
under the ICC master key itself (CVN 16: "ARPC session key derivation = None", as pyemv's MasterCardCVN16
and the emulated card do).

The arithmetic is hsm_emulator.cardcrypto (pyemv's algorithms on reusable cipher contexts); `icc_keys`
lets the Hsm pass its cache of derived ICC master keys.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from hsm_emulator.cardcrypto import arpc_method_1, common_session_key, icc_master_key, pad, retail_mac
from hsm_emulator.errors import HsmError

SCHEMES = {"0": "visa", "1": "mastercard"}
ZERO_PADDING, EMV_PADDING = 1, 2  # ISO 9797-1 padding methods (pyemv's PaddingType.VISA / .EMV)

IccKeys = Callable[[bytes, str, str], bytes]  # (IMK, PAN, PSN) -> ICC master key


def _keys(scheme: str, imk: bytes, pan: str, psn: str, atc: bytes, un: bytes,
          icc_keys: IccKeys = icc_master_key) -> tuple[bytes, bytes, int]:
    """(ICC master key, AC session key, padding method)."""
    if len(atc) != 2 or len(un) != 4:
        raise HsmError("15", "ATC is 2 bytes and UN 4 bytes")
    try:
        mk = icc_keys(imk, pan, psn)
    except ValueError:
        raise HsmError("15", "PAN/PSN") from None
    if scheme == "visa":
        return mk, mk, ZERO_PADDING
    if scheme == "mastercard":
        return mk, common_session_key(mk, atc + b"\x00\x00" + un), EMV_PADDING
    raise HsmError("15", f"unknown EMV scheme {scheme!r}")


def _cryptogram(scheme: str, sk: bytes, data: bytes, padding: int) -> bytes:
    # An M/Chip session key changes with every ATC: no point keeping its cipher contexts.
    return retail_mac(sk, pad(data, padding), reuse=scheme == "visa")


def generate_arqc(scheme: str, imk: bytes, pan: str, psn: str, atc: bytes, un: bytes, data: bytes) -> bytes:
    """The cryptogram a card personalised from `imk` would produce (card emulation and tests use it)."""
    _mk, sk, padding = _keys(scheme, imk, pan, psn, atc, un)
    return _cryptogram(scheme, sk, data, padding)


def verify_arqc(scheme: str, imk: bytes, pan: str, psn: str, atc: bytes, un: bytes, data: bytes,
                arqc: bytes, arc: bytes | None, host_padded: bool = False,
                icc_keys: IccKeys = icc_master_key) -> tuple[bool, bytes | None]:
    """(cryptogram ok, ARPC or None): the ARPC is produced only when `arc` is given and the ARQC is good.

    `host_padded`: KQ semantics, the host already added any scheme padding and the HSM only zero-fills.
    """
    mk, sk, padding = _keys(scheme, imk, pan, psn, atc, un, icc_keys)
    if host_padded:
        padding = ZERO_PADDING
    ok = hmac.compare_digest(_cryptogram(scheme, sk, data, padding), arqc)
    arpc = arpc_method_1(mk, arqc, arc) if ok and arc is not None else None
    return ok, arpc


def generate_arpc(scheme: str, imk: bytes, pan: str, psn: str, atc: bytes, un: bytes, arqc: bytes, arc: bytes,
                  icc_keys: IccKeys = icc_master_key) -> bytes:
    mk = _keys(scheme, imk, pan, psn, atc, un, icc_keys)[0]
    return arpc_method_1(mk, arqc, arc)
