"""Card verification values and EMV: CW, CY (Visa CVV/CVC), DG/FW (Visa PVV), KQ (ARQC/ARPC)."""

from __future__ import annotations

import hmac

from hsm_emulator import emv, pin
from hsm_emulator.cardcrypto import cvv_value
from hsm_emulator.commands import Reader, command
from hsm_emulator.errors import HsmError, digits
from hsm_emulator.primitives import des_decrypt, des_encrypt


def _card_fields(r: Reader) -> tuple[str, str, str]:
    pan = r.until(";", 19)
    if not digits(pan):
        raise HsmError("15", "PAN")
    return pan, r.num(4), r.num(3)


@command("CW")
def cw(hsm, r: Reader) -> str:
    cvk = hsm.key(r.key(32, "UX"), "CVK")
    return cvv_value(cvk, *_card_fields(r))


@command("CY")
def cy(hsm, r: Reader):
    cvk = hsm.key(r.key(32, "UX"), "CVK")
    cvv = r.num(3)
    want = cvv_value(cvk, *_card_fields(r))
    return ("00", "") if hmac.compare_digest(want, cvv) else ("01", "")


# PIN under LMK pair 02-03 (emulator encoding, see BA): the PIN padded with F to 16 hex characters,
# encrypted under LMK pair 02-03 (a real payShield uses its own LN+1 digit encoding, not reproduced here).
def pin_under_lmk(hsm, clear_pin: str) -> str:
    return des_encrypt(hsm.lmk.pair(1), bytes.fromhex(clear_pin.ljust(16, "F"))).hex().upper()


def pin_from_lmk(hsm, text: str) -> str:
    clear = des_decrypt(hsm.lmk.pair(1), bytes.fromhex(text)).hex().upper()
    p = clear.rstrip("F")
    if not digits(p) or not 4 <= len(p) <= 12:
        raise HsmError("14", "error in encrypted PIN")
    return p


@command("BA")
def ba(hsm, r: Reader) -> str:
    """Encrypt a clear PIN under LMK 02-03: PIN (LN, F-padded) + account (12N) -> 16H (emulator encoding)."""
    end = r.data.find(b"\x19", r.pos)
    end = r.end if end < 0 else end
    field = r.text(end - r.pos - 12)
    r.num(12)
    clear_pin = field.rstrip("F")
    if not digits(clear_pin) or not 4 <= len(clear_pin) <= 12:
        raise HsmError("24", "clear PIN")
    return pin_under_lmk(hsm, clear_pin)


def _pvv_generate(hsm, r: Reader) -> str:
    pvk = hsm.key(r.key(32, "UX"), "PVK")
    if len(pvk) != 16:
        raise HsmError("27", "PVK not double length")
    clear = pin_from_lmk(hsm, r.hex(16))
    account = r.num(12)
    pvki = r.num(1)
    return pin.visa_pvv(pvk, pvki, clear, account)


@command("DG")
def dg(hsm, r: Reader) -> str:
    """Generate a Visa PVV for a PIN under LMK 02-03."""
    return _pvv_generate(hsm, r)


@command("FW")
def fw(hsm, r: Reader) -> str:
    """Generate a Visa PVV (same fields as DG in this emulator; see module notes)."""
    return _pvv_generate(hsm, r)


@command("KQ")
def kq(hsm, r: Reader) -> bytes:
    """ARQC verification and/or ARPC generation (modes 0/1/2; scheme 0 Visa, 1 Europay/MasterCard)."""
    mode = r.text(1)
    scheme_id = r.text(1)
    if mode not in ("0", "1", "2"):
        raise HsmError("04", "invalid mode")
    if scheme_id not in emv.SCHEMES:
        raise HsmError("05", "unrecognised scheme ID")
    imk = hsm.key(r.key(32, "UX"), "MK-AC")
    pan_psn = r.raw(8).hex().upper()
    if not digits(pan_psn):
        raise HsmError("15", "PAN/PSN")
    atc, un = r.raw(2), r.raw(4)
    data = b""
    if mode in "01":
        n = int(r.hex(2), 16)
        if n == 0:
            raise HsmError("81", "zero-length transaction data")
        if n > r.remaining():
            raise HsmError("80", "transaction data length error")
        data = r.raw(n)
        if r.text(1) != ";":
            raise HsmError("15", "delimiter")
    arqc = r.raw(8)
    arc = r.raw(2) if mode in "12" else None
    scheme = emv.SCHEMES[scheme_id]
    if mode == "2":
        return emv.generate_arpc(scheme, imk, pan_psn[:-2], pan_psn[-2:], atc, un, arqc, arc, hsm.icc_keys)
    ok, arpc = emv.verify_arqc(scheme, imk, pan_psn[:-2], pan_psn[-2:], atc, un, data, arqc, arc, host_padded=True,
                               icc_keys=hsm.icc_keys)
    if not ok:
        return ("01", b"")
    return arpc or b""
