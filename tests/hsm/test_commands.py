"""Host commands without published answers: round trips and payShield error codes."""

import pytest
from pyemv.cvn import VisaCVN10

from hsm_emulator import Hsm, pin
from hsm_emulator.primitives import des_encrypt

ZMK = "U1457FF6ADF6250C66C368416B4C9D383"  # test-suite ZMK under the test LMK
TPK = "U8463435FC4B4DAA0C49025272C29B12C"  # its clear value has KCV 070753
PAN = "4012345678909"
ACCT = pin.account_number(PAN)
CLEAR = "0123456789ABCDEFFEDCBA9876543210"


@pytest.fixture(scope="module")
def k(hsm: Hsm):
    return {t: hsm.import_clear_key(CLEAR, t)[0] for t in ("TPK", "ZPK", "PVK", "BDK", "TAK", "ZEK", "MK-AC", "CVK")}


def block(pin_: str, fmt="01", key=CLEAR):
    return des_encrypt(bytes.fromhex(key), pin.encode(pin_, fmt, ACCT)).hex().upper()


def test_a0_generate(run):
    out = run("A00002U")
    assert out.startswith("A100U") and len(out) == 4 + 33 + 6
    out = run("A01002U" + ZMK + "X")
    assert out.startswith("A100U") and out[37] == "X" and len(out) == 4 + 33 + 33 + 6


def test_a0_generate_then_export_import_round_trip(run):
    out = run("A00001U")
    zpk, kcv = out[4:37], out[37:]
    exported = run("A8001" + ZMK + zpk + "U")
    assert exported.endswith(kcv)
    imported = run("A6001" + ZMK + exported[4:37] + "U")
    assert imported == "A700" + zpk + kcv


def test_a0_ipek_from_bdk(run, k):
    out = run("A0A302U01" + k["BDK"] + "FFFF9876543210E")
    assert out[:4] == "A100"
    # X9.24-1 IPEK 6AC292FAA1315B4D858AB3A3D7D5933A, under the LMK as key type 302
    assert out[4:37] == Hsm().import_clear_key("6AC292FAA1315B4D858AB3A3D7D5933A", "302")[0]


def test_tr31_export_import(run):
    exported = run("A8002" + ZMK + TPK + "R")
    assert exported.startswith("A900RB0096P0TB00E0000") and exported.endswith("070753")
    assert run("A6002" + ZMK + exported[4:-6] + "U") == "A700" + TPK + "070753"
    # a key block whose MAC does not verify, and one of the wrong usage, are refused
    bad = exported[4:-7] + ("0" if exported[-7] != "0" else "1")
    assert run("A6002" + ZMK + bad + "U")[2:4] != "00"
    mac_block = run("A8003" + ZMK + Hsm().import_clear_key(CLEAR, "TAK")[0] + "R")
    assert run("A6001" + ZMK + mac_block[4:-6] + "U") == "A7BD"


def test_tr31_export_with_header_fields(run):
    out = run("A8001" + ZMK + "BAB32D775A38E4AB" + "R&P0E00N")
    assert out.startswith("A900RB0096P0TE00N0000") and out.endswith("73936E")


def test_hc(run):
    out = run("HC" + TPK)
    assert out[:4] == "HD00" and out[4] == "U" and out[37] == "U"
    out = run("HC" + TPK + ";XU0")
    assert out[4] == "X" and out[37] == "U"


def test_bu_variants(run):
    assert run("BUFF1" + TPK + ";002") == "BV00" + Hsm().key_check_value(TPK, "002", 16)
    assert run("BUFF1" + TPK + ";002;001") == "BV00070753"
    assert run("BU991" + TPK)[2:4] == "04"


def test_m6_m8_host(run, k):
    data = b"Now is the time for all "
    cmd = b"M6" + b"00031" + b"003" + k["TAK"].encode() + b"0018" + data
    assert run(cmd) == "M700A1C72E74"  # ISO 9797-1 Annex B algorithm 3, padding 1, 32-bit MAC
    full = run(b"M6" + b"00131" + b"003" + k["TAK"].encode() + b"0018" + data)
    assert full == "M700A1C72E74EA3FA9B6"
    assert run(b"M8" + b"00131" + b"003" + k["TAK"].encode() + b"0018" + data + b"A1C72E74EA3FA9B6") == "M900"
    assert run(b"M8" + b"00131" + b"003" + k["TAK"].encode() + b"0018" + data + b"A1C72E74EA3FA9B7") == "M901"
    hexdata = data.hex().upper().encode()
    assert run(b"M6" + b"01131" + b"003" + k["TAK"].encode() + b"0030" + hexdata) == full
    assert run(b"M6" + b"00111" + b"003" + k["TAK"].encode() + b"0018" + data)[:4] == "M700"
    assert run(b"M6" + b"00131" + b"001" + k["TAK"].encode() + b"0018" + data) == "M705"  # ZPK is no MAC key
    assert run(b"M6" + b"10131" + b"003" + k["TAK"].encode() + b"0018" + data) == "M702"


def test_m0_m2_round_trip(run, k):
    ecb = run("M0" + "00" + "11" + "00A" + k["ZEK"] + "0020" + "0123456789ABCDEF0123456789ABCDEF")
    assert ecb[:8] == "M1000020"
    assert run("M2" + "00" + "11" + "00A" + k["ZEK"] + "0020" + ecb[8:]) == "M3000020" + "0123456789ABCDEF" * 2
    cbc = run("M0" + "01" + "11" + "00A" + k["ZEK"] + "0" * 16 + "0020" + "0123456789ABCDEF0123456789ABCDEF")
    assert cbc[:4] == "M100" and cbc[4:20] == cbc[-16:]  # next IV = last cipher block
    assert cbc[24:40] == ecb[8:24] and cbc[24:40] != cbc[40:]
    dec = run("M2" + "01" + "11" + "00A" + k["ZEK"] + "0" * 16 + "0020" + cbc[24:])
    assert dec.endswith("0123456789ABCDEF" * 2)
    assert run("M0" + "00" + "11" + "00A" + k["ZEK"] + "0004" + "0123") == "M106"


def test_pin_commands_host(run, k):
    pvv = Hsm().derive_pvv(pvk=k["PVK"], pin="1234", pan=PAN)
    assert run("DC" + k["TPK"] + k["PVK"] + block("1234") + "01" + ACCT + "1" + pvv) == "DD00"
    assert run("DC" + k["TPK"] + k["PVK"] + block("1234", "47") + "47" + ACCT + "1" + pvv) == "DD00"
    assert run("DC" + k["TPK"] + k["PVK"] + block("1234", "05") + "05" + ACCT + "1" + pvv) == "DD00"
    assert run("DC" + k["TPK"] + k["PVK"] + block("1234") + "99" + ACCT + "1" + pvv) == "DD23"
    assert run("CM" + k["BDK"] + k["PVK"] + "A05" + "FFFF9876543210E00001" + "1B9C1845EB993A7A" + ACCT + "1" + pvv) == "CN00"
    out = run("G0" + k["BDK"] + k["ZPK"] + "A05" + "FFFF9876543210E00002" + "10A01C8D02C69107" + "01" + ACCT)
    assert out == "G100" + "04" + block("1234") + "01"
    dec, pvd = "0123456789012345", "4012345N"
    enc = run("BA" + "1234FFFFFFFF" + ACCT)[4:]
    off = run("DE" + k["PVK"] + enc + "04" + ACCT + dec + pvd.ljust(12, "F"))
    assert off[:4] == "DF00" and len(off) == 16
    ibm = k["PVK"] + "12" + block("1234") + "01" + "04" + ACCT + dec + pvd.ljust(12, "F") + off[4:]
    assert run("DA" + k["TPK"] + ibm) == "DB00"
    assert run("EA" + k["ZPK"] + ibm) == "EB00"
    assert run("DG" + k["PVK"] + enc + ACCT + "1") == "DH00" + pvv
    assert run("FW" + k["PVK"] + enc + ACCT + "1") == "FX00" + pvv


@pytest.mark.parametrize(("pin_field", "code"), [("041234FFFFFFFFFF", "00"), ("0F1234FFFFFFFFFF", "24"),
                                                  ("021234FFFFFFFFFF", "24"), ("04123AFFFFFFFFFF", "20")])
def test_pin_block_errors(run, k, pin_field, code):
    clear = bytes(a ^ b for a, b in zip(bytes.fromhex(pin_field), bytes.fromhex("0000" + ACCT), strict=True))
    blk = des_encrypt(bytes.fromhex(CLEAR), clear).hex().upper()
    out = run("CA" + k["TPK"] + k["ZPK"] + "12" + blk + "01" + "01" + ACCT)
    assert out[:4] == "CB" + code


def test_parity_errors(run, k):
    bad_tpk = Hsm().import_clear_key("0023456789ABCDEFFEDCBA9876543210", "TPK")[0]  # 00 has even parity
    assert run("CA" + bad_tpk + k["ZPK"] + "12" + block("1234") + "0101" + ACCT) == "CB10"
    bad_zpk = Hsm().import_clear_key("0023456789ABCDEFFEDCBA9876543210", "ZPK")[0]
    assert run("CA" + k["TPK"] + bad_zpk + "12" + block("1234") + "0101" + ACCT) == "CB11"


def test_kq_host_modes_and_binary_trailer(run, k):
    imk = bytes.fromhex(CLEAR)
    card = VisaCVN10(imk, imk, imk, "5413330089600010", "01")
    from tests.hsm.test_vectors import CVR, TAGS, TXN

    arqc = card.generate_ac(*TAGS, CVR)
    head = b"KQ" + b"%s0" + k["MK-AC"].encode() + bytes.fromhex("1333008960001001") + bytes.fromhex("0001") + bytes.fromhex("3804823E")
    body = b"%02X" % len(TXN) + TXN + b";" + arqc
    assert run((head % b"0") + body) == "KR00"
    out = run((head % b"1") + body + b"00" + b"\x19TRL")
    assert out.encode("latin-1") == b"KR00" + card.generate_arpc(arqc, b"00") + b"\x19TRL"
    out = run((head % b"2") + arqc + b"00")
    assert out.encode("latin-1") == b"KR00" + card.generate_arpc(arqc, b"00")
    assert run((head % b"0") + b"%02X" % len(TXN) + TXN + b";" + bytes(8)) == "KR01"
    assert run((head % b"7") + body) == "KR04"


def test_lmk_from_file(tmp_path):
    lines = ["; another LMK"] + [("%02X" % (i + 1)) * 16 for i in range(20)]
    path = tmp_path / "lmk.txt"
    path.write_text("\n".join(lines))
    other = Hsm(path)
    assert other.lmk.check_value != Hsm().lmk.check_value
    key = other.import_clear_key(CLEAR, "TPK")[0]
    assert key != Hsm().import_clear_key(CLEAR, "TPK")[0]
    assert other.key_check_value(key, "TPK") == "08D7B4"


@pytest.mark.parametrize("scheme", ["U", "X", "T", "Y"])
def test_key_schemes_round_trip(hsm, scheme):
    clear = CLEAR + ("89ABCDEF01234567" if scheme in "TY" else "")
    key, kcv = hsm.import_clear_key(clear, "ZPK", scheme)
    assert key[0] == scheme and len(key) == 1 + len(clear)
    assert hsm.lmk.decrypt_key(key, "001").hex().upper() == clear
    flag = "2" if scheme in "TY" else "1"
    assert hsm.execute(f"BU01{flag}{key};001".encode()).decode() == "BV00" + kcv
    # the same key under a different key type does not decrypt to the same value (key-type variants)
    assert hsm.lmk.decrypt_key(key, "002").hex().upper() != clear


def test_single_length_key(hsm):
    key, kcv = hsm.import_clear_key("0123456789ABCDEF", "ZPK")
    assert len(key) == 16 and kcv == hsm.key_check_value(key, "ZPK")


def test_field_error_codes(run, k):
    tak = k["TAK"].encode()
    assert run(b"M6" + b"00134" + b"003" + tak + b"0008" + b"12345678") == "M709"  # padding method
    assert run(b"M6" + b"00121" + b"003" + tak + b"0008" + b"12345678") == "M704"  # MAC algorithm
    assert run(b"M6" + b"09131" + b"003" + tak + b"0008" + b"12345678") == "M703"  # input format
    assert run(b"M6" + b"00131" + b"003" + tak + b"00FF" + b"12345678") == "M706"  # message length
    mk = k["MK-AC"].encode()
    assert run(b"KQ09" + mk + bytes(14) + b"01" + b"A;" + bytes(8)) == "KR05"
    assert run(b"KQ00" + mk + bytes(14) + b"00" + b";" + bytes(8)) == "KR81"


def test_a6_key_parity_is_advice_only(run):
    # a key under the ZMK whose clear value has even-parity bytes: imported, answered 01 with the key
    from hsm_emulator.keys import encrypt_under_zmk

    zmk_clear = Hsm().lmk.decrypt_key(ZMK, "000")
    under_zmk = encrypt_under_zmk(zmk_clear, bytes.fromhex("0023456789ABCDEFFEDCBA9876543210"), "U")
    out = run("A6001" + ZMK + under_zmk + "U")
    assert out[:4] == "A701" and len(out) == 4 + 33 + 6


def test_pin_under_lmk_round_trip(run, k):
    under_lmk = run("JC" + k["TPK"] + block("4711") + "01" + ACCT)
    assert under_lmk[:4] == "JD00" and len(under_lmk) == 20
    assert run("JE" + k["ZPK"] + block("4711") + "01" + ACCT) == "JF00" + under_lmk[4:]
    assert run("JG" + k["ZPK"] + "01" + ACCT + under_lmk[4:]) == "JH00" + block("4711")
