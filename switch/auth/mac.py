"""The bytes a terminal MACs: the encoded message up to (not including) the MAC field itself."""

from __future__ import annotations

from functools import lru_cache

from switch.wire import load_dialect


@lru_cache(maxsize=16)
def _dialect(name: str):
    return load_dialect(name)


def mac_input(msg: dict[str, str], dialect: str, field: str = "64") -> bytes:
    """Re-encode `msg` in the listener's dialect and cut off the MAC field (always the message's last).

    pyiso8583 encodes deterministically, so re-encoding the decoded request gives the terminal's bytes.
    The MAC field is fixed length: its size on the wire is the dialect's max_len (bytes either way).
    """
    d = _dialect(dialect)
    return d.encode(msg)[: -int(d.spec[field]["max_len"])]


def mac_field(dialect: str) -> int:
    """Wire size of the MAC field (16 ASCII hex characters or 8 binary bytes)."""
    return int(_dialect(dialect).spec["64"]["max_len"])
