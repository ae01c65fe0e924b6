"""MACs: ISO/IEC 9797-1 algorithm 1 (CBC-MAC) and 3 (retail MAC) with paddings 1, 2 and 3 (psec), AES-CMAC."""

from __future__ import annotations

import psec

from hsm_emulator.cardcrypto import retail_mac
from hsm_emulator.errors import HsmError
from hsm_emulator.primitives import aes_cmac, tdes_cmac

PADDINGS = (1, 2, 3)


def pad(data: bytes, method: int) -> bytes:
    """ISO 9797-1 padding method 0 (none: data must fill whole blocks), 1, 2 or 3."""
    if method == 0:
        if not data or len(data) % 8:
            raise HsmError("15", "data is not a multiple of the block size")
        return data
    if method == 1:
        return psec.mac.pad_iso_1(data, 8)
    if method == 2:
        return psec.mac.pad_iso_2(data, 8)
    if method == 3:
        return psec.mac.pad_iso_3(data, 8)
    raise HsmError("15", f"invalid padding method {method}")


def iso9797_mac(key: bytes, data: bytes, algorithm: int = 3, padding: int = 1) -> bytes:
    """8-byte MAC: algorithm 1 = CBC-MAC under the whole key; 3 = single-DES chain, TDES last block."""
    padded = pad(data, padding)
    if algorithm == 1:
        return psec.mac.generate_cbc_mac(key, padded, padding=1)
    if algorithm == 3:
        if len(key) != 16:
            raise HsmError("27", "ISO 9797-1 algorithm 3 needs a double-length key")
        return retail_mac(key, padded)  # psec's algorithm on cipher contexts kept per TAK (cardcrypto)
    raise HsmError("15", f"invalid MAC algorithm {algorithm}")


def cmac(key: bytes, data: bytes, length: int = 16) -> bytes:
    """CMAC (NIST SP 800-38B): AES-CMAC (RFC 4493) for 16/32-byte keys given as AES, leftmost `length` bytes."""
    return aes_cmac(key, data)[:length]


def tdes_cmac_mac(key: bytes, data: bytes, length: int = 8) -> bytes:
    """TDES-CMAC (SP 800-38B) for double/triple-length DES keys."""
    return tdes_cmac(key, data)[:length]
