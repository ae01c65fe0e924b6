"""The fast card-check paths (cardcrypto: EMV, CVV; pin: PVV, PIN block XOR) against pyemv and psec on
random keys, PANs and data."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import psec
import pytest
from pyemv import ac, kd, mac

from hsm_emulator import Hsm, cardcrypto, emv, pin
from hsm_emulator.mac import iso9797_mac
from hsm_emulator.primitives import des_encrypt, odd_parity

RNG = random.Random(9)
ROUNDS = 40


def _bytes(n: int) -> bytes:
    return RNG.randbytes(n)


def _digits(n: int) -> str:
    return "".join(RNG.choice("0123456789") for _ in range(n))


def _card() -> tuple[bytes, str, str]:
    return odd_parity(_bytes(16)), _digits(RNG.randint(12, 19)), _digits(2)


def _reference_arqc(scheme: str, imk: bytes, pan: str, psn: str, atc: bytes, un: bytes, data: bytes):
    """(ARQC, ARPC for ARC '00') computed by pyemv alone, as emv.py did before the fast path."""
    mk = kd.derive_icc_mk_a(imk, pan, psn)
    if scheme == "visa":
        arqc = ac.generate_ac(mk, data, ac.PaddingType.VISA)
    else:
        arqc = ac.generate_ac(kd.derive_common_sk(mk, atc + b"\x00\x00" + un), data, ac.PaddingType.EMV)
    return arqc, ac.generate_arpc_1(mk, arqc, b"00")


def test_icc_master_key_and_session_key_match_pyemv():
    for _ in range(ROUNDS):
        imk, pan, psn = _card()
        mk = cardcrypto.icc_master_key(imk, pan, psn)
        assert mk == kd.derive_icc_mk_a(imk, pan, psn)
        r = _bytes(8)
        assert cardcrypto.common_session_key(mk, r) == kd.derive_common_sk(mk, r)


@pytest.mark.parametrize("reuse", [True, False])
def test_retail_mac_matches_pyemv_and_psec(reuse):
    key = _bytes(16)  # one key for every length: the reused CBC context must restart from a zero IV each call
    for _ in range(ROUNDS):
        data = _bytes(RNG.choice([0, 1, 7, 8, 9, 16, 37, 64]))
        for method in (1, 2):
            want = mac.mac_iso9797_3(key[:8], key[8:], data, method)
            assert cardcrypto.retail_mac(key, cardcrypto.pad(data, method), reuse) == want
        padded = cardcrypto.pad(data, 1)
        assert cardcrypto.retail_mac(key, padded, reuse) == psec.mac.generate_retail_mac(key[:8], key[8:], padded, 1)
    for unpadded in (b"", b"12345", bytes(12)):
        with pytest.raises(ValueError):
            cardcrypto.retail_mac(key, unpadded, reuse)


def test_iso9797_mac_algorithm_3_matches_psec():
    key = _bytes(16)
    for _ in range(ROUNDS):
        data = _bytes(RNG.choice([0, 3, 8, 24, 61]))
        for padding in (1, 2, 3):
            want = psec.mac.generate_retail_mac(key[:8], key[8:], data, padding)
            assert iso9797_mac(key, data, 3, padding) == want
        if data and len(data) % 8 == 0:
            assert iso9797_mac(key, data, 3, 0) == psec.mac.generate_retail_mac(key[:8], key[8:], data, 1)


@pytest.mark.parametrize("scheme", ["visa", "mastercard"])
def test_arqc_and_arpc_match_pyemv(scheme):
    hsm = Hsm()
    for _ in range(ROUNDS):
        imk, pan, psn = _card()
        atc, un, data = _bytes(2), _bytes(4), _bytes(RNG.randint(0, 48))
        want_arqc, want_arpc = _reference_arqc(scheme, imk, pan, psn, atc, un, data)
        assert emv.generate_arqc(scheme, imk, pan, psn, atc, un, data) == want_arqc
        mk_ac = hsm.import_clear_key(imk.hex(), "MK-AC")[0]
        for _again in range(2):  # the second call takes the cached ICC master key and cipher contexts
            err, arpc = hsm.verify_arqc(scheme=scheme, mk_ac=mk_ac, pan=pan, psn=psn, atc=atc.hex(),
                                        unpredictable_number=un.hex(), transaction_data=data.hex(),
                                        arqc=want_arqc.hex(), arc="3030")
            assert (err, arpc) == ("00", want_arpc.hex().upper())
        wrong = bytes([want_arqc[0] ^ 1]) + want_arqc[1:]
        ok, none = emv.verify_arqc(scheme, imk, pan, psn, atc, un, data, wrong, b"00")
        assert (ok, none) == (False, None)


def test_cvv_matches_psec():
    for _ in range(ROUNDS * 5):
        cvk, pan = _bytes(16), _digits(RNG.randint(1, 19))
        expiry, sc = _digits(4), RNG.choice(["999", "000", "101", _digits(3)])
        assert cardcrypto.cvv_value(cvk, pan, expiry, sc) == psec.cvv.generate_cvv(cvk, pan, expiry, sc)


def test_fast_path_is_right_on_many_threads():
    """Cipher contexts are per thread: concurrent callers must each get the reference answer."""
    cases = []
    for _ in range(16):
        imk, pan, psn = _card()
        atc, un, data = _bytes(2), _bytes(4), _bytes(37)
        cases.append(((imk, pan, psn, atc, un, data), _reference_arqc("visa", imk, pan, psn, atc, un, data)))

    def check(case):
        args, (arqc, arpc) = case
        return all(emv.verify_arqc("visa", *args, arqc, b"00") == (True, arpc) for _ in range(50))

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(check, cases * 4))


def test_icc_key_cache_is_bounded_lru():
    cache = cardcrypto.IccKeyCache(size=3)
    cards = [_card() for _ in range(4)]
    for card in cards[:3]:
        assert cache(*card) == kd.derive_icc_mk_a(*card)
    cache(*cards[0])  # most recently used: survives the next insertion
    cache(*cards[3])
    assert len(cache) == 3
    assert set(cache._keys) == {cards[0], cards[2], cards[3]}


def test_bad_pan_and_lengths_keep_their_errors():
    hsm = Hsm()
    mk_ac = hsm.import_clear_key("9E15204313F7318ACB79B90BD986AD29", "MK-AC")[0]
    common = dict(scheme="visa", mk_ac=mk_ac, psn="01", atc="0001", unpredictable_number="12345678",
                  transaction_data="00" * 8)
    arqc = emv.generate_arqc("visa", bytes.fromhex("9E15204313F7318ACB79B90BD986AD29"), "4761739001010010", "01",
                             b"\x00\x01", bytes.fromhex("12345678"), bytes(8)).hex()
    assert hsm.verify_arqc(pan="47617390010100XX", arqc=arqc, arc="3030", **common) == ("15", None)
    assert hsm.verify_arqc(pan="4761739001010010", arqc=arqc, arc="30", **common) == ("15", None)
    assert hsm.verify_arqc(pan="4761739001010010", arqc=arqc[:-2], arc="3030", **common) == ("01", None)


def test_visa_pvv_matches_psec():
    # This key's TSP encryption (E9CCAEAFEABFFFDA) has one decimal digit: the PVV takes three letters as digits.
    cases = [(bytes.fromhex("96442C2021DC8A0DD96F47903495CB6C"), "1", "1234", "400000123456")]
    cases += [(_bytes(RNG.choice([8, 16, 24])), _digits(1), _digits(RNG.randint(4, 12)), _digits(12))
              for _ in range(ROUNDS * 5)]
    for pvk, pvki, clear, acct in cases:
        assert pin.visa_pvv(pvk, pvki, clear, acct) == psec.pin.generate_visa_pvv(pvk, pvki, clear[:4], acct[-11:] + "0")
    assert pin.visa_pvv(*cases[0]) == "9422"
    with pytest.raises(ValueError):
        pin.visa_pvv(cases[0][0], "1", "12", "400000123456")  # malformed input still gets psec's error


def test_format_0_blocks_round_trip_with_the_pan():
    for _ in range(ROUNDS):
        acct, clear = _digits(12), _digits(RNG.randint(4, 12))
        field = bytes.fromhex(f"0{len(clear):X}{clear}".ljust(16, "F"))
        block = pin.encode(clear, "01", acct)
        assert block == bytes(a ^ b for a, b in zip(field, bytes.fromhex("0000" + acct), strict=True))
        assert pin.decode(block, "01", acct) == clear


def test_partial_block_cannot_poison_a_shared_ecb_context():
    """A 9-byte input used to leave one byte in the key's cached ECB context and shift later results."""
    key, block = _bytes(16), bytes(range(8))
    want = des_encrypt(key, block)
    with pytest.raises(ValueError):
        des_encrypt(key, b"\xff" * 9)
    assert des_encrypt(key, block) == want
    hsm = Hsm()
    tpk, pvk = (hsm.import_clear_key(k, t)[0] for k, t in (("89B07A34A1B3F47F89B07A34A1B3F47F", "TPK"),
                                                             ("0123456789ABCDEFFEDCBA9876543210", "PVK")))
    block = des_encrypt(bytes.fromhex("89B07A34A1B3F47F89B07A34A1B3F47F"), pin.encode("1234", "01", "173900101001"))
    args = dict(tpk=tpk, pvk=pvk, pin_block=block.hex(), pan="4761739001010010", offset="0000FFFFFFFF",
                dec_table="0123456789012345")
    assert hsm.verify_pin_ibm(pin_validation_data="4761739001010010FF", **args) == "15"  # 9 bytes
