"""Detectors for card data in text: PANs, track data, PIN blocks, PINs, CVVs and clear keys.

Every detector returns `Hit`s whose `detail` is already masked (PAN 6+4, everything else withheld), so no
caller can print what was found in the clear (DESIGN: Card data). Patterns are compiled once; a caller
passes whole chunks of text (many rows or many log lines joined) and maps offsets back only on a hit.

False positives are kept down on purpose, because CI fails on any finding:
- a PAN is a digit run bounded by non-alphanumerics (so hex digests and IDs are not read as PANs), with a
  major-industry prefix 3-6 or the 22-27 two-series (Mastercard 2221-2720, Mir 2200-2204), and a valid
  Luhn check digit;
- track data needs its separators and a YYMM expiry with a real month;
- PIN blocks, CVVs and keys are recognised by the key or column that holds them, never by value alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from switch.wire.pan import luhn_ok
from switch.wire.pan import mask_pan as _mask_pan


def plausible_pan(digits: str) -> bool:
    if not 13 <= len(digits) <= 19:
        return False
    first = digits[0]
    if first == "2":
        if not "22" <= digits[:2] <= "27":
            return False
    elif not "3" <= first <= "6":
        return False
    return luhn_ok(digits)


def mask_pan(pan: str) -> str:
    """First six and last four (PCI DSS 3.4 display rule) of the digits; never more."""
    return _mask_pan(re.sub(r"\D", "", pan))


@dataclass(frozen=True)
class Hit:
    kind: str  # pan | track1 | track2 | pin_block | pin | cvv | clear_key
    start: int
    end: int
    detail: str  # masked: safe to print


_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_KEYCHARS = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_")
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
# Arabic-Indic and Extended Arabic-Indic digits (Arabic receipts and reports) read as ASCII digits, one
# character for one, so offsets do not move.
_ARABIC_DIGITS = {cp + i: 0x30 + i for cp in (0x0660, 0x06F0) for i in range(10)}
_MIN_RUN = b"0" * 13
_NOT_ZERO_RE = re.compile(rb"[^0]")
_GROUPED_ANCHORS = (b"0000 0000 0000", b"0000-0000-0000")

# Matched at a known position (re.match with pos), never searched: the scan is driven by cheap anchors.
_SPACED_PAN_RE = re.compile(r"(?:2[2-7]\d\d|[3-6]\d{3})([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{3})?(?![0-9A-Za-z])", re.ASCII)
_HEXDUMP_GROUP_RE = re.compile(r"^(?:3\d3\d[ -]?)+$", re.ASCII)  # hex of ASCII digits, as xxd prints them
_EXPIRY_SC_RE = re.compile(r"\d\d(?:0[1-9]|1[0-2])\d{3}", re.ASCII)  # YYMM + service code after a track separator
_TRACK1_TAIL_RE = re.compile(r"\^[^\^\r\n]{0,26}\^\d\d(?:0[1-9]|1[0-2])\d{3}", re.ASCII)

_SEP = r"""["']?\s*(?:=>|[:=>]|\s)\s*["']?"""
_CVV_KEY = r"[a-z_]*(?:cvv2?|cvc2?|icvv)[a-z0-9_]*"
_PIN_KEY = r"[a-z_]*pin[a-z0-9_]*"
_KEY_KEY = r"[a-z_]*(?:key|tpk|tmk|tak|zpk|zmk|zak|pvk|cvk|bdk|ipek|kek|dek|imk|mk_?ac)[a-z0-9_]*"
_CVV_KV_RE = re.compile(r"(?ai)(" + _CVV_KEY + ")" + _SEP + r"(\d{3,4})(?![0-9A-Za-z])")
_PIN_KV_RE = re.compile(r"(?ai)(" + _PIN_KEY + ")" + _SEP + r"([0-9a-f]{16}|\d{4,12})(?![0-9A-Za-z])")
_KEY_KV_RE = re.compile(r"(?ai)(" + _KEY_KEY + ")" + _SEP + r"([0-9a-f]{16,48})(?![0-9A-Za-z])")
# "52" is an anchor only when a 16-hex value follows in one of the field-52 shapes below: recordings
# carry "52" on every line (masked), and a per-anchor Python call for each would dominate the scan.
_KV_ANCHOR_RE = re.compile(
    rb"cvv|cvc|pin|key|tpk|tmk|tak|zpk|zmk|zak|pvk|cvk|bdk|ipek|kek|dek|imk|mk_?ac"
    rb"""|52(?=["'](?:\s*:\s*|\s+value=)["'][0-9a-f]{16}|\][^\n\[]*?[ .][0-9a-f]{16}|["']?\s*[:=]\s*["']?[0-9a-f]{16})"""
)
_KV_BY_ANCHOR = {b"cvv": "cvv", b"cvc": "cvv", b"pin": "pin"}
# Field 52 as JSON ("52": "..."), jPOS XML (id="52" value="..."), our dump lines ("[ 52] PIN Data ... v")
# and free text ("field 52=...", "DE52: ...").
_F52_QUOTED_RE = re.compile(r"""52["'](?:\s*:\s*|\s+value=)["']([0-9A-Fa-f]{16})(?![0-9A-Za-z])""", re.ASCII)
_F52_DUMP_RE = re.compile(r"52\][^\n\[]*?[ .]([0-9A-Fa-f]{16})(?![0-9A-Za-z])", re.ASCII)
_F52_TEXT_RE = re.compile(r"""52["']?\s*[:=]\s*["']?([0-9A-Fa-f]{16})(?![0-9A-Za-z])""", re.ASCII)
_F52_TEXT_PREFIX_RE = re.compile(rb"(?:^|[^a-z0-9])(?:field|fld|de|bit|f)[ _.#-]?$")

_NOT_SECRET = ("hash", "kcv", "check", "offset", "pad", "tries", "try", "count", "method", "format",
               "len", "idem", "lookup", "api", "public", "pub", "result", "type", "scheme", "name", "id",
               "ref", "version", "masked", "_enc", "status", "index", "period", "code",
               # a key under another key is a cryptogram, not a clear key (tpk_under_tmk, key_under_lmk)
               "under", "crypt", "wrapped")
_CLEAR_PIN_NAMES = frozenset({"pin", "clear_pin", "pin_clear", "plain_pin", "pin_plain", "pin_value"})
_KEY_LENGTHS = (16, 32, 48)

_CVV_NAME_RE = re.compile(r"(?ai)^" + _CVV_KEY + "$")
_PIN_NAME_RE = re.compile(r"(?ai)^" + _PIN_KEY + "$")
_KEY_NAME_RE = re.compile(r"(?ai)^" + _KEY_KEY + "$")
_HEX16_RE = re.compile(r"^[0-9A-Fa-f]{16}$")
_HEX_RE = re.compile(r"^[0-9A-Fa-f]+$")


def _secret_name(name: str) -> bool:
    low = name.lower()
    parts = set(re.split(r"[_.\-]", low))
    return not any(word in parts or (len(word) > 3 and word in low) for word in _NOT_SECRET)


def _name(name: str) -> str:
    # A key name is printed to say where the value was: printable ASCII only (no escapes that look like
    # digits), and its digits masked when it has a run of them, since a name can itself be card data
    # ("cvv4761739001010010": 123).
    shown = "".join(c if c.isascii() and c.isprintable() else "?" for c in name[:40])
    if re.search(r"\d{5}", shown):
        shown = re.sub(r"\d", "*", shown)
    return f"'{shown}'"


def _digit_run_hits(text: str, raw: bytes, s: int, e: int) -> Iterator[Hit]:
    """Classify one run of 13+ digits at text[s:e] by what surrounds it."""
    n = len(text)
    run = text[s:e]
    before = raw[s - 1] if s else 0x20
    after = text[e] if e < n else ""
    # Track 2 ('=') and its EMV equivalent ('D', tags 57 / 9F6B), whose tag and length bytes may be digits
    # that run into the PAN: then the PAN is the suffix that follows "57" or "9F6B" and a length byte.
    if after in ("=", "D", "d") and _EXPIRY_SC_RE.match(text, e + 1):
        sentinel = before == 0x3B  # ';'
        pan = run
        if after != "=":
            for length in range(min(19, len(run) - 2), 12, -1):
                tag_end = e - length - 2
                if (raw[max(tag_end - 2, 0):tag_end].upper() == b"57"
                        or raw[max(tag_end - 4, 0):tag_end].upper() == b"9F6B") and plausible_pan(run[-length:]):
                    pan = run[-length:]
                    break
        if (sentinel and 12 <= len(pan) <= 19) or plausible_pan(pan):
            label = "track 2 data" if after == "=" else "track 2 equivalent (EMV tag 57)"
            yield Hit("track2", e - len(pan) - sentinel, e + 8, f"{label} for {mask_pan(pan)}")
            return
    # Track 1: 'B' PAN '^' NAME '^' YYMM service code.
    if before in (0x42, 0x62) and after == "^" and _TRACK1_TAIL_RE.match(text, e):
        yield Hit("track1", s - 1, e, f"track 1 data for {mask_pan(run)}")
        return
    # EMV tag 5A (application PAN), BCD with an F pad: "5A" length value, the length byte may be digits.
    if raw[max(s - 2, 0):s].upper() == b"5A" or raw[max(s - 4, 0):s].upper() == b"5A0A":
        if raw[s - 2:s].upper() == b"5A":
            length, start = int(run[:2]), s + 2
        else:
            length, start = 10, s
        value = text[start:start + 2 * length]
        digits = value[:-1] if value[-1:] in ("F", "f") else value
        if digits.isascii() and digits.isdigit() and plausible_pan(digits):
            yield Hit("pan", s, start + 2 * length, f"PAN {mask_pan(digits)} (EMV tag 5A)")
            return
    if before not in _WORD and (not after or ord(after) not in _WORD) and plausible_pan(run):
        yield Hit("pan", s, e, f"PAN {mask_pan(run)}")


def _digit_hits(text: str, raw: bytes, zeros: bytes) -> Iterator[Hit]:
    pos = 0
    while True:
        s = zeros.find(_MIN_RUN, pos)
        if s < 0:
            break
        m = _NOT_ZERO_RE.search(zeros, s)
        e = m.start() if m else len(zeros)
        yield from _digit_run_hits(text, raw, s, e)
        pos = e
    for anchor in _GROUPED_ANCHORS:
        pos = 0
        while True:
            s = zeros.find(anchor, pos)
            if s < 0:
                break
            pos = s + 1
            if s and raw[s - 1] in _WORD:
                continue
            m = _SPACED_PAN_RE.match(text, s)
            if m and not _HEXDUMP_GROUP_RE.match(m.group()):
                digits = re.sub(r"\D", "", m.group())
                if plausible_pan(digits):
                    yield Hit("pan", s, m.end(), f"PAN {mask_pan(digits)} (grouped)")
                    pos = m.end()


def _kv_hits(text: str, raw: bytes) -> Iterator[Hit]:
    low = raw.lower()  # ASCII-only lowering keeps offsets
    done = -1
    for a in _KV_ANCHOR_RE.finditer(low):
        p = a.start()
        word = a.group()
        if word == b"52":
            yield from _f52_hits(text, low, p)
            continue
        k = p
        while k and low[k - 1] in _KEYCHARS:
            k -= 1
        if k <= done:
            continue  # the same key name, already judged from an earlier anchor in it
        kind = _KV_BY_ANCHOR.get(word, "key")
        m = (_CVV_KV_RE if kind == "cvv" else _PIN_KV_RE if kind == "pin" else _KEY_KV_RE).match(text, k)
        if not m or not _secret_name(m.group(1)):
            continue
        done = m.end(1)
        name, value = m.group(1), m.group(2)
        if kind == "cvv":
            yield Hit("cvv", k, m.end(), f"CVV under {_name(name)} (value withheld)")
        elif kind == "pin" and len(value) == 16:
            yield Hit("pin_block", k, m.end(), f"PIN block under {_name(name)} (value withheld)")
        elif kind == "pin" and name.lower() in _CLEAR_PIN_NAMES and value.isdigit():
            yield Hit("pin", k, m.end(), f"clear PIN under {_name(name)} (value withheld)")
        elif kind == "key" and len(value) in _KEY_LENGTHS:
            yield Hit("clear_key", k, m.end(),
                      f"clear key under {_name(name)} ({len(value)} hex digits, value withheld)")


def _f52_hits(text: str, low: bytes, p: int) -> Iterator[Hit]:
    prev = low[p - 1] if p else 0x20
    if p and low[p - 1] in _WORD and not _F52_TEXT_PREFIX_RE.search(low, max(p - 7, 0), p):
        return
    m = None
    if prev in (0x22, 0x27):  # "52" or '52'
        m = _F52_QUOTED_RE.match(text, p)
    elif prev in (0x20, 0x5B) and b"[" in low[max(p - 4, 0):p]:  # "[ 52]" in a dump line
        m = _F52_DUMP_RE.match(text, p)
    elif _F52_TEXT_PREFIX_RE.search(low, max(p - 7, 0), p):
        m = _F52_TEXT_RE.match(text, p)
    if m:
        yield Hit("pin_block", p, m.end(), "PIN block in ISO field 52 (value withheld)")


def scan_text(text: str) -> list[Hit]:
    """Every hit in `text`, ordered by offset. The text is searched only at cheap anchors (runs of 13
    digits found with bytes.find after mapping digits to '0', and key words in an ASCII-lowered copy), so
    a large chunk costs a few C-level passes; a PAN inside a track is reported once, as the track."""
    if not text.isascii():
        text = text.translate(_ARABIC_DIGITS)
    raw = text.encode("latin-1", "replace")  # one byte per character: offsets stay the same
    zeros = raw.translate(_DIGITS_TO_ZERO)
    hits = list(_digit_hits(text, raw, zeros)) if _MIN_RUN in zeros or b"0000" in zeros else []
    hits.extend(_kv_hits(text, raw))
    hits.sort(key=lambda h: h.start)
    return hits


def column_kind(column: str) -> str | None:
    """What a column's name says it holds: 'cvv', 'pin' or 'key'; None for anything else."""
    if not _secret_name(column):
        return None
    if _CVV_NAME_RE.match(column):
        return "cvv"
    if _PIN_NAME_RE.match(column):
        return "pin"
    if _KEY_NAME_RE.match(column):
        return "key"
    return None


def scan_named_value(kind: str, name: str, value: str) -> Hit | None:
    """A value judged by the name of the column or key that holds it (see column_kind)."""
    v = value.strip()
    n = len(v)
    if kind == "cvv" and 3 <= n <= 4 and v.isascii() and v.isdigit():
        return Hit("cvv", 0, n, f"CVV in {_name(name)} (value withheld)")
    if kind == "pin":
        if _HEX16_RE.match(v):
            return Hit("pin_block", 0, n, f"PIN block in {_name(name)} (value withheld)")
        if name.lower() in _CLEAR_PIN_NAMES and 4 <= n <= 12 and v.isascii() and v.isdigit():
            return Hit("pin", 0, n, f"clear PIN in {_name(name)} (value withheld)")
    if kind == "key" and n in _KEY_LENGTHS and _HEX_RE.match(v):
        return Hit("clear_key", 0, n, f"clear key in {_name(name)} ({n} hex digits, value withheld)")
    return None
