"""Data commands: M0/M2 (encrypt/decrypt data block, ECB and CBC), M6/M8 (generate/verify MAC,
ISO 9797-1 algorithms 1 and 3, paddings 0-3)."""

from __future__ import annotations

import hmac

from hsm_emulator import dukpt
from hsm_emulator.commands import Reader, command
from hsm_emulator.errors import HsmError
from hsm_emulator.mac import iso9797_mac
from hsm_emulator.primitives import des_cbc_decrypt, des_cbc_encrypt, des_decrypt, des_encrypt

_DATA_KEY_TYPES = {"00A", "00B", "009", "609", "809"}
_MAC_KEY_TYPES = {"003", "008"}


def _message(r: Reader, fmt: str) -> bytes:
    length = r.text(4)
    try:
        n = int(length, 16)
    except ValueError:
        raise HsmError("06", "invalid message length") from None
    if n > r.remaining():
        raise HsmError("06", "invalid message length")
    raw = r.raw(n)
    if fmt == "0":
        return raw
    if fmt == "1":
        try:
            return bytes.fromhex(raw.decode("latin-1"))
        except ValueError:
            raise HsmError("15", "hex message") from None
    if fmt == "2":
        return raw
    raise HsmError("03", "invalid input format flag")


def _out(data: bytes, fmt: str) -> bytes:
    if fmt == "1":
        return data.hex().upper().encode()
    if fmt in ("0", "2"):
        return data
    raise HsmError("04", "invalid output format flag")


def _data_key(hsm, r: Reader) -> tuple[bytes, bool]:
    key_type = r.text(3).upper()
    if key_type not in _DATA_KEY_TYPES:
        raise HsmError("05", "invalid key type for data encryption")
    key = hsm.key(r.key(16), key_type)
    if key_type in ("009", "609", "809"):  # DUKPT: the transaction's data key from the BDK and the KSN
        desc = r.hex(3)
        if desc[1] != "0":
            raise HsmError("15", "KSN descriptor")
        return dukpt.tdes_data_key(key, r.hex(20)), True
    return key, False


def _crypt(hsm, r: Reader, encrypt: bool) -> bytes:
    mode = r.text(2)
    in_fmt, out_fmt = r.text(1), r.text(1)
    if mode not in ("00", "01"):
        raise HsmError("02", "invalid mode flag: ECB (00) and CBC (01) are supported")
    if in_fmt not in ("0", "1", "2"):
        raise HsmError("03", "invalid input format flag")
    if out_fmt not in ("0", "1", "2"):
        raise HsmError("04", "invalid output format flag")
    key, _ = _data_key(hsm, r)
    iv = bytes.fromhex(r.hex(16)) if mode == "01" else b""
    data = _message(r, in_fmt)
    if not data or len(data) % 8:
        raise HsmError("06", "message must be a multiple of 8 bytes")
    if mode == "00":
        result = des_encrypt(key, data) if encrypt else des_decrypt(key, data)
        return f"{len(_out(result, out_fmt)):04X}".encode() + _out(result, out_fmt)
    result = des_cbc_encrypt(key, iv, data) if encrypt else des_cbc_decrypt(key, iv, data)
    next_iv = (result if encrypt else data)[-8:].hex().upper().encode()
    body = _out(result, out_fmt)
    return next_iv + f"{len(body):04X}".encode() + body


@command("M0")
def m0(hsm, r: Reader) -> bytes:
    """Encrypt a data block: M100 [+ IV for the next block (CBC)] + length (4H) + data."""
    return _crypt(hsm, r, True)


@command("M2")
def m2(hsm, r: Reader) -> bytes:
    """Decrypt a data block: M300 [+ IV] + length (4H) + data."""
    return _crypt(hsm, r, False)


def _mac(hsm, r: Reader) -> tuple[str, str]:
    mode, in_fmt, size, alg, padding = (r.text(1) for _ in range(5))
    if mode != "0":
        raise HsmError("02", "only single-block messages (mode 0) are supported")
    if in_fmt not in ("0", "1", "2"):
        raise HsmError("03", "invalid input format flag")
    if alg not in ("1", "3"):
        raise HsmError("04", "invalid MAC algorithm")
    if padding not in ("0", "1", "2", "3"):
        raise HsmError("09", "invalid padding method")
    if size not in ("0", "1"):
        raise HsmError("15", "invalid MAC size")
    key_type = r.text(3).upper()
    if key_type not in _MAC_KEY_TYPES:
        raise HsmError("05", "invalid key type for MAC")
    key = hsm.key(r.key(16), key_type)
    data = _message(r, in_fmt)
    mac = iso9797_mac(key, data, int(alg), int(padding)).hex().upper()
    return mac[: 8 if size == "0" else 16], size


@command("M6")
def m6(hsm, r: Reader) -> str:
    """Generate a MAC: mode, input format, MAC size (0=8H, 1=16H), algorithm (1/3), padding (0-3), key
    type (003 TAK, 008 ZAK), key, message length (4H), message -> M700 + MAC."""
    return _mac(hsm, r)[0]


@command("M8")
def m8(hsm, r: Reader):
    """Verify a MAC: the M6 fields followed by the MAC -> M900 or M901."""
    want, size = _mac(hsm, r)
    got = r.hex(8 if size == "0" else 16)
    return ("00", "") if hmac.compare_digest(want, got) else ("01", "")
