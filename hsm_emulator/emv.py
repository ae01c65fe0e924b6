"""EMV application cryptograms (pyemv): ARQC verification and ARPC generation as KQ does it.

Scheme "visa" (KQ scheme 0, Visa CVN 10 style): ICC master key by EMV option A from the issuer MK-AC, no
session key, ISO 9797-1 algorithm 3 with zero padding, ARPC method 1.
Scheme "mastercard" (KQ scheme 1, M/Chip, CVN 16): option A master key, AC session key from
R = ATC || 0000 || UN (MasterCard proprietary SKD), ISO 9797-1 algorithm 3 with 80-padding; ARPC method 1
under the ICC master key itself (CVN 16: "ARPC session key derivation = None", as pyemv's MasterCardCVN16
and the emulated card do).
"""

from __future__ import annotations

import hmac

from pyemv import ac, kd

from hsm_emulator.errors import HsmError

SCHEMES = {"0": "visa", "1": "mastercard"}


def _session_key(scheme: str, imk: bytes, pan: str, psn: str, atc: bytes, un: bytes) -> tuple[bytes, ac.PaddingType]:
    """(AC session key, the scheme's own padding): zero padding for Visa, 80-padding for M/Chip."""
    return _keys(scheme, imk, pan, psn, atc, un)[1:]


def _keys(scheme: str, imk: bytes, pan: str, psn: str, atc: bytes, un: bytes):
    """(ICC master key, AC session key, padding)."""
    if len(atc) != 2 or len(un) != 4:
        raise HsmError("15", "ATC is 2 bytes and UN 4 bytes")
    try:
        mk = kd.derive_icc_mk_a(imk, pan, psn)
    except ValueError:
        raise HsmError("15", "PAN/PSN") from None
    if scheme == "visa":
        return mk, mk, ac.PaddingType.VISA
    if scheme == "mastercard":
        return mk, kd.derive_common_sk(mk, atc + b"\x00\x00" + un), ac.PaddingType.EMV
    raise HsmError("15", f"unknown EMV scheme {scheme!r}")


def generate_arqc(scheme: str, imk: bytes, pan: str, psn: str, atc: bytes, un: bytes, data: bytes) -> bytes:
    """The cryptogram a card personalised from `imk` would produce (card emulation and tests use it)."""
    sk, padding = _session_key(scheme, imk, pan, psn, atc, un)
    return ac.generate_ac(sk, data, padding)


def verify_arqc(scheme: str, imk: bytes, pan: str, psn: str, atc: bytes, un: bytes, data: bytes,
                arqc: bytes, arc: bytes | None, host_padded: bool = False) -> tuple[bool, bytes | None]:
    """(cryptogram ok, ARPC or None): the ARPC is produced only when `arc` is given and the ARQC is good.

    `host_padded`: KQ semantics, the host already added any scheme padding and the HSM only zero-fills.
    """
    mk, sk, padding = _keys(scheme, imk, pan, psn, atc, un)
    if host_padded:
        padding = ac.PaddingType.VISA
    ok = hmac.compare_digest(ac.generate_ac(sk, data, padding), arqc)
    arpc = ac.generate_arpc_1(mk, arqc, arc) if ok and arc is not None else None
    return ok, arpc


def generate_arpc(scheme: str, imk: bytes, pan: str, psn: str, atc: bytes, un: bytes, arqc: bytes, arc: bytes) -> bytes:
    mk = _keys(scheme, imk, pan, psn, atc, un)[0]
    return ac.generate_arpc_1(mk, arqc, arc)
