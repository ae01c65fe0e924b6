import pytest

from switch.wire import (
    FrameError,
    FrameReader,
    Framing,
    TlvError,
    answer_tpdu,
    decode_icc,
    dump,
    encode_icc,
    load_dialect,
    mask_pan,
)

PAYLOAD = b"0800" + b"x" * 30


@pytest.mark.parametrize("prefix, expected", [
    ("len2", b"\x00\x22"), ("len4", b"\x00\x00\x00\x22"), ("ascii2", b"34"), ("ascii4", b"0034"), ("bcd2", b"\x00\x34"),
])
def test_prefixes(prefix, expected):
    framing = Framing(prefix)
    framed = framing.frame(PAYLOAD)
    assert framed == expected + PAYLOAD
    assert FrameReader(framing).feed(framed) == [(None, PAYLOAD)]


def test_reader_handles_byte_by_byte_and_several_frames():
    framing = Framing("len2")
    stream = framing.frame(b"one") + framing.frame(b"two!") + framing.frame(b"three")[:3]
    reader = FrameReader(framing)
    frames = []
    for b in stream:
        frames += reader.feed(bytes([b]))
    assert [p for _, p in frames] == [b"one", b"two!"]
    assert reader.pending == 1


def test_tpdu_round_trip_and_swap():
    framing = Framing("len2", tpdu=True)
    tpdu = bytes.fromhex("6000030000")
    framed = framing.frame(PAYLOAD, tpdu)
    assert FrameReader(framing).feed(framed) == [(tpdu, PAYLOAD)]
    assert answer_tpdu(tpdu) == bytes.fromhex("6000000003")


@pytest.mark.parametrize("prefix, bad", [
    ("len2", b"\xff\xff"), ("ascii4", b"12ab"), ("bcd2", b"\x9a\x00"), ("len2", b"\x00\x00"),
])
def test_bad_lengths(prefix, bad):
    with pytest.raises(FrameError):
        FrameReader(Framing(prefix, max_frame=4096)).feed(bad)


def test_max_frame_enforced_both_ways():
    framing = Framing("len2", max_frame=16)
    with pytest.raises(FrameError):
        framing.frame(b"x" * 17)
    with pytest.raises(FrameError):
        FrameReader(framing).feed(b"\x00\x11")


def test_icc_round_trip_with_long_lengths():
    tags = {"9F26": "AABBCCDDEEFF0011", "82": "1980", "9F10": "00" * 200, "5F2A": "0682"}
    hexdata = encode_icc(tags)
    assert "9F1081C8" in hexdata
    assert decode_icc(hexdata) == tags


@pytest.mark.parametrize("bad", ["9F2608AABB", "9F", "ZZ", "9F2683000001"])
def test_icc_errors(bad):
    with pytest.raises(TlvError):
        decode_icc(bad)


def test_mask_pan():
    assert mask_pan("4761739001010010") == "476173******0010"
    assert mask_pan("5413330089600010123") == "541333*********0123"


def test_dump_masks_card_data_by_default():
    msg = {"t": "0200", "2": "4761739001010010", "35": "4761739001010010=25122011143804400000",
           "52": "0123456789ABCDEF", "55": "5A0847617390010100109F2608AABBCCDDEEFF0011", "41": "POS00001"}
    text = dump(msg, load_dialect("ascii87").spec)
    for secret in ("4761739001010010", "2512201", "0123456789ABCDEF", "AABBCCDDEEFF0011"):
        assert secret not in text
    assert "476173******0010" in text
    assert "Application Cryptogram" in text and "Application PAN" in text
    assert "Card Acceptor Terminal ID" in text
    assert "0123456789ABCDEF" in dump(msg, mask=False)


@pytest.mark.parametrize("prefix, tpdu", [("len2", False), ("ascii4", True), ("bcd2", True)])
def test_frame_reader_any_split_gives_the_same_frames(prefix, tpdu):
    # The reader slices a read holding exactly one frame without buffering: every other split must agree.
    framing = Framing(prefix, tpdu)
    frames = [framing.frame(b"0800" + bytes([n]) * n, b"\x60\x00\x01\x00\x02" if tpdu else None) for n in (1, 7, 30)]
    stream = b"".join(frames)
    expected = FrameReader(framing).feed(stream)
    assert [len(p) for _, p in expected] == [5, 11, 34]
    for size in range(1, len(stream) + 1):
        reader = FrameReader(framing)
        got = [f for i in range(0, len(stream), size) for f in reader.feed(stream[i:i + size])]
        assert got == expected and reader.pending == 0
    for frame in frames:  # one frame per read, the usual case
        assert FrameReader(framing).feed(frame) == [expected[frames.index(frame)]]
