"""PIN pad: ISO-0 under the TPK (key change), TDES and AES DUKPT against the published X9.24 vectors."""

from __future__ import annotations

import pytest
from psec import pinblock

from terminal_agent import dukpt
from terminal_agent.crypto import tdes_decrypt
from terminal_agent.pinpad import PinPad, PinPadError, wrap_key_for_terminal

BDK = "0123456789ABCDEFFEDCBA9876543210"
AES_BDK = "FEDCBA9876543210F1F1F1F1F1F1F1F1"


def test_tdes_dukpt_x9_24_1_vectors():
    ksn = bytes.fromhex("FFFF9876543210E00000")
    ipek = dukpt.tdes_ipek(bytes.fromhex(BDK), ksn)
    assert ipek.hex().upper() == "6AC292FAA1315B4D858AB3A3D7D5933A"
    pad = PinPad(mode="dukpt", bdk=BDK, initial_ksn="FFFF9876543210E00000", ksn_field_size=20)
    # PIN 1234, PAN 4012345678909: ANSI X9.24-1 annex A, counters 1, 2, 3
    got = [pad.pin_block("1234", "4012345678909").fields for _ in range(3)]
    assert [g["52"] for g in got] == ["1B9C1845EB993A7A", "10A01C8D02C69107", "18DC07B94797B466"]
    assert [g["53"] for g in got] == ["FFFF9876543210E00001", "FFFF9876543210E00002", "FFFF9876543210E00003"]


def test_tdes_dukpt_ksn_in_16_digit_field_53():
    state: dict = {}
    pad = PinPad(mode="dukpt", bdk=BDK, state=state)
    f = pad.pin_block("1234", "4012345678909").fields
    assert f["53"] == "9876543210E00001" and f["52"] == "1B9C1845EB993A7A"
    assert state["dukpt_counter"] == 1
    # a restarted PIN pad with the saved state carries on from the next counter
    again = PinPad(mode="dukpt", bdk=BDK, state=state).pin_block("1234", "4012345678909").fields
    assert again["53"] == "9876543210E00002"


def test_aes_dukpt_x9_24_3_vectors():
    ik = dukpt.aes_initial_key(bytes.fromhex(AES_BDK), bytes.fromhex("1234567890123456"))
    assert ik.hex().upper() == "1273671EA26AC29AFA4D1084127652A1"
    ksn1 = bytes.fromhex("123456789012345600000001")
    assert dukpt.aes_pin_key(ik, ksn1).hex().upper() == "AF8CB133A78F8DC2D1359F18527593FB"
    ksn2 = bytes.fromhex("123456789012345600000002")
    assert dukpt.aes_pin_key(ik, ksn2).hex().upper() == "D30BDC73EC9714B000BEC66BDB7B6D09"


def test_aes_dukpt_pin_block_decrypts_under_the_host_derived_key():
    pad = PinPad(mode="dukpt-aes", bdk=AES_BDK)
    f = pad.pin_block("4321", "4761739001010010").fields
    assert f["62"] == "123456789012345600000001" and "53" not in f
    ik = dukpt.aes_initial_key(bytes.fromhex(AES_BDK), bytes.fromhex(f["62"])[:8])
    key = dukpt.aes_pin_key(ik, bytes.fromhex(f["62"]), "2TDEA")
    clear = tdes_decrypt(key, bytes.fromhex(f["52"]))
    assert pinblock.decode_pinblock_iso_0(clear, "4761739001010010") == "4321"


def test_counter_skips_values_with_too_many_one_bits():
    assert dukpt.next_counter(0b1111111111 - 1, aes=False) == 0b1111111111       # 10 ones allowed
    assert dukpt.next_counter(0b1111111111, aes=False) == 0b10000000000           # 11 ones skipped


def test_key_change_installs_tpk_and_iso0_block():
    tmk, tpk = "07705ED91575BA51899D3D7FDFC2BCAD", "9464DF9DCE8AA82F38E9627FA8F8FD9B"
    state: dict = {}
    pad = PinPad(tmk=tmk, state=state)
    with pytest.raises(PinPadError):
        pad.pin_block("1234", "4761739001010010")
    field48 = wrap_key_for_terminal(tmk, tpk)
    assert pad.load_working_key(field48) == field48[32:]
    assert tpk not in str(state)                        # only the cryptogram is kept
    block = pad.pin_block("1234", "4761739001010010").fields["52"]
    clear = tdes_decrypt(bytes.fromhex(tpk), bytes.fromhex(block))
    assert pinblock.decode_pinblock_iso_0(clear, "4761739001010010") == "1234"
    # restart: the TPK comes back from its cryptogram under the TMK
    assert PinPad(tmk=tmk, state=state).pin_block("1234", "4761739001010010").fields["52"] == block
    with pytest.raises(PinPadError):
        pad.load_working_key(field48[:32] + "000000")    # wrong KCV is refused
