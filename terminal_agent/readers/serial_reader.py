"""Driver for a serial (USB-serial or RS-232) card reader speaking the protocol in protocol.py.

It opens any pyserial port or URL ("/dev/ttyUSB0", "/dev/pts/5", "socket://host:port", "rfc2217://...").
"""

from __future__ import annotations

import serial

from terminal_agent.readers.base import CHIP, CONTACTLESS, SWIPE, BadRead, CardRead, parse_swipe
from terminal_agent.readers.protocol import FrameReader, ProtocolError


class SerialCardReader:
    """A magstripe / hybrid reader on a serial port. Implements CardReader and IccChannel."""

    def __init__(self, url: str, *, baudrate: int = 9600, answer_timeout: float = 3.0) -> None:
        try:
            self.port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.2)
        except (serial.SerialException, ValueError) as exc:
            raise OSError(f"cannot open card reader {url}: {exc}") from None
        self.url = url
        self.answer_timeout = answer_timeout
        self.frames = FrameReader(self.port)

    def _ask(self, payload: bytes, expect: bytes, timeout: float | None = None) -> bytes:
        self.frames.send(payload)
        answer = self.frames.receive(self.answer_timeout if timeout is None else timeout)
        if answer is None:
            raise ProtocolError(f"card reader {self.url} did not answer")
        if answer[:1] == b"E":
            code = answer[1:].decode("ascii", "replace")
            if code.startswith("NC"):
                raise BadRead("removed", "card removed")
            raise ProtocolError(f"card reader error {code}")
        if answer[:1] != expect:
            raise ProtocolError(f"unexpected answer {answer[:1]!r} from card reader")
        return answer[1:]

    def identify(self) -> str:
        return self._ask(b"V", b"V").decode("ascii", "replace")

    def read_card(self, timeout: float = 30.0) -> CardRead:
        """Arm the reader and wait for a swipe, insert or tap. Raises BadRead for a bad or missing card."""
        secs = max(1, min(99, int(round(timeout))))
        self.frames.send(b"R%02d" % secs)
        event = self.frames.receive(timeout + self.answer_timeout)
        if event is None:
            self.frames.send(b"X")
            raise BadRead("timeout", "no card presented")
        kind, body = event[:1], event[1:]
        if kind == b"S":
            return CardRead(kind=SWIPE, track=parse_swipe(body))
        if kind in (b"I", b"T"):
            return CardRead(kind=CHIP if kind == b"I" else CONTACTLESS, atr=bytes.fromhex(body.decode()), channel=self)
        if kind == b"N":
            raise BadRead("no_card", "no card presented")
        raise ProtocolError(f"unexpected event {kind!r} from card reader")

    def transmit(self, apdu: bytes) -> bytes:
        """Send a command APDU to the card in the reader and return data + SW1 SW2."""
        return bytes.fromhex(self._ask(b"A" + apdu.hex().upper().encode(), b"A").decode())

    def power_off(self) -> None:
        try:
            self._ask(b"P", b"P")
        except (ProtocolError, BadRead):
            pass

    def close(self) -> None:
        self.port.close()
