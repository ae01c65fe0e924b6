"""Message framing on a TCP stream: a length prefix, optionally followed by a 5-byte TPDU.

Prefixes: len2 / len4 (big-endian binary), ascii2 / ascii4 (decimal digits), bcd2 (4 BCD digits in 2 bytes).
The length counts everything after the prefix, TPDU included, as terminals send it.
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIXES = ("len2", "len4", "ascii2", "ascii4", "bcd2")
TPDU_LEN = 5
DEFAULT_MAX_FRAME = 8192


class FrameError(ValueError):
    """The stream cannot be framed (bad or oversized length): the connection must be closed."""


@dataclass(frozen=True)
class Framing:
    """How one listener or client frames messages."""

    prefix: str = "len2"
    tpdu: bool = False
    max_frame: int = DEFAULT_MAX_FRAME

    def __post_init__(self) -> None:
        if self.prefix not in PREFIXES:
            raise ValueError(f"unknown framing {self.prefix!r} (have: {', '.join(PREFIXES)})")
        limit = {"len2": 0xFFFF, "ascii2": 99, "bcd2": 9999}.get(self.prefix, 2**31)
        if not 0 < self.max_frame <= limit:
            object.__setattr__(self, "max_frame", min(max(self.max_frame, 1), limit))

    @property
    def prefix_len(self) -> int:
        return 4 if self.prefix in ("len4", "ascii4") else 2

    def encode_length(self, n: int) -> bytes:
        if n > self.max_frame:
            raise FrameError(f"frame of {n} bytes exceeds the maximum of {self.max_frame}")
        if self.prefix == "len2":
            return n.to_bytes(2, "big")
        if self.prefix == "len4":
            return n.to_bytes(4, "big")
        if self.prefix == "bcd2":
            return bytes.fromhex(f"{n:04d}")
        return f"{n:0{self.prefix_len}d}".encode()

    def decode_length(self, raw: bytes) -> int:
        if self.prefix in ("len2", "len4"):
            n = int.from_bytes(raw, "big")
        else:
            text = raw.hex() if self.prefix == "bcd2" else raw.decode("latin-1")
            if not (text.isascii() and text.isdigit()):  # str.isdigit() alone accepts superscripts
                raise FrameError(f"length prefix {raw.hex().upper()} is not {self.prefix}")
            n = int(text)
        if n > self.max_frame:
            raise FrameError(f"length {n} exceeds the maximum frame of {self.max_frame} bytes")
        if n == 0 or (self.tpdu and n <= TPDU_LEN):
            raise FrameError(f"length {n} is too short for a message")
        return n

    def frame(self, payload: bytes, tpdu: bytes | None = None) -> bytes:
        """Prefix one message (and the TPDU, when this framing carries one)."""
        if self.tpdu:
            body = (tpdu or b"\x60\x00\x00\x00\x00") + payload
        else:
            body = payload
        return self.encode_length(len(body)) + body


def answer_tpdu(tpdu: bytes) -> bytes:
    """The TPDU of an answer: same ID, source and destination addresses swapped."""
    return tpdu[:1] + tpdu[3:5] + tpdu[1:3]


class FrameReader:
    """Incremental reader: feed bytes, get complete (tpdu, payload) pairs; FrameError on a bad stream."""

    __slots__ = ("_framing", "_buf", "_need")

    def __init__(self, framing: Framing):
        self._framing = framing
        self._buf = bytearray()
        self._need = -1  # body length of the frame being read, -1 while reading the prefix

    @property
    def pending(self) -> int:
        """Bytes received but not yet part of a complete frame."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[tuple[bytes | None, bytes]]:
        framing = self._framing
        plen = framing.prefix_len
        if self._need < 0 and not self._buf and len(data) > plen:
            # The usual case, one whole frame per read: slice it out without the buffer's copies.
            need = framing.decode_length(data[:plen])
            if len(data) == plen + need:
                return [(data[plen:plen + TPDU_LEN], data[plen + TPDU_LEN:]) if framing.tpdu else (None, data[plen:])]
            self._need = need
            data = data[plen:]
        buf = self._buf
        buf += data
        frames: list[tuple[bytes | None, bytes]] = []
        while True:
            if self._need < 0:
                if len(buf) < plen:
                    return frames
                self._need = framing.decode_length(bytes(buf[:plen]))
                del buf[:plen]
            if len(buf) < self._need:
                return frames
            body = bytes(buf[: self._need])
            del buf[: self._need]
            self._need = -1
            if framing.tpdu:
                frames.append((body[:TPDU_LEN], body[TPDU_LEN:]))
            else:
                frames.append((None, body))
