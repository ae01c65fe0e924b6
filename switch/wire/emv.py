"""EMV BER-TLV for ISO 8583 field 55: decode to {tag: value} (hex strings) and back."""

from __future__ import annotations

import json
from functools import lru_cache

from switch.paths import specs_dir


class TlvError(ValueError):
    """Field 55 is not well-formed BER-TLV."""


def decode_icc(data: str | bytes) -> dict[str, str]:
    """Decode field 55 into {tag hex: value hex}, upper case, in wire order (constructed tags kept whole)."""
    try:
        raw = bytes.fromhex(data) if isinstance(data, str) else bytes(data)
    except ValueError:
        raise TlvError("field 55 is not hex") from None
    tags: dict[str, str] = {}
    i, end = 0, len(raw)
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
        tag = raw[start:i].hex().upper()
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
        tags[tag] = raw[i:i + length].hex().upper()
        i += length
    return tags


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
