"""PIN commands: CA, CC (translate), CI, G0 (DUKPT translate), CM (DUKPT PVV verify), DA, EA (IBM 3624
verify), DC, EC (Visa PVV verify), JC, JE, JG (PIN to and from LMK encryption), DE (IBM offset),
CK, GO (DUKPT PIN with the IBM method)."""

from __future__ import annotations

from hsm_emulator import dukpt, pin
from hsm_emulator.commands import Reader, command
from hsm_emulator.errors import HsmError


def _max_len(r: Reader) -> int:
    n = int(r.num(2))
    if not 4 <= n <= 12:
        raise HsmError("15", "maximum PIN length")
    return n


def _translate(hsm, r: Reader, src_type: str) -> str:
    src = hsm.key(r.key(16), src_type, "10")
    dst = hsm.key(r.key(16), "ZPK", "11")
    max_len = _max_len(r)
    block = r.hex(16)
    src_fmt, dst_fmt = r.num(2), r.num(2)
    account = r.num(12)
    n, out = hsm.translate_pin(src, dst, block, src_fmt, dst_fmt, account, max_len)
    return f"{n:02d}{out}{dst_fmt}"


@command("CA")
def ca(hsm, r: Reader) -> str:
    """Translate a PIN from TPK to ZPK: CB00 + PIN length (2N) + PIN block (16H) + format (2N)."""
    return _translate(hsm, r, "TPK")


@command("CC")
def cc(hsm, r: Reader) -> str:
    """Translate a PIN from one ZPK to another: CD00 + PIN length + PIN block + format."""
    return _translate(hsm, r, "ZPK")


def _ksn(r: Reader) -> str:
    desc = r.hex(3)
    if desc[1] != "0":
        raise HsmError("15", "KSN descriptor")
    # The KSN is sent as 20 hex characters (left-padded with F by the terminal when shorter).
    return r.hex(20)


def _dukpt_translate(hsm, r: Reader) -> str:
    bdk = hsm.key(r.key(32, "UXTY"), "BDK", "10")
    zpk = hsm.key(r.key(16), "ZPK", "11")
    ksn = _ksn(r)
    block = r.hex(16)
    dst_fmt = r.num(2)
    account = r.num(12)
    src_key = dukpt.tdes_pin_key(bdk, ksn)
    p = hsm._pin_from_block(src_key, block, "01", account)
    return f"{len(p):02d}{hsm.pin_to_block(zpk, p, dst_fmt, account)}{dst_fmt}"


@command("CI")
def ci(hsm, r: Reader) -> str:
    """Translate a PIN from BDK (DUKPT) to ZPK encryption: CJ00 + PIN length + PIN block + format."""
    return _dukpt_translate(hsm, r)


@command("G0")
def g0(hsm, r: Reader) -> str:
    """Translate a PIN from BDK to ZPK encryption (triple-DES DUKPT): G100 + PIN length + block + format."""
    return _dukpt_translate(hsm, r)


@command("CM")
def cm(hsm, r: Reader):
    """Verify a DUKPT PIN with the Visa PVV method (PIN block in ISO format 0)."""
    bdk = hsm.key(r.key(32, "UXTY"), "BDK", "10")
    pvk = hsm.key(r.key(32, "UX"), "PVK", "11")
    ksn = _ksn(r)
    block = r.hex(16)
    account = r.num(12)
    pvki, pvv = r.num(1), r.num(4)
    p = hsm._pin_from_block(dukpt.tdes_pin_key(bdk, ksn), block, "01", account)
    return ("00", "") if hsm.pvv_matches(pvk, p, account, pvki, pvv) else ("01", "")


def _ibm_verify(hsm, r: Reader, key_type: str):
    key = hsm.key(r.key(16), key_type, "10")
    pvk = hsm.key(r.key(16, "UXZ"), "PVK", "11")
    _max_len(r)
    block = r.hex(16)
    fmt = r.num(2)
    check_len, account, dec_table, pvd, offset = _ibm_fields(r)
    p = hsm._pin_from_block(key, block, fmt, account)
    return ("00", "") if pin.ibm_verify(pvk, p, dec_table, pvd, offset, check_len) else ("01", "")


def _ibm_fields(r: Reader) -> tuple[int, str, str, str, str]:
    """The IBM 3624 offset method's fields: check length, account, decimalisation table, PIN validation
    data (expanded) and offset."""
    check_len = int(r.num(2))
    account = r.num(12)
    dec_table = r.num(16)
    pvd = pin.expand_pvd(r.text(12), account)
    offset = r.text(12)
    if not 4 <= check_len <= 12 or any(c not in "0123456789F" for c in offset):
        raise HsmError("15", "check length or offset")
    return check_len, account, dec_table, pvd, offset


@command("DA")
def da(hsm, r: Reader):
    """Verify a terminal PIN with the IBM 3624 offset method (TPK)."""
    return _ibm_verify(hsm, r, "TPK")


@command("EA")
def ea(hsm, r: Reader):
    """Verify an interchange PIN with the IBM 3624 offset method (ZPK)."""
    return _ibm_verify(hsm, r, "ZPK")


def _pvv_verify(hsm, r: Reader, key_type: str):
    key = hsm.key(r.key(16), key_type, "10")
    pvk = hsm.key(r.key(32, "UX"), "PVK", "11")
    block = r.hex(16)
    fmt = r.num(2)
    account = r.num(12)
    pvki, pvv = r.num(1), r.num(4)
    p = hsm._pin_from_block(key, block, fmt, account)
    return ("00", "") if hsm.pvv_matches(pvk, p, account, pvki, pvv) else ("01", "")


@command("DC")
def dc(hsm, r: Reader):
    """Verify a terminal PIN with the Visa PVV method (TPK)."""
    return _pvv_verify(hsm, r, "TPK")


@command("EC")
def ec(hsm, r: Reader):
    """Verify an interchange PIN with the Visa PVV method (ZPK)."""
    return _pvv_verify(hsm, r, "ZPK")


@command("DE")
def de(hsm, r: Reader) -> str:
    """Generate an IBM PIN offset for a PIN under LMK: PVK, PIN (16H, emulator encoding), check length,
    account, decimalisation table, PIN validation data -> offset (12H, F-padded)."""
    from hsm_emulator.commands.cards import pin_from_lmk

    pvk = hsm.key(r.key(16, "UXZ"), "PVK")
    clear = pin_from_lmk(hsm, r.hex(16))
    check_len = int(r.num(2))
    account = r.num(12)
    dec_table = r.num(16)
    pvd = pin.expand_pvd(r.text(12), account)
    return pin.ibm_offset(pvk, clear, dec_table, pvd, check_len).ljust(12, "F")


def _to_lmk(hsm, r: Reader, key_type: str) -> str:
    from hsm_emulator.commands.cards import pin_under_lmk

    key = hsm.key(r.key(16), key_type, "10")
    block, fmt, account = r.hex(16), r.num(2), r.num(12)
    return pin_under_lmk(hsm, hsm._pin_from_block(key, block, fmt, account))


@command("JC")
def jc(hsm, r: Reader) -> str:
    """Translate a PIN from TPK to LMK encryption (PIN under LMK in this emulator's 16H encoding)."""
    return _to_lmk(hsm, r, "TPK")


@command("JE")
def je(hsm, r: Reader) -> str:
    """Translate a PIN from ZPK to LMK encryption."""
    return _to_lmk(hsm, r, "ZPK")


@command("JG")
def jg(hsm, r: Reader) -> str:
    """Translate a PIN from LMK to ZPK encryption: ZPK, format, account, PIN under LMK -> PIN block."""
    from hsm_emulator.commands.cards import pin_from_lmk

    zpk = hsm.key(r.key(16), "ZPK", "10")
    fmt, account = r.num(2), r.num(12)
    return hsm.pin_to_block(zpk, pin_from_lmk(hsm, r.hex(16)), fmt, account)


def _dukpt_ibm(hsm, r: Reader):
    bdk = hsm.key(r.key(32, "UXTY"), "BDK", "10")
    pvk = hsm.key(r.key(16, "UXZ"), "PVK", "11")
    ksn = _ksn(r)
    block = r.hex(16)
    check_len, account, dec_table, pvd, offset = _ibm_fields(r)
    p = hsm._pin_from_block(dukpt.tdes_pin_key(bdk, ksn), block, "01", account)
    return ("00", "") if pin.ibm_verify(pvk, p, dec_table, pvd, offset, check_len) else ("01", "")


@command("CK")
def ck(hsm, r: Reader):
    """Verify a DUKPT PIN with the IBM 3624 offset method: BDK, PVK, KSN descriptor, KSN, PIN block (ISO 0),
    check length, account, decimalisation table, PIN validation data, offset."""
    return _dukpt_ibm(hsm, r)


@command("GO")
def go(hsm, r: Reader):
    """Verify a PIN using the IBM offset method (3DES DUKPT): the CK fields."""
    return _dukpt_ibm(hsm, r)
