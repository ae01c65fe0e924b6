"""Host-command registry and the field reader every command parser uses.

A handler takes the Hsm and a Reader positioned after the 2-character command code and returns the response
body after the error code (bytes or str); it raises HsmError to answer with an error code instead.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import TYPE_CHECKING

from hsm_emulator.errors import HsmError, digits

if TYPE_CHECKING:  # pragma: no cover
    from hsm_emulator.hsm import Hsm

Handler = Callable[["Hsm", "Reader"], "bytes | str"]
COMMANDS: dict[str, Handler] = {}

_HEX = set(string.hexdigits)
_SCHEME_LEN = {"U": 32, "X": 32, "T": 48, "Y": 48, "Z": 16}
TRAILER_DELIMITER = 0x19


def command(code: str) -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        COMMANDS[code] = fn
        return fn

    return deco


def response_code(code: str) -> str:
    """Command code with its second character incremented (CA -> CB, NC -> ND)."""
    if len(code) != 2 or not (code.isascii() and code.isalnum()):
        return "ZZ"
    return code[0] + chr(ord(code[1]) + 1)


class Reader:
    """Sequential field reader over a command body; any malformed field raises HsmError('15')."""

    __slots__ = ("data", "pos", "end")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        # A trailer starts at the last X'19'; binary fields may hold X'19' too, so commands with binary
        # fields read to `end` only after checking their own lengths (see split_trailer).
        self.end = len(data)

    def remaining(self) -> int:
        return self.end - self.pos

    def peek(self, n: int = 1) -> str:
        return self.data[self.pos : self.pos + n].decode("latin-1")

    def raw(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise HsmError("15", "message too short")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def text(self, n: int) -> str:
        return self.raw(n).decode("latin-1")

    def num(self, n: int) -> str:
        s = self.text(n)
        if not digits(s):
            raise HsmError("15", "numeric field expected")
        return s

    def hex(self, n: int) -> str:
        s = self.text(n)
        if not set(s) <= _HEX:
            raise HsmError("15", "hex field expected")
        return s.upper()

    def key(self, bare_len: int = 16, allowed: str = "UTXYZ") -> str:
        """Key field: scheme tag + hex (U/X 32, T/Y 48, Z 16) or `bare_len` hex characters."""
        tag = self.peek()
        if tag in _SCHEME_LEN:
            if tag not in allowed:
                raise HsmError("26", "key scheme not allowed here")
            self.pos += 1
            return tag + self.hex(_SCHEME_LEN[tag])
        return self.hex(bare_len)

    def until(self, delim: str, max_len: int = 999) -> str:
        idx = self.data.find(delim.encode(), self.pos, self.end)
        if idx < 0 or idx - self.pos > max_len:
            raise HsmError("15", f"delimiter {delim!r} missing")
        out = self.data[self.pos : idx].decode("latin-1")
        self.pos = idx + 1
        return out

    def optional(self, delim: str) -> bool:
        """Consume `delim` if it is next (optional trailing field groups)."""
        if self.peek(len(delim)) == delim:
            self.pos += len(delim)
            return True
        return False

    def at_end(self) -> bool:
        return self.pos >= self.end


# Handlers register themselves on import.
import hsm_emulator.commands.admin  # noqa: E402,F401
import hsm_emulator.commands.cards  # noqa: E402,F401
import hsm_emulator.commands.data  # noqa: E402,F401
import hsm_emulator.commands.emulator  # noqa: E402,F401
import hsm_emulator.commands.keys  # noqa: E402,F401
import hsm_emulator.commands.pins  # noqa: E402,F401
