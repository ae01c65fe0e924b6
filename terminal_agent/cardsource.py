"""Where a transaction's card comes from: a reader (serial, emulated on a pty) or a fixture card handed to
the terminal directly (no reader: the card object answers the kernel's APDUs in-process)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from terminal_agent.cards import Card
from terminal_agent.emv_card import EmvCard
from terminal_agent.emv_kernel import ChipSession
from terminal_agent.messages import CardFields
from terminal_agent.readers.base import (
    CHIP,
    CONTACTLESS,
    SWIPE,
    BadRead,
    CardRead,
    CardReader,
    read_with_retry,
)
from terminal_agent.readers.emulated import EmulatedReader
from terminal_agent.readers.serial_reader import SerialCardReader
from terminal_agent.readers.tracks import TrackData

ENTRIES = ("chip", "swipe", "contactless", "manual")


class DirectReader:
    """A CardReader without hardware: the fixture card is 'presented' in the chosen way at once."""

    def __init__(self, card: Card, entry: str = "chip") -> None:
        if entry not in ENTRIES:
            raise ValueError(f"entry must be one of {', '.join(ENTRIES)}")
        self.card, self.entry = card, entry

    def read_card(self, timeout: float = 30.0) -> CardRead:
        if self.entry in ("chip", "contactless") and self.card.has_chip:
            icc = EmvCard.for_card(self.card, contactless=self.entry == "contactless")
            return CardRead(kind=CHIP if self.entry == "chip" else CONTACTLESS, atr=icc.atr, channel=icc)
        t2 = self.card.track2_body()
        track = TrackData(pan=self.card.pan, expiry=self.card.expiry, service_code=self.card.service_code,
                          discretionary=self.card.discretionary, name=self.card.name, track2=t2)
        if self.entry == "manual":
            return CardRead(kind="manual", track=track)
        return CardRead(kind=SWIPE, track=track)

    def power_off(self) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass
class OpenedReader:
    reader: CardReader
    device: EmulatedReader | None = None

    def close(self) -> None:
        self.reader.close()
        if self.device is not None:
            self.device.close()


def open_reader(spec: str | None, card: Card | None = None, entry: str = "chip", fault: str | None = None,
                baudrate: int = 9600) -> OpenedReader:
    """`spec`: None (direct fixture card), "emulated" (a pty device holding `card`), or a serial path/URL.

    With "emulated" the card is presented once (after a faulty presentation when `fault` is set, so the
    retry path runs) and the agent talks to the device through pyserial on its /dev/pts path.
    """
    if spec in (None, "", "none"):
        if card is None:
            raise ValueError("no card and no reader")
        return OpenedReader(DirectReader(card, entry))
    if spec == "emulated":
        if card is None:
            raise ValueError("the emulated reader needs a card to present (--card PAN)")
        device = EmulatedReader().start()
        mode = {"chip": "insert", "contactless": "tap"}.get(entry, "swipe")
        if mode != "swipe" and not card.has_chip:
            mode = "swipe"  # magstripe-only card: the cardholder swipes
        if fault:
            device.present(card, "swipe" if fault in ("bad_lrc", "partial", "blank", "reverse") else mode, fault)
        device.present(card, mode)
        return OpenedReader(SerialCardReader(device.path, baudrate=baudrate), device)
    return OpenedReader(SerialCardReader(spec, baudrate=baudrate))


def read_card_fields(reader: CardReader, *, amount: int, currency: str, country: str, txn_type: str,
                     terminal_type: str, capabilities: str, attempts: int = 3, timeout: float = 30.0,
                     notify: Callable[[str], None] | None = None) -> tuple[CardFields, ChipSession | None]:
    """Blocking: read the card (with retries after bad reads) and, for chip/contactless, get the ARQC."""
    read = read_with_retry(reader, attempts=attempts, timeout=timeout, notify=notify)
    if read.kind in (CHIP, CONTACTLESS):
        assert read.channel is not None
        session = ChipSession(read.channel, contactless=read.kind == CONTACTLESS)
        data = session.start(amount=amount, currency=currency, country=country, txn_type=txn_type,
                             terminal_type=terminal_type, capabilities=capabilities)
        return CardFields(entry=read.kind, pan=data.pan, expiry=data.expiry, track2=data.track2_equivalent,
                          psn=data.psn, icc=data.field55()), session
    if read.track is None:
        raise BadRead("no_card", "no card data")
    track = read.track
    if read.kind == "manual":
        return CardFields(entry="manual", pan=track.pan, expiry=track.expiry), None
    return CardFields(entry="swipe", pan=track.pan, expiry=track.expiry, track2=track.track2), None
