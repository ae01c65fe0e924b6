"""ISO/IEC 7813 magnetic-stripe tracks 1 and 2: character sets, parity, LRC, sentinels and field layout.

Track 1 (IATA, 210 bpi) stores 7-bit characters: 6 data bits (ASCII 0x20-0x5F minus 0x20) plus an odd
parity bit. Track 2 (ABA, 75 bpi) stores 5-bit characters: 4 data bits (ASCII 0x30-0x3F minus 0x30) plus an
odd parity bit. Both end with a longitudinal redundancy check character: the XOR of the data bits of every
character from the start sentinel to the end sentinel inclusive, whose own parity bit is odd parity over
its data bits (not the XOR of the parity bits). Bits are recorded least-significant first, parity last.
"""

from __future__ import annotations

from dataclasses import dataclass

from switch.wire.pan import luhn_ok


class TrackError(ValueError):
    """A track that cannot be trusted. `kind` says why: lrc, partial, sentinel, charset, parity, format."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class TrackSpec:
    number: int
    bits: int           # data bits per character (without parity)
    offset: int         # ASCII code of data value 0
    start: str
    end: str
    separator: str
    max_chars: int      # including sentinels and LRC


TRACK1 = TrackSpec(1, 6, 0x20, "%", "?", "^", 79)
TRACK2 = TrackSpec(2, 4, 0x30, ";", "?", "=", 40)
SPECS = {1: TRACK1, 2: TRACK2}


def char_value(spec: TrackSpec, ch: str) -> int:
    value = ord(ch) - spec.offset
    if not 0 <= value < (1 << spec.bits):
        raise TrackError("charset", f"character {ch!r} is not in the track {spec.number} character set")
    return value


def odd_parity_bit(value: int, bits: int) -> int:
    """The parity bit that makes the count of ones over data+parity odd."""
    return 0 if bin(value & ((1 << bits) - 1)).count("1") % 2 else 1


def lrc(spec: TrackSpec, chars: str) -> str:
    """LRC character over `chars` (start sentinel through end sentinel)."""
    acc = 0
    for ch in chars:
        acc ^= char_value(spec, ch)
    return chr(acc + spec.offset)


def with_lrc(spec: TrackSpec, body: str) -> str:
    """`body` (fields without sentinels) framed as recorded on the stripe: SS body ES LRC."""
    framed = spec.start + body + spec.end
    if len(framed) + 1 > spec.max_chars:
        raise TrackError("format", f"track {spec.number} longer than {spec.max_chars} characters")
    return framed + lrc(spec, framed)


def check_track(spec: TrackSpec, raw: str) -> str:
    """Validate SS ... ES LRC as read from a stripe and return the body between the sentinels.

    Raises TrackError: `partial` when the read stops before the end sentinel or LRC (a swipe that was
    too short or too fast), `sentinel` without the start sentinel, `charset` for a character outside the
    track's set, `lrc` when the LRC does not match.
    """
    if not raw:
        raise TrackError("partial", f"track {spec.number} is blank")
    if raw[0] != spec.start:
        raise TrackError("sentinel", f"track {spec.number} does not begin with {spec.start!r}")
    end = raw.find(spec.end, 1)
    if end < 0:
        raise TrackError("partial", f"track {spec.number} has no end sentinel (partial swipe)")
    if end + 1 >= len(raw):
        raise TrackError("partial", f"track {spec.number} has no LRC character (partial swipe)")
    framed = raw[: end + 1]
    for ch in raw[: end + 2]:
        char_value(spec, ch)
    if lrc(spec, framed) != raw[end + 1]:
        raise TrackError("lrc", f"track {spec.number} LRC mismatch")
    return framed[1:-1]


# --- the stripe as bits, as the reader head sees it ---------------------------------------------------

LEADING_ZEROS = 20  # clocking bits before the start sentinel, as encoders write them


def to_bits(spec: TrackSpec, recorded: str) -> list[int]:
    """Encode recorded characters (SS..ES LRC) to stripe bits: data bits LSB first, then odd parity."""
    bits = [0] * LEADING_ZEROS
    for ch in recorded:
        value = char_value(spec, ch)
        bits.extend((value >> i) & 1 for i in range(spec.bits))
        bits.append(odd_parity_bit(value, spec.bits))
    return bits + [0] * LEADING_ZEROS


def from_bits(spec: TrackSpec, bits: list[int]) -> str:
    """Decode stripe bits to characters as a reader head does, in either swipe direction.

    It looks for the start sentinel pattern, then reads characters up to and including the one after the
    end sentinel (the LRC). A reverse swipe is recognised by finding the start sentinel in the reversed
    bit stream. Decoding stops at the first character with bad parity; the result is then shorter than a
    full track and check_track() reports it as partial. An empty string means no data (blank stripe).
    """
    for stream in (bits, bits[::-1]):
        text = _decode_stream(spec, stream)
        if text:
            return text
    return ""


def _decode_stream(spec: TrackSpec, bits: list[int]) -> str:
    width = spec.bits + 1
    ss = char_value(spec, spec.start)
    es = char_value(spec, spec.end)
    ss_bits = [(ss >> i) & 1 for i in range(spec.bits)] + [odd_parity_bit(ss, spec.bits)]
    start = next((i for i in range(len(bits) - width + 1) if bits[i : i + width] == ss_bits), -1)
    if start < 0:
        return ""
    out: list[str] = []
    pos = start
    seen_end = False
    while pos + width <= len(bits):
        chunk = bits[pos : pos + width]
        value = sum(b << i for i, b in enumerate(chunk[: spec.bits]))
        if chunk[spec.bits] != odd_parity_bit(value, spec.bits):
            break  # parity error: the head lost the character
        out.append(chr(value + spec.offset))
        pos += width
        if seen_end:
            break  # that was the LRC
        if value == es:
            seen_end = True
    return "".join(out)


# --- field layout (ISO/IEC 7813 format B) ------------------------------------------------------------

@dataclass(frozen=True)
class TrackData:
    """Card data parsed from track 2 (and track 1 when present). Never log it: it holds full tracks."""

    pan: str
    expiry: str          # YYMM
    service_code: str
    discretionary: str
    name: str = ""
    track1: str = ""     # body without sentinels
    track2: str = ""     # body without sentinels: PAN=YYMMSSS...

    def track2_iso8583(self) -> str:
        """Field 35 form: track 2 body without sentinels and LRC ('=' kept as separator)."""
        return self.track2


def track1_body(pan: str, name: str, expiry: str, service_code: str, discretionary: str = "") -> str:
    return f"B{pan}^{name.upper()[:26]:<2}^{expiry}{service_code}{discretionary}"


def track2_body(pan: str, expiry: str, service_code: str, discretionary: str = "") -> str:
    return f"{pan}={expiry}{service_code}{discretionary}"


def parse_track2(body: str, check_luhn: bool = False) -> TrackData:
    """Fields of a track 2 body. The Luhn check is off by default: the host answers 14 for a bad check digit,
    and test cards with a bad one must reach it."""
    pan, sep, rest = body.partition("=")
    if not sep or not pan.isdigit() or not 12 <= len(pan) <= 19 or len(rest) < 7 or not rest[:7].isdigit():
        raise TrackError("format", "track 2 is not PAN=YYMMSSS...")
    if check_luhn and not luhn_ok(pan):
        raise TrackError("format", "track 2 PAN fails the Luhn check")
    return TrackData(pan=pan, expiry=rest[:4], service_code=rest[4:7], discretionary=rest[7:], track2=body)


def parse_track1(body: str) -> TrackData:
    parts = body.split("^")
    if len(parts) != 3 or not parts[0].startswith("B"):
        raise TrackError("format", "track 1 is not format B (B PAN ^ NAME ^ YYMMSSS...)")
    pan, name, rest = parts[0][1:], parts[1], parts[2]
    if not pan.isdigit() or len(rest) < 7 or not rest[:7].isdigit():
        raise TrackError("format", "track 1 fields are malformed")
    return TrackData(pan=pan, expiry=rest[:4], service_code=rest[4:7], discretionary=rest[7:], name=name.strip(),
                     track1=body)


def merge(t1: TrackData | None, t2: TrackData | None) -> TrackData:
    """Combine both tracks; track 2 is authoritative (it is what field 35 carries)."""
    if t2 is None and t1 is None:
        raise TrackError("partial", "no readable track")
    if t2 is None:
        assert t1 is not None
        return t1
    if t1 is None:
        return t2
    if t1.pan != t2.pan or t1.expiry != t2.expiry:
        raise TrackError("format", "track 1 and track 2 disagree")
    return TrackData(pan=t2.pan, expiry=t2.expiry, service_code=t2.service_code, discretionary=t2.discretionary,
                     name=t1.name, track1=t1.track1, track2=t2.track2)
