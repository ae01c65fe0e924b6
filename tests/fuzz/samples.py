"""Valid inputs the fuzzers start from and mutate, so they reach past the first length check."""

from __future__ import annotations

from hypothesis import strategies as st

PURCHASE = {
    "t": "0200", "2": "4761739001010010", "3": "000000", "4": "000000001234", "7": "1126120000", "11": "000001",
    "12": "120000", "13": "1126", "14": "2512", "22": "051", "23": "001", "25": "00",
    "35": "4761739001010010=25122011234567890", "37": "633012000001", "41": "TERM0001", "42": "000000000000001",
    "49": "682", "52": "0123456789ABCDEF", "55": "9F2608AABBCCDDEEFF00119F2701809F360200019F1A020682",
}
ECHO = {"t": "0800", "7": "1126120000", "11": "000001", "70": "301"}
REVERSAL = {"t": "0420", "3": "000000", "4": "000000001234", "7": "1126120000", "11": "000002", "41": "TERM0001",
            "39": "68", "90": "020000000111261200000000000000000000000000"}
MESSAGES = (PURCHASE, ECHO, REVERSAL)


@st.composite
def mutated(draw, seeds: list[bytes]) -> bytes:
    """A seed with a few byte-level mutations: flips, truncation, insertion, deletion, splice, repeat."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.integers(0, 5))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == 0 and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == 1:
            data = data[:pos]
        elif op == 2:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == 3 and data:
            del data[pos:pos + draw(st.integers(1, 8))]
        elif op == 4 and data:
            data[pos] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80, 0x30, 0x39, 0x20, 0x3D, 0x44]))
        elif op == 5:
            data[pos:pos] = data[pos:pos + draw(st.integers(1, 16))]
    return bytes(data)


def chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    """Split data at the given cut points (sorted, deduplicated) to model TCP segmentation."""
    points = sorted({c % (len(data) + 1) for c in cuts})
    out, last = [], 0
    for p in points:
        out.append(data[last:p])
        last = p
    out.append(data[last:])
    return out
