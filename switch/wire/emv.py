"""EMV BER-TLV for ISO 8583 field 55: decode to {tag: value} (hex strings) and back."""

from __future__ import annotations

import json
import re
from functools import lru_cache

from switch.paths import specs_dir


class TlvError(ValueError):
    """Field 55 is not well-formed BER-TLV."""


def decode_icc(data: str | bytes) -> dict[str, str]:
    """Decode field 55 into {tag hex: value hex}, upper case, in wire order (constructed tags kept whole)."""
    if isinstance(data, str):
        known = _LAYOUTS.get(len(data))
        if known is not None:  # a layout seen before: one regex match instead of a walk over the bytes
            for pattern, tags in known:
                match = pattern.fullmatch(data)
                if match is not None:
                    return dict(zip(tags, match.groups(), strict=True))
    try:
        raw = bytes.fromhex(data) if isinstance(data, str) else bytes(data)
    except ValueError:
        raise TlvError("field 55 is not hex") from None
    text = raw.hex().upper()
    tags, layout = _walk(raw, text)
    if isinstance(data, str) and data == text:
        _learn(layout)
    return tags


def _walk(raw: bytes, text: str) -> tuple[dict[str, str], tuple[tuple[str, str, int], ...]]:
    """The careful decoder: ({tag: value}, layout). The layout lists (header text, tag, value length) of
    each object, the header text including any padding before it and a final ("", "", -1) for padding
    after the last object: everything but the values, so it holds no card data."""
    tags: dict[str, str] = {}
    layout: list[tuple[str, str, int]] = []
    i, end, pad = 0, len(raw), 0
    while i < end:
        if raw[i] in (0x00, 0xFF):  # padding between objects is allowed by EMV Book 3
            i += 1
            continue
        start = i
        i += 1
        if raw[start] & 0x1F == 0x1F:  # multi-byte tag: continue while b8 is set
            while i < end and raw[i] & 0x80:
                i += 1
            i += 1
        if i >= end:
            raise TlvError(f"truncated tag at offset {start}")
        tag = text[2 * start:2 * i]
        length = raw[i]
        i += 1
        if length & 0x80:
            n = length & 0x7F
            if n == 0 or n > 3 or i + n > end:
                raise TlvError(f"tag {tag}: bad length encoding")
            length = int.from_bytes(raw[i:i + n], "big")
            i += n
        if i + length > end:
            raise TlvError(f"tag {tag}: value of {length} bytes overruns the field")
        tags[tag] = text[2 * i:2 * (i + length)]
        layout.append((text[2 * pad:2 * i], tag, length))
        i += length
        pad = i
    if pad < end:
        layout.append((text[2 * pad:], "", -1))
    return tags, tuple(layout)


# Field 55 layouts (tags, lengths and padding: no values) seen at least twice, as compiled patterns by the
# hex text's length. A terminal sends the same few layouts all day, and matching one costs a quarter of
# the walk. A layout is compiled on its second sighting so that one-off (malformed, fuzzed) input does not
# pay for a compile; both tables stay small (cleared when full).
_LAYOUTS: dict[int, tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]] = {}
_SEEN: dict[tuple[tuple[str, str, int], ...], int] = {}
_MAX_LAYOUTS, _PER_LENGTH = 256, 4


def _learn(layout: tuple[tuple[str, str, int], ...]) -> None:
    seen = _SEEN.get(layout, 0) + 1
    if len(_SEEN) >= _MAX_LAYOUTS:
        _SEEN.clear()
    _SEEN[layout] = seen
    if seen != 2:
        return
    if len(_LAYOUTS) >= _MAX_LAYOUTS:
        _LAYOUTS.clear()
    pattern = re.compile("".join(head + (f"([0-9A-F]{{{2 * n}}})" if n >= 0 else "") for head, _, n in layout))
    tags = tuple(tag for _, tag, n in layout if n >= 0)
    length = sum(len(head) + 2 * max(n, 0) for head, _, n in layout)
    # Replaced, never changed in place: a decoder on another thread reads the old tuple or the new one.
    _LAYOUTS[length] = ((pattern, tags), *_LAYOUTS.get(length, ())[:_PER_LENGTH - 1])


def encode_icc(tags: dict[str, str]) -> str:
    """Encode {tag hex: value hex} as field 55 hex."""
    out = []
    for tag, value in tags.items():
        n = len(value) // 2
        if n < 0x80:
            length = f"{n:02X}"
        elif n < 0x100:
            length = f"81{n:02X}"
        else:
            length = f"82{n:04X}"
        out.append(f"{tag}{length}{value}")
    return "".join(out).upper()


@lru_cache(maxsize=1)
def tag_names() -> dict[str, str]:
    """EMV tag names from specs/emv_tags.json."""
    return json.loads((specs_dir() / "emv_tags.json").read_text())["tags"]
