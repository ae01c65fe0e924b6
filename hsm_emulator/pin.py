"""PIN blocks (ISO 9564 formats 0, 1, 2, 3, 4 and IBM 3624/Diebold), Visa PVV and IBM 3624 offsets.

Thales PIN block format codes: 01 = ISO 9564-1 format 0 (ANSI X9.8), 03 = Diebold/IBM 3624,
05 = ISO format 1, 34 = ISO format 2, 47 = ISO format 3, 48 = ISO format 4 (AES, in-process only).
"""

from __future__ import annotations

import secrets

import psec

from hsm_emulator.errors import HsmError, digits
from hsm_emulator.primitives import des_encrypt

FORMATS = {"01": "iso0", "03": "ibm3624", "05": "iso1", "34": "iso2", "47": "iso3", "48": "iso4"}
TDES_FORMATS = ("01", "03", "05", "34", "47")


def account_number(pan: str) -> str:
    """The 12 rightmost PAN digits excluding the check digit; a 12-digit value is taken as already that."""
    if not digits(pan) or len(pan) < 12:
        raise HsmError("15", "account number must be at least 12 digits")
    return pan if len(pan) == 12 else pan[-13:-1]


def _pan_field(account12: str) -> bytes:
    return bytes.fromhex("0000" + account12)


def _xor_pan(block: bytes, account12: str) -> bytes:
    """block XOR (0000 || account), as one int XOR for the usual 12-digit account (a byte loop costs ~1 us)."""
    if len(block) == 8 and len(account12) == 12 and digits(account12):
        return (int.from_bytes(block, "big") ^ int(account12, 16)).to_bytes(8, "big")
    return bytes(a ^ b for a, b in zip(block, _pan_field(account12), strict=True))


def _check_pin(pin: str) -> str:
    if not digits(pin):
        raise HsmError("20", "PIN block does not contain valid values")
    if not 4 <= len(pin) <= 12:
        raise HsmError("24", "PIN length out of range")
    return pin


def encode(pin: str, fmt: str, account12: str = "") -> bytes:
    """Clear PIN -> clear 8-byte PIN block in Thales format `fmt` (not for 48, see encode_iso4)."""
    _check_pin(pin)
    n = len(pin)
    if fmt == "01":
        field = f"0{n:X}{pin}".ljust(16, "F")
        return _xor_pan(bytes.fromhex(field), account12)
    if fmt == "03":
        return bytes.fromhex(pin.ljust(16, "F"))
    if fmt == "05":
        fill = secrets.token_hex(8).upper()
        return bytes.fromhex((f"1{n:X}{pin}" + fill)[:16])
    if fmt == "34":
        return bytes.fromhex(f"2{n:X}{pin}".ljust(16, "F"))
    if fmt == "47":
        fill = "".join(secrets.choice("ABCDEF") for _ in range(14))
        field = (f"3{n:X}{pin}" + fill)[:16]
        return _xor_pan(bytes.fromhex(field), account12)
    raise HsmError("23", f"invalid PIN block format {fmt}")


def decode(block: bytes, fmt: str, account12: str = "") -> str:
    """Clear 8-byte PIN block -> PIN; HsmError 20/24 when the block is not well formed."""
    if len(block) != 8:
        raise HsmError("15", "PIN block must be 8 bytes")
    if fmt in ("01", "47"):
        text = _xor_pan(block, account12).hex().upper()
        want = "0" if fmt == "01" else "3"
    elif fmt in ("05", "34"):
        text = block.hex().upper()
        want = "1" if fmt == "05" else "2"
    elif fmt == "03":
        text = block.hex().upper()
        pin = text.rstrip("F")
        if not digits(pin) or not 4 <= len(pin) <= 12 or "F" in pin:
            raise HsmError("20", "PIN block does not contain valid values")
        return pin
    else:
        raise HsmError("23", f"invalid PIN block format {fmt}")
    if text[0] != want:
        raise HsmError("20", "PIN block control field")
    n = int(text[1], 16)
    if not 4 <= n <= 12:
        raise HsmError("24", "PIN length out of range")
    pin = text[2 : 2 + n]
    fill = text[2 + n :]
    if not digits(pin):
        raise HsmError("20", "PIN block does not contain valid values")
    if fmt in ("01", "34") and fill != "F" * len(fill):
        raise HsmError("20", "PIN block fill")
    if fmt == "47" and any(c not in "ABCDEF" for c in fill):
        raise HsmError("20", "PIN block fill")
    return pin


def encode_iso4(key: bytes, pin: str, pan: str) -> bytes:
    """ISO 9564-1 format 4: AES-enciphered 16-byte PIN block bound to the full PAN (psec)."""
    _check_pin(pin)
    return psec.pinblock.encipher_pinblock_iso_4(key, pin, pan)


def decode_iso4(key: bytes, block: bytes, pan: str) -> str:
    try:
        return _check_pin(psec.pinblock.decipher_pinblock_iso_4(key, block, pan))
    except ValueError:
        raise HsmError("20", "PIN block does not contain valid values") from None


def visa_pvv(pvk: bytes, pvki: str, pin: str, account12: str) -> str:
    """Visa PVV over the 11 rightmost account digits (check digit excluded), PVKI and the first 4 PIN digits.

    psec's algorithm, inlined for well-formed input (one cached cipher context, str.translate for the
    decimalisation); anything else goes to psec so that it raises its own ValueError.
    """
    tsp = account12[-11:] + pvki + pin[:4]
    if len(tsp) != 16 or len(pvki) != 1 or len(pvk) not in (8, 16, 24) or not digits(tsp):
        return psec.pin.generate_visa_pvv(pvk, pvki, pin[:4], account12[-11:] + "0")
    enc = des_encrypt(pvk, bytes.fromhex(tsp)).hex()
    pvv = enc.translate(_DECIMALS)[:4]
    if len(pvv) < 4:  # too few decimal digits: the letters a-f count as 0-5, in order
        pvv += enc.translate(_LETTERS_AS_DIGITS)[: 4 - len(pvv)]
    return pvv


_DECIMALS = str.maketrans("", "", "abcdef")
_LETTERS_AS_DIGITS = str.maketrans("abcdef", "012345", "0123456789")


def ibm_offset(pvk: bytes, pin: str, dec_table: str, pvd: str, check_length: int) -> str:
    """IBM 3624 offset of `pin` for PIN validation data `pvd` (12 chars; 'N' marks where PAN digits go)."""
    natural = ibm_natural_pin(pvk, dec_table, pvd, len(pin))
    if not 4 <= check_length <= len(pin):
        raise HsmError("15", "check length")
    return "".join(str((int(p) - int(n)) % 10) for p, n in zip(pin, natural, strict=True))


def ibm_natural_pin(pvk: bytes, dec_table: str, validation_data: str, length: int) -> str:
    data = validation_data.ljust(16, "F")
    try:
        enc = des_encrypt(pvk, bytes.fromhex(data)).hex().upper()
    except ValueError:
        raise HsmError("15", "PIN validation data") from None
    return "".join(dec_table[int(c, 16)] for c in enc)[:length]


def ibm_verify(pvk: bytes, pin: str, dec_table: str, pvd: str, offset: str, check_length: int) -> bool:
    """IBM 3624: natural PIN + offset (digit-wise mod 10) must equal the PIN on its first check_length digits."""
    natural = ibm_natural_pin(pvk, dec_table, pvd, len(pin))
    offset = offset.rstrip("F")
    derived = "".join(str((int(n) + int(o)) % 10) for n, o in zip(natural, offset.ljust(len(pin), "0"), strict=False))
    return len(pin) >= check_length and derived[:check_length] == pin[:check_length]


def expand_pvd(pvd: str, account12: str) -> str:
    """payShield PIN validation data: the character 'N' is replaced by the last 5 digits of the account."""
    if "N" in pvd:
        idx = pvd.index("N")
        pvd = pvd[:idx] + account12[-5:] + pvd[idx + 1 :]
    return pvd
