"""Published test vectors for the primitives under the HSM (run with -W error::DeprecationWarning)."""

import pytest
from pyemv import ac, kd
from pyemv.cvn import MasterCardCVN16, VisaCVN10

from hsm_emulator import Hsm, dukpt, pin
from hsm_emulator.keys import tr31_unwrap
from hsm_emulator.mac import iso9797_mac
from hsm_emulator.primitives import aes_cmac, des_encrypt

H = bytes.fromhex

# --- ANSI X9.24-1:2009 Annex A (TDES DUKPT): BDK 0123456789ABCDEFFEDCBA9876543210, PIN 1234, PAN 4012345678909
X924_BDK = H("0123456789ABCDEFFEDCBA9876543210")
X924_1 = [
    ("FFFF9876543210E00001", "1B9C1845EB993A7A"),
    ("FFFF9876543210E00002", "10A01C8D02C69107"),
    ("FFFF9876543210E00003", "18DC07B94797B466"),
    ("FFFF9876543210E00004", "0BC79509D5645DF7"),
    ("FFFF9876543210E00005", "5BC0AF22AD87B327"),
    ("FFFF9876543210E00006", "A16DF70AE36158D8"),
    ("FFFF9876543210E00007", "27711C16CB257F8E"),
    ("FFFF9876543210E00010", "D5D9638559EF53D6"),
    ("FFFF9876543210EFFC00", "DEFC6F09F8927B71"),
]


def test_x924_1_ipek():
    assert dukpt.tdes_ipek(X924_BDK, H("FFFF9876543210E00000")).hex().upper() == "6AC292FAA1315B4D858AB3A3D7D5933A"


@pytest.mark.parametrize(("ksn", "block"), X924_1)
def test_x924_1_pin_blocks(ksn, block):
    clear = pin.encode("1234", "01", pin.account_number("4012345678909"))
    assert des_encrypt(dukpt.tdes_pin_key(X924_BDK, ksn), clear).hex().upper() == block


# --- ANSI X9.24-3:2017 (AES DUKPT): AES-128 BDK FEDCBA9876543210F1F1F1F1F1F1F1F1, initial key ID 1234567890123456
AES_BDK = H("FEDCBA9876543210F1F1F1F1F1F1F1F1")


def test_x924_3_initial_key():
    assert dukpt.aes_initial_key(AES_BDK, H("1234567890123456")).hex().upper() == "1273671EA26AC29AFA4D1084127652A1"


@pytest.mark.parametrize(("ksn", "key"), [
    ("123456789012345600000001", "AF8CB133A78F8DC2D1359F18527593FB"),
    ("123456789012345600000002", "D30BDC73EC9714B000BEC66BDB7B6D09"),
])
def test_x924_3_pin_keys(ksn, key):
    assert dukpt.aes_working_key(AES_BDK, ksn, "pin", "AES128").hex().upper() == key


# --- ISO 9564-1 PIN blocks
def test_iso9564_format0():
    assert pin.encode("1234", "01", pin.account_number("5544332211009966")).hex().upper() == "041277CDDEEFF669"
    assert pin.decode(H("041277CDDEEFF669"), "01", pin.account_number("5544332211009966")) == "1234"


def test_iso9564_formats_1_2_3_roundtrip():
    acct = pin.account_number("5544332211009966")
    for fmt in ("05", "34", "47", "03"):
        assert pin.decode(pin.encode("98765", fmt, acct), fmt, acct) == "98765"
    assert pin.encode("1234", "34").hex().upper() == "241234FFFFFFFFFF"
    assert pin.encode("1234", "47", acct).hex().upper()[:6] == "341277"


def test_iso9564_format4():
    key = H("00112233445566778899AABBCCDDEEFF")
    assert pin.decode_iso4(key, H("E4BE5B623AF7E006AC319E5B93544564"), "1234567890123456") == "1234"
    block = pin.encode_iso4(key, "5678", "1234567890123456")
    assert pin.decode_iso4(key, block, "1234567890123456") == "5678"


def test_bad_pin_blocks_are_refused():
    from hsm_emulator import HsmError

    acct = pin.account_number("5544332211009966")
    with pytest.raises(HsmError) as exc:
        pin.decode(H("0F1277CDDEEFF669"), "01", acct)  # length F
    assert exc.value.code == "24"
    with pytest.raises(HsmError) as exc:
        pin.decode(H("141277CDDEEFF669"), "01", acct)  # control field 1 in a format 0 block
    assert exc.value.code == "20"


# --- Visa CVV and PVV, IBM 3624
def test_visa_cvv():
    from hsm_emulator.commands.cards import cvv_value

    assert cvv_value(H("0123456789ABCDEFFEDCBA9876543210"), "4123456789012345", "8701", "101") == "561"
    assert cvv_value(H("0123456789ABCDEFFEDCBA9876543210"), "1234567890123456", "9912", "220") == "170"


def test_visa_pvv():
    # PVK 0123456789ABCDEF FEDCBA9876543210, PVKI 3, PIN 4524, PAN 1122334455667788 -> 4021
    assert pin.visa_pvv(H("0123456789ABCDEFFEDCBA9876543210"), "3", "4524", pin.account_number("1122334455667788")) == "4021"


def test_ibm3624():
    pvk = H("0123456789ABCDEFFEDCBA9876543210")
    assert pin.ibm_natural_pin(pvk, "1234567890123456", "1122334455667788", 4) == "4524"
    assert pin.ibm_offset(pvk, "4524", "1234567890123456", "1122334455667788", 4) == "0000"
    assert pin.ibm_offset(pvk, "1357", "1234567890123456", "1122334455667788", 4) == "7833"
    assert pin.ibm_verify(pvk, "1357", "1234567890123456", "1122334455667788", "7833FFFFFFFF", 4)


# --- ISO/IEC 9797-1 Annex B: K = 0123456789ABCDEF, K' = FEDCBA9876543210, "Now is the time for all "
def test_iso9797_1_mac_algorithm_1_and_3():
    data = b"Now is the time for all "
    assert iso9797_mac(H("0123456789ABCDEF"), data, 1, 1).hex().upper() == "70A30640CC76DD8B"
    assert iso9797_mac(H("0123456789ABCDEFFEDCBA9876543210"), data, 3, 1).hex().upper() == "A1C72E74EA3FA9B6"


def test_iso9797_1_psec_examples():
    assert iso9797_mac(H("0123456789ABCDEFFEDCBA9876543210"), H("1234567890ABCDEF"), 1, 2).hex().upper() == "925B1737EF681AD3"


# --- RFC 4493 AES-CMAC
RFC4493_KEY = H("2b7e151628aed2a6abf7158809cf4f3c")
RFC4493_MSG = H("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411"
                "e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")


@pytest.mark.parametrize(("length", "mac"), [
    (0, "bb1d6929e95937287fa37d129b756746"),
    (16, "070a16b46b4d4144f79bdd9dd04a287c"),
    (40, "dfa66747de9ae63030ca32611497c827"),
    (64, "51f0bebf7e3b9d92fc49741779363cfe"),
])
def test_rfc4493_aes_cmac(length, mac):
    assert aes_cmac(RFC4493_KEY, RFC4493_MSG[:length]).hex() == mac


# --- EMV (pyemv's published examples, run through this HSM's cipher shim)
def test_emv_option_a_and_session_key():
    mk = H("0123456789ABCDEFFEDCBA9876543210")
    assert kd.derive_icc_mk_a(mk, "12345678901234567", "01").hex().upper() == "73AD54688CEF2934B0979857E3C719F1"
    assert kd.derive_common_sk(mk, H("001C000000000000")).hex().upper() == "E9FB384AF807B940FEDCEA613461B0C4"
    assert ac.generate_arpc_1(H("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB"), H("1234567890ABCDEF"), H("0000")).hex().upper() == "F5E6F44147E2F1B0"


# CDOL1 data in pyemv's order: 9F02 9F03 9F1A 95 5F2A 9A 9C 9F37 82 9F36, then the CVR.
TAGS = [H(x) for x in ("000000001000", "000000000000", "0124", "0000008000", "0124", "110309", "00",
                       "3804823E", "5800", "0001")]
CVR = H("03A00000")
TXN = b"".join(TAGS) + CVR


@pytest.mark.parametrize("scheme", ["visa", "mastercard"])
def test_arqc_arpc_agree_with_pyemv_card_profiles(scheme):
    """The HSM verifies what a pyemv VisaCVN10 / MasterCardCVN16 card computes, and answers its ARPC."""
    imk = H("0123456789ABCDEFFEDCBA9876543210")
    hsm = Hsm()
    mk_ac = hsm.import_clear_key(imk.hex(), "MK-AC")[0]
    pan, psn, atc, un = "5413330089600010", "01", H("0001"), H("3804823E")
    card = (VisaCVN10 if scheme == "visa" else MasterCardCVN16)(imk, imk, imk, pan, psn)
    arqc = card.generate_ac(*TAGS, CVR)
    arpc = card.generate_arpc(arqc, H("3030"))
    err, got = hsm.verify_arqc(scheme=scheme, mk_ac=mk_ac, pan=pan, psn=psn, atc=atc.hex(),
                               unpredictable_number=un.hex(), transaction_data=TXN.hex(), arqc=arqc.hex(), arc="3030")
    assert (err, got) == ("00", arpc.hex().upper())


# --- TR-31 (psec's published unwrap example, through the A6 importer's checks)
def test_tr31_unwrap_example():
    block = "B0096P0TE00N0000471D4FBE35E5865BDE20DBF4C15503161F55D681170BF8DD14D01B6822EF8550CB67C569DE8AC048"
    assert tr31_unwrap(b"\xab" * 16, block, "001") == b"\xcd" * 16
