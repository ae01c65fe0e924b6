"""The typed in-process API the authorisation pipeline codes against."""

import pytest

from hsm_emulator import AuditRecord, Hsm, HsmError, pin
from hsm_emulator.emv import generate_arqc
from hsm_emulator.primitives import des_encrypt

PAN = "4012345678909"
TPK_CLEAR = "0123456789ABCDEFFEDCBA9876543210"
PVK_CLEAR = "0123456789ABCDEFFEDCBA9876543210"
BDK_CLEAR = "0123456789ABCDEFFEDCBA9876543210"


@pytest.fixture(scope="module")
def keys(hsm: Hsm):
    return {
        "tpk": hsm.import_clear_key(TPK_CLEAR, "TPK")[0],
        "zpk": hsm.import_clear_key("89B07A34A1B3F47F89B07A34A1B3F47F", "ZPK")[0],
        "pvk": hsm.import_clear_key(PVK_CLEAR, "PVK")[0],
        "bdk": hsm.import_clear_key(BDK_CLEAR, "BDK")[0],
        "cvk": hsm.import_clear_key("0123456789ABCDEFFEDCBA9876543210", "CVK")[0],
        "tak": hsm.import_clear_key("0123456789ABCDEFFEDCBA9876543210", "TAK")[0],
        "mk_ac": hsm.import_clear_key("0123456789ABCDEFFEDCBA9876543210", "MK-AC")[0],
    }


def _block(pin_: str, key_hex: str = TPK_CLEAR, fmt: str = "01") -> str:
    return des_encrypt(bytes.fromhex(key_hex), pin.encode(pin_, fmt, pin.account_number(PAN))).hex().upper()


def test_import_clear_key_returns_key_and_kcv(hsm):
    key, kcv = hsm.import_clear_key(TPK_CLEAR, "TPK")
    assert key.startswith("U") and len(key) == 33
    assert kcv == "08D7B4"  # KCV of 0123456789ABCDEF FEDCBA9876543210
    assert hsm.key_check_value(key, "TPK") == "08D7B4"


def test_verify_pin_pvv(hsm, keys):
    pvv = hsm.derive_pvv(pvk=keys["pvk"], pin="1234", pan=PAN, pvki="1")
    ok = hsm.verify_pin_pvv(tpk=keys["tpk"], pvk=keys["pvk"], pin_block=_block("1234"), pan=PAN, pvki="1", pvv=pvv)
    assert ok == "00"
    bad = hsm.verify_pin_pvv(tpk=keys["tpk"], pvk=keys["pvk"], pin_block=_block("9999"), pan=PAN, pvki="1", pvv=pvv)
    assert bad == "01"
    assert hsm.verify_pin_pvv(tpk=keys["tpk"], pvk=keys["pvk"], pin_block="ZZ", pan=PAN, pvki="1", pvv=pvv) == "15"
    assert hsm.verify_pin_pvv(tpk=keys["tpk"], pvk=keys["pvk"], pin_block=_block("1234"), pin_block_format="99",
                              pan=PAN, pvki="1", pvv=pvv) == "23"


def test_verify_pin_pvv_zpk(hsm, keys):
    pvv = hsm.derive_pvv(pvk=keys["pvk"], pin="4321", pan=PAN, pvki="1")
    block = _block("4321", "89B07A34A1B3F47F89B07A34A1B3F47F")
    assert hsm.verify_pin_pvv(zpk=keys["zpk"], pvk=keys["pvk"], pin_block=block, pan=PAN, pvki="1", pvv=pvv) == "00"


def test_verify_pin_ibm(hsm, keys):
    dec = "0123456789012345"
    off = hsm.ibm_offset(pvk=keys["pvk"], pin="2468", pan=PAN, dec_table=dec, pin_validation_data="4012345N")
    kw = dict(tpk=keys["tpk"], pvk=keys["pvk"], pan=PAN, offset=off, dec_table=dec,
              pin_validation_data="4012345N", check_length=4)
    assert hsm.verify_pin_ibm(pin_block=_block("2468"), **kw) == "00"
    assert hsm.verify_pin_ibm(pin_block=_block("2469"), **kw) == "01"


def test_verify_dukpt_pin_pvv_tdes(hsm, keys):
    pvv = hsm.derive_pvv(pvk=keys["pvk"], pin="1234", pan=PAN, pvki="1")
    # X9.24-1 test vector: BDK 0123...3210, KSN FFFF9876543210E00001, PIN 1234, PAN 4012345678909
    kw = dict(bdk=keys["bdk"], pan=PAN, pvk=keys["pvk"], pvki="1", pvv=pvv)
    assert hsm.verify_dukpt_pin_pvv(ksn="FFFF9876543210E00001", pin_block="1B9C1845EB993A7A", **kw) == "00"
    assert hsm.verify_dukpt_pin_pvv(ksn="FFFF9876543210E00002", pin_block="10A01C8D02C69107", **kw) == "00"
    assert hsm.verify_dukpt_pin_pvv(ksn="FFFF9876543210E00002", pin_block="1B9C1845EB993A7A", **kw) in ("01", "20", "24")


def test_verify_dukpt_pin_pvv_aes(hsm, keys):
    from hsm_emulator import dukpt

    bdk_clear = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")
    bdk = hsm.import_clear_key(bdk_clear.hex(), "BDK")[0]
    clear = hsm.lmk.decrypt_key(bdk, "BDK")  # parity-adjusted as the HSM stores it
    ksn = "123456789012345600000001"
    block = pin.encode_iso4(dukpt.aes_working_key(clear, ksn, "pin"), "1234", PAN).hex().upper()
    pvv = hsm.derive_pvv(pvk=keys["pvk"], pin="1234", pan=PAN, pvki="1")
    assert hsm.verify_dukpt_pin_pvv(bdk=bdk, ksn=ksn, pin_block=block, pan=PAN, pvk=keys["pvk"], pvki="1",
                                    pvv=pvv, aes=True) == "00"


def test_translate_pin(hsm, keys):
    err, block = hsm.translate_pin_tpk_to_zpk(tpk=keys["tpk"], zpk=keys["zpk"], pin_block=_block("1234"), pan=PAN)
    assert err == "00" and block == _block("1234", "89B07A34A1B3F47F89B07A34A1B3F47F")
    err, block = hsm.translate_dukpt_pin(bdk=keys["bdk"], zpk=keys["zpk"], ksn="FFFF9876543210E00001",
                                         pin_block="1B9C1845EB993A7A", pan=PAN)
    assert err == "00" and block == _block("1234", "89B07A34A1B3F47F89B07A34A1B3F47F")


def test_verify_cvv(hsm, keys):
    # Visa CVV published example (CVK A/B 0123456789ABCDEF/FEDCBA9876543210): PAN 4123456789012345,
    # expiry 8701, service code 101 -> CVV 561.
    kw = dict(cvk=keys["cvk"], pan="4123456789012345", expiry_yymm="8701", service_code="101")
    assert hsm.generate_cvv(**kw) == "561"
    assert hsm.verify_cvv(cvv="561", **kw) == "00"
    assert hsm.verify_cvv(cvv="562", **kw) == "01"


@pytest.mark.parametrize("scheme", ["visa", "mastercard"])
def test_verify_arqc(hsm, keys, scheme):
    imk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    data = bytes.fromhex("000000001000000000000000012400000080000124110309003804823E58000001")
    arqc = generate_arqc(scheme, imk, "4012345678909", "01", bytes.fromhex("0001"), bytes.fromhex("3804823E"), data)
    kw = dict(scheme=scheme, mk_ac=keys["mk_ac"], pan="4012345678909", psn="01", atc="0001",
              unpredictable_number="3804823E", transaction_data=data.hex())
    err, arpc = hsm.verify_arqc(arqc=arqc.hex(), arc="3030", **kw)
    assert err == "00" and len(arpc) == 16
    err, arpc = hsm.verify_arqc(arqc="0000000000000000", arc="3030", **kw)
    assert err == "01" and arpc is None


def test_mac(hsm, keys):
    mac = hsm.generate_mac(tak=keys["tak"], data=b"Now is the time for all ")
    assert len(mac) == 16
    assert hsm.verify_mac(tak=keys["tak"], data=b"Now is the time for all ", mac=mac) == "00"
    assert hsm.verify_mac(tak=keys["tak"], data=b"Now is the time for all!", mac=mac) == "01"


def test_typed_methods_are_audited_without_secrets(hsm, keys):
    hsm.verify_cvv(cvk=keys["cvk"], pan="4123456789012345", expiry_yymm="8701", service_code="101", cvv="561")
    rec = hsm.audit[-1]
    assert rec.code == "CY" and rec.error == "00" and rec.caller == "in-process"
    assert rec._fields == ("time", "code", "error", "duration_us", "caller")
    assert "4123456789012345" not in repr(rec)
    assert isinstance(rec, AuditRecord) and isinstance(rec.duration_us, int)


def test_audit_ring_off_records_nothing():
    hsm = Hsm(audit_size=0)
    cvk = hsm.import_clear_key("0123456789ABCDEFFEDCBA9876543210", "CVK")[0]
    assert hsm.verify_cvv(cvk=cvk, pan="4123456789012345", expiry_yymm="8701", service_code="101", cvv="561") == "00"
    assert len(hsm.audit) == 0


def test_bad_key_type():
    with pytest.raises(HsmError):
        Hsm().import_clear_key(TPK_CLEAR, "NOPE")


def test_aes_cmac(hsm):
    key = hsm.import_clear_key("2B7E151628AED2A6ABF7158809CF4F3C", "TAK")[0]  # RFC 4493 key
    msg = bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")
    assert hsm.generate_cmac(key=key, data=msg) == "070A16B46B4D4144F79BDD9DD04A287C"
    assert hsm.verify_cmac(key=key, data=msg, mac="070A16B46B4D4144") == "00"
    assert hsm.verify_cmac(key=key, data=msg + b"x", mac="070A16B46B4D4144") == "01"


def test_malformed_arguments_answer_15_not_raise(hsm, keys):
    assert hsm.verify_cvv(cvk=keys["cvk"], pan="41234567890123X5", expiry_yymm="8701", service_code="101", cvv="561") == "15"
    assert hsm.verify_pin_pvv(tpk=keys["tpk"], pvk=keys["pvk"], pin_block=_block("1234"), pan="12", pvki="1", pvv="1234") == "15"
    assert hsm.verify_arqc(scheme="amex", mk_ac=keys["mk_ac"], pan=PAN, psn="01", atc="0001", unpredictable_number="00000000",
                           transaction_data="00", arqc="00" * 8, arc="3030") == ("15", None)
    assert hsm.verify_mac(tak="U" + "G" * 32, data=b"x", mac="00" * 8) == "15"
