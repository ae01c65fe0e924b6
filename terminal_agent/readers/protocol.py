"""The serial card-reader protocol spoken by the serial driver and by the emulated reader device.

It follows what USB-serial magstripe and hybrid readers commonly send (ID TECH / MagTek style serial
mode), reduced to what a terminal needs:

    frame   = STX payload ETX LRC
    LRC     = XOR of every payload byte and ETX (one byte, may be any value)
    payload = printable ASCII; binary data (APDUs) travels as uppercase hex, so STX/ETX never occur inside.

A receiver answers a frame whose LRC does not match with NAK (0x15) and the sender retransmits its last
frame (up to 3 times); good frames are not acknowledged, answers are the acknowledgement.

Host -> reader:
    "R" [nn]         arm: wait up to nn seconds (default 30) for a swipe, insert or tap
    "X"              cancel an armed read
    "A" hexAPDU      send a command APDU to the inserted or tapped card
    "P"              power the card off (end of chip session)
    "V"              identify
Reader -> host:
    "S1" t1 FS "2" t2    swipe: the characters read from each track, start sentinel through LRC, exactly
                         as decoded by the head (FS = 0x1C; an empty track means nothing readable)
    "I" hexATR           chip card inserted and powered
    "T" hexATR           contactless card tapped
    "N"                  no card presented before the timeout, or read cancelled
    "A" hexRAPDU         response APDU (data and SW1 SW2)
    "E" code [text]      error: "NC" no card for an APDU, "CMD" unknown command, "BSY" already armed
    "V" text             identity
"""

from __future__ import annotations

import time
from typing import Protocol

STX, ETX, NAK, FS = 0x02, 0x03, 0x15, 0x1C
MAX_RETRANSMIT = 3


class ProtocolError(IOError):
    """The serial line misbehaved: garbled frames beyond the retransmission limit or a timeout."""


class SerialLike(Protocol):
    timeout: float | None

    def read(self, size: int = 1) -> bytes: ...

    def write(self, data: bytes) -> int | None: ...


def frame_lrc(payload: bytes) -> int:
    acc = 0
    for b in payload + bytes([ETX]):
        acc ^= b
    return acc


def encode_frame(payload: bytes) -> bytes:
    if any(b in (STX, ETX, NAK) for b in payload):
        raise ValueError("payload must not contain STX, ETX or NAK")
    return bytes([STX]) + payload + bytes([ETX, frame_lrc(payload)])


class FrameReader:
    """Reads frames from a pyserial-like port, byte by byte, with NAK on a bad frame LRC.

    `on_nak` is called when the peer NAKs our last frame, so the caller can retransmit it.
    """

    def __init__(self, port: SerialLike) -> None:
        self.port = port
        self.last_sent: bytes | None = None
        self.bad_frames = 0

    def send(self, payload: bytes) -> None:
        self.last_sent = encode_frame(payload)
        self.port.write(self.last_sent)

    def receive(self, timeout: float | None) -> bytes | None:
        """Next good frame's payload, or None when nothing complete arrived before `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        naks = 0
        buf = bytearray()
        in_frame = False
        while True:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.port.timeout = min(left, 0.2)
            else:
                self.port.timeout = 0.2
            b = self.port.read(1)
            if not b:
                continue
            c = b[0]
            if not in_frame:
                if c == STX:
                    in_frame, buf = True, bytearray()
                elif c == NAK and self.last_sent is not None:
                    naks += 1
                    if naks > MAX_RETRANSMIT:
                        raise ProtocolError("peer keeps rejecting our frames")
                    self.port.write(self.last_sent)
                continue  # bytes outside a frame are line noise
            if c == STX:  # a new frame started: the previous one was cut
                buf = bytearray()
                continue
            if c != ETX:
                buf.append(c)
                continue
            self.port.timeout = 1.0
            lrc = self.port.read(1)
            in_frame = False
            if lrc and lrc[0] == frame_lrc(bytes(buf)):
                return bytes(buf)
            self.bad_frames += 1
            if self.bad_frames > 50:
                raise ProtocolError("too many garbled frames from the peer")
            self.port.write(bytes([NAK]))
