"""One interface for every card reader: a read gives a swipe (tracks) or a chip/contactless session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from terminal_agent.readers.protocol import FS
from terminal_agent.readers.tracks import (
    TRACK1,
    TRACK2,
    TrackData,
    TrackError,
    check_track,
    merge,
    parse_track1,
    parse_track2,
)

SWIPE, CHIP, CONTACTLESS = "swipe", "chip", "contactless"


class BadRead(Exception):
    """The card could not be read; the user may retry. `kind`: lrc, partial, no_card, format, charset,
    sentinel, removed, timeout."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class IccChannel(Protocol):
    def transmit(self, apdu: bytes) -> bytes: ...


@dataclass
class CardRead:
    """The outcome of presenting a card. Holds full track data: keep it in memory only, never log it."""

    kind: str                                   # swipe, chip or contactless
    track: TrackData | None = None               # swipe only
    atr: bytes = b""
    channel: IccChannel | None = field(default=None, repr=False)   # chip and contactless

    def __repr__(self) -> str:  # no card data in reprs, logs or tracebacks
        return f"CardRead(kind={self.kind!r})"


class CardReader(Protocol):
    def read_card(self, timeout: float = 30.0) -> CardRead: ...

    def power_off(self) -> None: ...

    def close(self) -> None: ...


def parse_swipe(payload: bytes) -> TrackData:
    """Decode an 'S' event: `1<track 1>FS2<track 2>`, checking sentinels and LRC of each track.

    Track 2 is required (it is what field 35 carries); a bad track 1 next to a good track 2 is ignored, as
    terminals do. A swipe with both tracks blank is reported as no_card.
    """
    text = payload.decode("ascii", "replace")
    sections = {part[:1]: part[1:] for part in text.split(chr(FS)) if part}
    raw1, raw2 = sections.get("1", ""), sections.get("2", "")
    if not raw1 and not raw2:
        raise BadRead("no_card", "nothing on the stripe: no card or card swiped the wrong way")
    t1 = None
    if raw1:
        try:
            t1 = parse_track1(check_track(TRACK1, raw1))
        except TrackError:
            t1 = None
    try:
        t2 = parse_track2(check_track(TRACK2, raw2))
    except TrackError as exc:
        raise BadRead(exc.kind, f"bad read: {exc}") from None
    try:
        return merge(t1, t2)
    except TrackError as exc:
        raise BadRead(exc.kind, f"bad read: {exc}") from None


MESSAGES = {
    "lrc": "BAD READ (LRC) - PLEASE SWIPE AGAIN",
    "partial": "PARTIAL READ - PLEASE SWIPE AGAIN",
    "no_card": "NO CARD - PLEASE PRESENT CARD",
    "timeout": "NO CARD - PLEASE PRESENT CARD",
}


def read_with_retry(reader: CardReader, *, attempts: int = 3, timeout: float = 30.0,
                    notify: Callable[[str], None] | None = None) -> CardRead:
    """Read a card, prompting the user again after a bad read, up to `attempts` times."""
    last: BadRead | None = None
    for _ in range(max(1, attempts)):
        try:
            return reader.read_card(timeout)
        except BadRead as exc:
            last = exc
            if notify:
                notify(MESSAGES.get(exc.kind, f"CARD READ ERROR ({exc.kind}) - TRY AGAIN"))
    assert last is not None
    raise last
