"""Emulator-only host commands (not payShield codes; a real HSM answers them with an error):

ZI  import a clear test key under the LMK (test-lab key ceremony): key type (3H), LMK scheme (1A),
    length (2N, hex characters), clear key (nH) -> ZJ00 + key under LMK + KCV (6H).
ZA  AES DUKPT (X9.24-3) PIN: mode (1N: 0 = verify with Visa PVV, 1 = translate to ZPK), BDK, KSN (24H),
    PIN block length (2N: 16 = ISO-0 under the 2TDEA key, 32 = ISO-4 under the AES-128 key) + block,
    PAN length (2N) + PAN, then mode 0: PVK, PVKI (1N), PVV (4N) -> ZB00 / ZB01;
    mode 1: ZPK, destination format (2N) -> ZB00 + PIN length (2N) + PIN block (16H) + format (2N).
"""

from __future__ import annotations

from hsm_emulator import pin
from hsm_emulator.commands import Reader, command
from hsm_emulator.errors import HsmError


@command("ZI")
def zi(hsm, r: Reader) -> str:
    key_type = r.hex(3)
    scheme = r.text(1).upper()
    n = int(r.num(2))
    if n not in (16, 32, 48):
        raise HsmError("15", "clear key length")
    key, kcv = hsm.import_clear_key(r.hex(n), key_type, "" if scheme in "Z0" else scheme)
    return key + kcv


@command("ZA")
def za(hsm, r: Reader):
    mode = r.num(1)
    if mode not in "01":
        raise HsmError("15", "mode")
    bdk = r.key(32, "U")
    ksn = r.hex(24)
    block = r.hex(int(r.num(2)))
    pan = r.num(int(r.num(2)))
    p = hsm._dukpt_pin(bdk, ksn, block, pan, aes=True)
    account = pin.account_number(pan)
    if mode == "0":
        pvk = hsm.key(r.key(32, "UX"), "PVK", "11")
        pvki, pvv = r.num(1), r.num(4)
        return ("00", "") if hsm.pvv_matches(pvk, p, account, pvki, pvv) else ("01", "")
    zpk = hsm.key(r.key(16), "ZPK", "11")
    fmt = r.num(2)
    return f"{len(p):02d}{hsm.pin_to_block(zpk, p, fmt, account)}{fmt}"
