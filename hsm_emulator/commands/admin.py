"""NC (diagnostics) and B2 (echo)."""

from __future__ import annotations

from hsm_emulator.commands import Reader, command
from hsm_emulator.errors import HsmError


@command("NC")
def nc(hsm, r: Reader) -> str:
    """ND00 + LMK check value (16H) + firmware number (9A, xxxx-xxxx)."""
    return hsm.lmk.check_value + hsm.firmware


@command("B2")
def b2(hsm, r: Reader) -> bytes:
    """Echo: 4H length + data, answered with the data; length longer than the data -> 80, shorter -> 15."""
    n = int(r.hex(4), 16)
    available = r.end - r.pos
    if n > available:
        raise HsmError("80", "data length error")
    data = r.raw(n)
    if r.pos < r.end and r.data[r.pos] != 0x19:
        raise HsmError("15", "data longer than its length")
    return data
