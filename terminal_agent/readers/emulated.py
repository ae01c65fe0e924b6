"""An emulated hybrid card reader on a real pseudo-terminal.

The device owns the master side of a pty and speaks protocol.py on it; the agent opens the slave side
(`device.path`, a /dev/pts/N path) with pyserial exactly as it would open /dev/ttyUSB0. Cards are
presented by command (swipe, insert, tap) and the stripe is really encoded to bits with parity and LRC and
decoded back by a simulated head, so the injected faults are the ones a real head produces:

    bad_lrc   the LRC character on track 2 is damaged (parity still fine): the driver must reject it
    partial   the swipe stops half-way through track 2: no end sentinel or LRC reaches the driver
    no_card   nothing is presented before the timeout: the reader reports "N"
    blank     a card with an erased stripe is swiped: both tracks empty
    reverse   the card is swiped backwards: the head still decodes it (not a fault, a check of the head)
    noise     the next frame to the host is garbled once on the line: the driver NAKs and gets it again
"""

from __future__ import annotations

import errno
import os
import queue
import select
import threading
import tty
from dataclasses import dataclass
from typing import Any

from terminal_agent.readers.protocol import FS, FrameReader
from terminal_agent.readers.tracks import TRACK1, TRACK2, from_bits, to_bits

FAULTS = ("bad_lrc", "partial", "no_card", "blank", "reverse", "noise")


@dataclass
class Presentation:
    card: Any            # terminal_agent.cards.Card (or anything with recorded_tracks() and an EMV card)
    mode: str = "swipe"  # swipe, insert, tap
    fault: str | None = None


class _MasterPort:
    """Minimal pyserial-like wrapper around the pty master fd, for FrameReader."""

    def __init__(self, fd: int, stop: threading.Event) -> None:
        self.fd, self.stop, self.timeout = fd, stop, 0.2
        self.garble_next = False

    def read(self, size: int = 1) -> bytes:
        if self.stop.is_set():
            return b""
        ready, _, _ = select.select([self.fd], [], [], self.timeout or 0)
        if not ready:
            return b""
        try:
            return os.read(self.fd, size)
        except OSError as exc:  # EIO while no process has the slave open
            if exc.errno == errno.EIO:
                return b""
            raise

    def write(self, data: bytes) -> int:
        if self.garble_next and len(data) > 3:
            self.garble_next = False
            data = data[:2] + bytes([data[2] ^ 0x01]) + data[3:]  # one flipped bit on the line
        return os.write(self.fd, data)


class EmulatedReader:
    """A virtual reader device on a pty. Use as a context manager or call start()/close()."""

    def __init__(self, *, version: str = "ACQSIM-EMU-MSR/ICC 1.0") -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo or line editing before pyserial configures the port
        self.path = os.ttyname(self.slave)
        self.version = version
        self.script: queue.Queue[Presentation] = queue.Queue()
        self._stop = threading.Event()
        self._port = _MasterPort(self.master, self._stop)
        self._frames = FrameReader(self._port)
        self._thread = threading.Thread(target=self._run, name="emulated-reader", daemon=True)
        self._icc: Any = None
        self._armed_until: float | None = None
        self.log: list[str] = []  # commands seen (codes only, no card data), for tests

    # --- control side: what the person at the counter does -------------------------------------------
    def present(self, card: Any, mode: str = "swipe", fault: str | None = None) -> None:
        """Queue a card presentation; it happens when the terminal arms the reader (or now if armed)."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {', '.join(FAULTS)}")
        if mode not in ("swipe", "insert", "tap"):
            raise ValueError("mode must be swipe, insert or tap")
        self.script.put(Presentation(card, mode, fault))

    def swipe(self, card: Any, fault: str | None = None) -> None:
        self.present(card, "swipe", fault)

    def insert(self, card: Any, fault: str | None = None) -> None:
        self.present(card, "insert", fault)

    def tap(self, card: Any, fault: str | None = None) -> None:
        self.present(card, "tap", fault)

    def start(self) -> EmulatedReader:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> EmulatedReader:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- device side ---------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                payload = self._frames.receive(0.2)
            except OSError:
                if self._stop.is_set():
                    return
                continue
            if payload is None:
                continue
            try:
                self._handle(payload)
            except OSError:
                if self._stop.is_set():
                    return

    def _handle(self, payload: bytes) -> None:
        cmd, body = payload[:1], payload[1:]
        self.log.append(cmd.decode("ascii", "replace"))
        if cmd == b"V":
            self._frames.send(b"V" + self.version.encode())
        elif cmd == b"R":
            timeout = int(body) if body.isdigit() else 30
            self._arm(timeout)
        elif cmd == b"X":
            self._frames.send(b"N")
        elif cmd == b"A":
            if self._icc is None:
                self._frames.send(b"ENC")
                return
            try:
                rapdu = self._icc.transmit(bytes.fromhex(body.decode()))
            except ValueError:
                rapdu = b"\x67\x00"  # wrong length / malformed
            self._frames.send(b"A" + rapdu.hex().upper().encode())
        elif cmd == b"P":
            self._icc = None
            self._frames.send(b"P")
        else:
            self._frames.send(b"ECMD")

    def _arm(self, timeout: int) -> None:
        # Wait for the next scripted presentation, in small steps so close() stays quick.
        waited = 0.0
        while True:
            try:
                pres = self.script.get(timeout=0.1)
                break
            except queue.Empty:
                waited += 0.1
                if self._stop.is_set():
                    return
                if waited >= timeout:
                    self._frames.send(b"N")
                    return
        if pres.fault == "noise":
            self._port.garble_next = True
        if pres.fault == "no_card":
            self._frames.send(b"N")
            return
        if pres.mode == "swipe":
            self._frames.send(b"S" + self._read_stripe(pres.card, pres.fault))
            return
        from terminal_agent.emv_card import EmvCard

        self._icc = EmvCard.for_card(pres.card, contactless=pres.mode == "tap")
        event = b"I" if pres.mode == "insert" else b"T"
        self._frames.send(event + self._icc.atr.hex().upper().encode())

    @staticmethod
    def _read_stripe(card: Any, fault: str | None) -> bytes:
        """What the head decodes when `card` is swiped: each track recorded to bits and read back."""
        if fault == "blank":
            return b"1" + bytes([FS]) + b"2"
        t1, t2 = card.recorded_tracks()
        if fault == "bad_lrc":
            # Damage the LRC: another valid character of the set, so parity stays good.
            t2 = t2[:-1] + chr(((ord(t2[-1]) - TRACK2.offset) ^ 0x05) + TRACK2.offset)
        bits1, bits2 = to_bits(TRACK1, t1), to_bits(TRACK2, t2)
        if fault == "partial":
            bits2 = bits2[: len(bits2) // 2]  # the card left the head half-way through track 2
        if fault == "reverse":
            bits1, bits2 = bits1[::-1], bits2[::-1]
        read1, read2 = from_bits(TRACK1, bits1), from_bits(TRACK2, bits2)
        return b"1" + read1.encode("ascii") + bytes([FS]) + b"2" + read2.encode("ascii")
