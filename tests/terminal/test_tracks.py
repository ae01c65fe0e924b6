from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from terminal_agent.readers.tracks import (
    TRACK1,
    TRACK2,
    TrackError,
    check_track,
    from_bits,
    lrc,
    odd_parity_bit,
    parse_track1,
    parse_track2,
    to_bits,
    with_lrc,
)


def test_track2_lrc_known_value():
    # ;1234567890123445=99121010000000000000? : LRC is the XOR of the 4-bit values, SS..ES.
    body = "4761739001010010=28122011143804400000"
    rec = with_lrc(TRACK2, body)
    assert rec.startswith(";") and rec[-2] == "?"
    acc = 0
    for ch in rec[:-1]:
        acc ^= ord(ch) - 0x30
    assert rec[-1] == chr(0x30 + acc)
    assert check_track(TRACK2, rec) == body
    assert parse_track2(body).pan == "4761739001010010"


def test_track1_format_b_roundtrip():
    rec = with_lrc(TRACK1, "B4761739001010010^TEST/CARD^28122011143804400000")
    data = parse_track1(check_track(TRACK1, rec))
    assert (data.pan, data.name, data.expiry, data.service_code) == ("4761739001010010", "TEST/CARD", "2812", "201")


def test_bad_lrc_partial_and_sentinel_are_reported():
    rec = with_lrc(TRACK2, "4761739001010010=2812201")
    wrong = rec[:-1] + ("0" if rec[-1] != "0" else "1")
    with pytest.raises(TrackError) as e:
        check_track(TRACK2, wrong)
    assert e.value.kind == "lrc"
    with pytest.raises(TrackError) as e:
        check_track(TRACK2, rec[:10])
    assert e.value.kind == "partial"
    with pytest.raises(TrackError) as e:
        check_track(TRACK2, rec[:-1])        # end sentinel but no LRC
    assert e.value.kind == "partial"
    with pytest.raises(TrackError) as e:
        check_track(TRACK2, "%" + rec[1:])
    assert e.value.kind in ("sentinel", "charset")


def test_parity_is_odd():
    # 5-bit track 2: '0' = 0000 -> parity 1; ';' = 1011 -> parity 0. 7-bit track 1: '%' = 000101 -> 1.
    assert odd_parity_bit(0x0, 4) == 1
    assert odd_parity_bit(0xB, 4) == 0
    assert odd_parity_bit(0x05, 6) == 1
    assert lrc(TRACK2, ";?") == chr(0x30 + (0xB ^ 0xF))


def test_bits_decode_forward_reverse_and_parity_error():
    rec = with_lrc(TRACK2, "4761739001010010=28122011143804400000")
    bits = to_bits(TRACK2, rec)
    assert from_bits(TRACK2, bits) == rec
    assert from_bits(TRACK2, bits[::-1]) == rec          # swiped backwards
    flipped = list(bits)
    flipped[20 + 5 * 6 + 1] ^= 1                          # one bit flipped in the 7th character
    assert len(from_bits(TRACK2, flipped)) == 6           # the head stops at the parity error
    assert from_bits(TRACK2, [0] * 100) == ""


@given(st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_track2_any_digits_roundtrip(digits):
    rec = with_lrc(TRACK2, digits)
    assert from_bits(TRACK2, to_bits(TRACK2, rec)) == rec
    assert check_track(TRACK2, rec) == digits


@given(st.text(alphabet=[chr(c) for c in range(0x20, 0x60) if chr(c) not in "%?"], max_size=60))
def test_track1_any_text_roundtrip(text):
    rec = with_lrc(TRACK1, text)
    assert from_bits(TRACK1, to_bits(TRACK1, rec)) == rec
    assert check_track(TRACK1, rec) == text
