"""Fuzz the wire layer (issue 10): the frame reader with every prefix and TPDU, every dialect's decoder and
EMV TLV decoding. Contract: only the documented error escapes (FrameError, MessageError, TlvError)."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from switch.wire import (
    PREFIXES,
    FrameError,
    FrameReader,
    Framing,
    MessageError,
    TlvError,
    decode_icc,
    encode_icc,
    load_dialect,
)
from tests.fuzz.conftest import fuzz_settings
from tests.fuzz.samples import MESSAGES, chunks, mutated

DIALECTS = ("ascii87", "binary87", "bcd87", "ebcdic87")
FRAMINGS = [(p, t) for p in PREFIXES for t in (False, True)]


@pytest.mark.parametrize(("prefix", "tpdu"), FRAMINGS)
@fuzz_settings(150)
@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 600), max_size=6),
       max_frame=st.sampled_from([16, 99, 512, 8192]))
@example(data=b"0\xb2", cuts=[], max_frame=16)
def test_frame_reader_garbage(prefix, tpdu, data, cuts, max_frame):
    framing = Framing(prefix, tpdu=tpdu, max_frame=max_frame)
    reader = FrameReader(framing)
    try:
        for part in chunks(data, cuts):
            for got_tpdu, payload in reader.feed(part):
                assert (got_tpdu is not None) == tpdu
                assert len(payload) + (5 if tpdu else 0) <= framing.max_frame
            # Memory stays bounded: never more than one prefix and one frame's body buffered.
            assert reader.pending <= framing.prefix_len + framing.max_frame
    except FrameError:
        pass


@pytest.mark.parametrize("prefix", ["ascii2", "ascii4"])
def test_unicode_digit_length_prefix(prefix):
    """Regression for a fuzz find (fixed in c66556a): superscript digits passed str.isdigit(), then int()
    raised ValueError instead of FrameError."""
    for bad in (b"0\xb2", b"\xb9\xb3", b"00\xb20", b"\xb30"):  # superscript digits
        with pytest.raises(FrameError):
            FrameReader(Framing(prefix)).feed(bad + b"0" * 8)


@pytest.mark.parametrize(("prefix", "tpdu"), FRAMINGS)
@fuzz_settings(40)
@given(payloads=st.lists(st.binary(min_size=1, max_size=90), min_size=1, max_size=5),
       cuts=st.lists(st.integers(0, 500), max_size=8))
def test_frame_reader_round_trip(prefix, tpdu, payloads, cuts):
    framing = Framing(prefix, tpdu=tpdu, max_frame=99)
    stream = b"".join(framing.frame(p, b"\x60\x00\x01\x00\x02" if tpdu else None) for p in payloads)
    reader = FrameReader(framing)
    got = [payload for part in chunks(stream, cuts) for _, payload in reader.feed(part)]
    assert got == payloads
    assert reader.pending == 0


@pytest.mark.parametrize("name", DIALECTS)
@fuzz_settings(400)
@given(data=st.data())
def test_decoder(name, data):
    dialect = load_dialect(name)
    seeds = [dialect.encode(m) for m in MESSAGES]
    raw = data.draw(st.one_of(st.binary(max_size=300), mutated(seeds)))
    try:
        msg = dialect.decode(raw)
    except MessageError as exc:
        assert exc.mti is None or (len(exc.mti) == 4 and exc.mti.isdigit())
        assert all(isinstance(v, str) for v in exc.partial.values())
        return
    assert isinstance(msg.get("t"), str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in msg.items())
    dialect.peek_mti(raw)


@fuzz_settings(1000)
@given(value=st.one_of(st.binary(max_size=200), st.text(max_size=200),
                       st.text(alphabet="0123456789ABCDEF", max_size=200),
                       mutated([bytes.fromhex(m["55"]) for m in MESSAGES if "55" in m] + [bytes.fromhex(
                           "9F6B134761739001010010D25122011234567899999F5F3401009F10120110A00003220000000000000000000000FF")])))
def test_decode_icc(value):
    try:
        tags = decode_icc(value)
    except TlvError:
        return
    assert all(isinstance(t, str) and isinstance(v, str) for t, v in tags.items())


_TAG = st.one_of(st.sampled_from(["9F26", "9F27", "9F10", "9F37", "9F36", "95", "9A", "9C", "5F2A", "82", "DF8101"]))


@fuzz_settings(300)
@given(tags=st.dictionaries(_TAG, st.binary(max_size=300).map(lambda b: b.hex().upper()), max_size=8))
def test_icc_round_trip(tags):
    assert decode_icc(encode_icc(tags)) == tags
