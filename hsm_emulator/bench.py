"""CPU cost of the in-process HSM on the authorisation path: `python -m hsm_emulator.bench [-n N]`.

Measures process CPU time (not wall clock: the machine is shared) per PIN translate (TPK -> ZPK, as CA)
plus PIN verify (Visa PVV, as DC), both through the typed API with keys under the LMK; also each alone,
and the same pair through `execute` (host-command parsing included). Target: <= 50 us per translate+verify.
Also the other two card checks of a chip+PIN purchase: ARQC verification with ARPC (KQ mode 1, Visa and
M/Chip) and iCVV verification (CY), each per call.
"""

from __future__ import annotations

import argparse
import json
import time

from hsm_emulator import Hsm, pin
from hsm_emulator.emv import generate_arqc
from hsm_emulator.primitives import des_encrypt

PAN = "4761739001010010"
TPK, ZPK, PVK = "0123456789ABCDEFFEDCBA9876543210", "89B07A34A1B3F47F89B07A34A1B3F47F", "AB9DF810753BE3B3CB3D2A455EADDCDF"
CVK, IMK = "0123456789ABCDEFFEDCBA9876543210", "9E15204313F7318ACB79B90BD986AD29"
# CDOL1 data as the switch builds it (amounts, country, TVR, currency, date, type, UN, AIP, ATC, CVR): 37 bytes.
AC_DATA = "000000001000" "000000000000" "0826" "0000000000" "0826" "250101" "00" "12345678" "5800" "0001" "03A0A000"
ATC, UN = "0001", "12345678"


def _per_op_us(fn, n: int) -> float:
    for _ in range(min(200, n)):  # warm caches (key schedules, decrypted keys) as a long-running switch has
        fn()
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n * 1e6


def run(n: int = 5000) -> dict:
    hsm = Hsm()
    tpk, zpk, pvk = (hsm.import_clear_key(k, t)[0] for k, t in ((TPK, "TPK"), (ZPK, "ZPK"), (PVK, "PVK")))
    block = des_encrypt(bytes.fromhex(TPK), pin.encode("1234", "01", pin.account_number(PAN))).hex().upper()
    pvv = hsm.derive_pvv(pvk=pvk, pin="1234", pan=PAN, pvki="1")

    def translate():
        return hsm.translate_pin_tpk_to_zpk(tpk=tpk, zpk=zpk, pin_block=block, pan=PAN)

    def verify():
        return hsm.verify_pin_pvv(tpk=tpk, pvk=pvk, pin_block=block, pan=PAN, pvki="1", pvv=pvv)

    def both():
        translate()
        verify()

    acct = pin.account_number(PAN)
    ca = f"CA{tpk}{zpk}12{block}0101{acct}".encode()
    dc = f"DC{tpk}{pvk}{block}01{acct}1{pvv}".encode()
    assert verify() == "00" and translate()[0] == "00"
    assert hsm.execute(ca)[:4] == b"CB00" and hsm.execute(dc) == b"DD00"

    def both_cmd():
        hsm.execute(ca)
        hsm.execute(dc)

    return {
        "iterations": n,
        **_card_checks(hsm, n),
        "translate_plus_verify_us": round(_per_op_us(both, n), 1),
        "translate_us": round(_per_op_us(translate, n), 1),
        "verify_pvv_us": round(_per_op_us(verify, n), 1),
        "host_commands_ca_plus_dc_us": round(_per_op_us(both_cmd, n), 1),
        "target_us": 50,
    }


def _card_checks(hsm: Hsm, n: int) -> dict:
    """Per-call CPU of verify_cvv (iCVV) and verify_arqc with an ARPC for each scheme, as the switch calls them."""
    cvk = hsm.import_clear_key(CVK, "CVK")[0]
    imk = hsm.import_clear_key(IMK, "MK-AC")[0]
    cvv = hsm.generate_cvv(cvk=cvk, pan=PAN, expiry_yymm="2812", service_code="999")
    out = {}
    for scheme in ("visa", "mastercard"):
        arqc = generate_arqc(scheme, bytes.fromhex(IMK), PAN, "01", bytes.fromhex(ATC), bytes.fromhex(UN),
                             bytes.fromhex(AC_DATA)).hex()

        def check(scheme=scheme, arqc=arqc):
            return hsm.verify_arqc(scheme=scheme, mk_ac=imk, pan=PAN, psn="01", atc=ATC, unpredictable_number=UN,
                                   transaction_data=AC_DATA, arqc=arqc, arc="3030")

        assert check()[0] == "00"
        out[f"verify_arqc_arpc_{scheme}_us"] = round(_per_op_us(check, n), 1)

    def icvv():
        return hsm.verify_cvv(cvk=cvk, pan=PAN, expiry_yymm="2812", service_code="999", cvv=cvv)

    assert icvv() == "00"
    out["verify_cvv_us"] = round(_per_op_us(icvv, n), 1)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hsm_emulator.bench", description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="iterations per measurement")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.n)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k:32} {v}")
    return 0 if result["translate_plus_verify_us"] <= result["target_us"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
