"""DUKPT on the PIN pad side: ANSI X9.24-1:2009 (TDES) and ANSI X9.24-3:2017 (AES).

A PIN pad is injected with an initial key and an initial KSN; for each transaction it advances the
transaction counter and derives that transaction's key. Real devices keep a register of future keys; deriving
the current key from the initial key over the counter's set bits gives the same keys with less state.
Counters with too many one bits are skipped as the standards require (more than 10 for TDES, more than 16
for AES), so KSNs sent on the wire are always ones a real device could send.
"""

from __future__ import annotations

from terminal_agent.crypto import aes_encrypt, tdes_encrypt, xor

# --- TDES DUKPT (X9.24-1) -----------------------------------------------------------------------------
_KEY_MASK = bytes.fromhex("C0C0C0C000000000C0C0C0C000000000")
PIN_VARIANT = bytes.fromhex("00000000000000FF00000000000000FF")
TDES_COUNTER_BITS = 21


def tdes_ipek(bdk: bytes, ksn: bytes) -> bytes:
    """Initial PIN encryption key from the BDK and the KSN (counter bits cleared)."""
    base = (int.from_bytes(ksn, "big") & ~((1 << TDES_COUNTER_BITS) - 1)).to_bytes(10, "big")[:8]
    return tdes_encrypt(bdk, base) + tdes_encrypt(xor(bdk, _KEY_MASK), base)


def _nrkgp(key: bytes, reg: bytes) -> bytes:
    """Non-reversible key generation process: one 16-byte key step over the 8-byte KSN register."""
    def half(k: bytes) -> bytes:
        left, right = k[:8], k[8:]
        return xor(_des(left, xor(reg, right)), right)

    return half(xor(key, _KEY_MASK)) + half(key)


def _des(key8: bytes, block: bytes) -> bytes:
    return tdes_encrypt(key8, block)  # single DES = 3DES with K1=K2=K3


def tdes_transaction_key(ipek: bytes, ksn: bytes) -> bytes:
    counter = int.from_bytes(ksn[-3:], "big") & ((1 << TDES_COUNTER_BITS) - 1)
    reg = bytearray(ksn[-8:])
    reg[-3] &= 0xE0
    reg[-2] = reg[-1] = 0
    key = ipek
    for bit in range(TDES_COUNTER_BITS - 1, -1, -1):
        if counter & (1 << bit):
            value = int.from_bytes(reg[-3:], "big") | (1 << bit)
            reg[-3:] = value.to_bytes(3, "big")
            key = _nrkgp(key, bytes(reg))
    return key


def tdes_pin_key(ipek: bytes, ksn: bytes) -> bytes:
    return xor(tdes_transaction_key(ipek, ksn), PIN_VARIANT)


# --- AES DUKPT (X9.24-3) ------------------------------------------------------------------------------
USAGE = {"pin": 0x1000, "derivation": 0x8000, "initial": 0x8001}
ALGORITHMS = {"2TDEA": (0x0000, 128), "AES128": (0x0002, 128), "AES192": (0x0003, 192), "AES256": (0x0004, 256)}
AES_COUNTER_BITS = 32


def _aes_kind(key: bytes) -> str:
    return {16: "AES128", 24: "AES192", 32: "AES256"}[len(key)]


def _derive(key: bytes, usage: int, algorithm: str, data8: bytes) -> bytes:
    """One NIST SP 800-108 counter-mode step with AES-ECB as PRF over X9.24-3's derivation data."""
    alg_id, bits = ALGORITHMS[algorithm]
    out = b""
    for block in range(1, (bits + 127) // 128 + 1):
        data = bytes([0x01, block]) + usage.to_bytes(2, "big") + alg_id.to_bytes(2, "big") + bits.to_bytes(2, "big")
        out += aes_encrypt(key, data + data8)
    return out[: bits // 8]


def aes_initial_key(bdk: bytes, initial_key_id: bytes) -> bytes:
    return _derive(bdk, USAGE["initial"], _aes_kind(bdk), initial_key_id)


def aes_transaction_key(initial_key: bytes, ksn: bytes) -> bytes:
    ik_id, counter = ksn[:8], int.from_bytes(ksn[8:], "big")
    key, working = initial_key, 0
    for bit in range(AES_COUNTER_BITS - 1, -1, -1):
        if counter & (1 << bit):
            working |= 1 << bit
            key = _derive(key, USAGE["derivation"], _aes_kind(initial_key), ik_id[4:] + working.to_bytes(4, "big"))
    return key


def aes_pin_key(initial_key: bytes, ksn: bytes, algorithm: str = "AES128") -> bytes:
    return _derive(aes_transaction_key(initial_key, ksn), USAGE["pin"], algorithm, ksn[4:12])


# --- counters ----------------------------------------------------------------------------------------

def next_counter(counter: int, aes: bool) -> int:
    """The next usable transaction counter after `counter` (X9.24: skip counters with too many one bits)."""
    limit, bits = (16, AES_COUNTER_BITS) if aes else (10, TDES_COUNTER_BITS)
    counter += 1
    while bin(counter).count("1") > limit:
        counter += 1
    if counter >= 1 << bits:
        raise OverflowError("DUKPT transaction counter exhausted: the PIN pad needs a new initial key")
    return counter


def ksn_with_counter(initial_ksn: bytes, counter: int, aes: bool) -> bytes:
    if aes:
        return initial_ksn[:8] + counter.to_bytes(4, "big")
    value = (int.from_bytes(initial_ksn, "big") & ~((1 << TDES_COUNTER_BITS) - 1)) | counter
    return value.to_bytes(10, "big")
