"""What a MAC covers: the encoded message without the MAC field's own bytes.

With only a primary bitmap, field 64 is the last field and this is "everything before the MAC" (the usual
retail MAC rule). A message with a secondary bitmap (0220/0400 carry field 90) has fields after 64, so they
are MACed too: the MAC covers every byte of the message except itself. Terminal and switch share this.
"""

from __future__ import annotations

from switch.wire.dialect import Dialect, load_dialect


def mac_input(msg: dict[str, str], dialect: str | Dialect, field: str = "64") -> bytes:
    """Encode `msg` (encoding is deterministic, so these are the terminal's bytes) and cut out the MAC
    field, found by encoding it with two different fillers."""
    d = load_dialect(dialect) if isinstance(dialect, str) else dialect
    width = len(msg.get(field) or "0" * 16)
    a = d.encode({**msg, field: "0" * width})
    b = d.encode({**msg, field: "F" * width})
    size = int(d.spec[field]["max_len"])
    offset = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
    return a[:offset] + a[offset + size:]
