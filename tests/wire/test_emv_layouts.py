"""decode_icc's learned layouts (one regex match) must answer exactly as the careful walk over the bytes."""

import random

import pytest

from switch.wire import emv
from switch.wire.emv import TlvError, decode_icc

TAGS = ["9F26", "9F27", "9F10", "9F37", "9F36", "95", "9A", "9C", "5F2A", "82", "DF8101", "70", "00", "FF"]


def careful(text: str):
    """The walk alone, never a learned layout: {tag: value} or the TlvError message."""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return "not hex"
    try:
        return emv._walk(raw, raw.hex().upper())[0]
    except TlvError as exc:
        return str(exc)


def decoded(text: str):
    try:
        return decode_icc(text)
    except TlvError as exc:
        return "not hex" if "not hex" in str(exc) else str(exc)


def random_field(rng: random.Random) -> str:
    """A field 55 with random tags (repeats included), short and long length forms and 00/FF padding."""
    out = []
    for _ in range(rng.randint(0, 8)):
        if rng.random() < 0.2:
            out.append(rng.choice(["00", "FF"]))
        tag = rng.choice(TAGS[:-2])
        n = rng.choice([0, 1, 2, 4, 8, rng.randint(0, 300)])
        length = f"{n:02X}" if n < 0x80 and rng.random() < 0.8 else f"82{n:04X}" if n > 0xFF else f"81{n:02X}"
        out.append(tag + length + rng.randbytes(n).hex().upper())
    if rng.random() < 0.2:
        out.append("00")
    return "".join(out)


def mutate(rng: random.Random, text: str) -> str:
    if not text:
        return rng.choice(["0", "00", " "])
    i = rng.randrange(len(text))
    return rng.choice([
        text[:i] + rng.choice("0123456789ABCDEFabcdef G") + text[i + 1:],  # one character changed
        text[:i] + text[i + 1:],  # one dropped
        text[:i],  # truncated
        text.lower(),
        text[:i] + " " + text[i:],
    ])


@pytest.mark.parametrize("seed", range(8))
def test_learned_layouts_answer_as_the_walk(seed):
    rng = random.Random(seed)
    emv._LAYOUTS.clear()
    emv._SEEN.clear()
    for _ in range(150):
        field = random_field(rng)
        for _ in range(3):  # the second sighting compiles the layout, the third uses it
            assert decoded(field) == careful(field)
        again = "".join(  # the same layout with other values: must take the learned path and agree
            part if i % 2 == 0 else rng.randbytes(len(part) // 2).hex().upper()
            for i, part in enumerate(_split_values(field)))
        assert decoded(again) == careful(again)
        for _ in range(4):
            wrong = mutate(rng, field)
            assert decoded(wrong) == careful(wrong)
    assert emv._LAYOUTS  # the learned path was exercised


def _split_values(field: str) -> list[str]:
    """[header, value, header, value, ..., trailer] of a well-formed field, from the walk's layout."""
    raw = bytes.fromhex(field)
    _, layout = emv._walk(raw, field)
    parts, pos = [], 0
    for head, _tag, n in layout:
        parts.append(head)
        pos += len(head)
        if n >= 0:
            parts.append(field[pos:pos + 2 * n])
            pos += 2 * n
        else:
            parts.append("")
    return parts


def test_tables_stay_bounded():
    emv._LAYOUTS.clear()
    emv._SEEN.clear()
    for n in range(3 * emv._MAX_LAYOUTS):
        field = f"9F02{n % 100:02X}" + "00" * (n % 100) + f"9F1082{n:04X}" + "11" * n
        decode_icc(field)
        decode_icc(field)
    assert len(emv._LAYOUTS) <= emv._MAX_LAYOUTS and len(emv._SEEN) <= emv._MAX_LAYOUTS
