"""The compiled codec's fast path: whole-message text decoding and per-bitmap plans.

Most traffic repeats a few layouts: the same bitmap on the way in, the same keys on the way out. So each
bitmap (decode) and each key tuple (encode) is turned once into a plan, a tuple of per-field steps, and the
message is decoded to text in one `bytes.decode` and sliced, or encoded from one `"".join`. The fast path
never reports an error itself: anything unusual (bad length, non-ASCII byte, wrong type, truncation) raises
one of _FAST_MISS and the careful loop in codec.py runs instead, so errors, their field and the partial
dict stay exactly those of the careful path. Only dialects whose text fields, MTI and text lengths all use
one single-byte codec get a fast path (ascii87, binary87, ebcdic87 do).
"""

from __future__ import annotations

import codecs
from typing import Any

_PLAN_LIMIT = 1024  # cached layouts per codec; hostile peers could send endless bitmaps
_TEXT, _TEXT_ASCII, _BINARY = 0, 1, 2  # decode step kinds (_TEXT_ASCII: ASCII checked per field)
_FIXED, _VAR, _FIXED_BIN, _VAR_BIN = 0, 1, 2, 3  # encode step kinds
_MAX_TABLE = 100_000  # a field whose length table would be larger stays with the careful path


class _Slow(Exception):
    """The fast path cannot vouch for this message: run the careful path."""


# What the fast path may raise: its own miss, or what bad values raise inside str/bytes operations.
_FAST_MISS = (_Slow, TypeError, ValueError, IndexError, KeyError, AttributeError)


def _whole_codec(enc: str) -> tuple[str, bool] | None:
    """The codec that decodes a whole message byte for char, and whether ASCII must be checked after."""
    every = bytes(range(256))
    try:
        if every.decode(enc).encode(enc) == every:
            return enc, False  # every byte is one char and back: cp500, latin-1
    except UnicodeError:
        pass
    return ("latin-1", True) if codecs.lookup(enc).name == "ascii" else None


def _length_codes(lt: int, len_enc: str, limit: int) -> list[bytes]:
    """The wire form of every length 0..limit, as the careful path writes (and alone accepts) it."""
    if len_enc == "b":
        return [n.to_bytes(lt, "big") for n in range(limit + 1)]
    if len_enc == "bcd":
        return [bytes.fromhex(f"{n:0{lt * 2}d}") for n in range(limit + 1)]
    return [f"{n:0{lt}d}".encode(len_enc) for n in range(limit + 1)]


def _limit(lt: int, len_enc: str, max_len: int) -> int:
    room = 256 ** lt - 1 if len_enc == "b" else 10 ** lt - 1 if len_enc != "bcd" else 10 ** (lt * 2) - 1
    return min(max_len, room)


class _FastPath:
    """Per-codec tables: the whole-message codec, per-field steps and the plan caches."""

    def __init__(self, codec: Any, text: str, whole: str, check_ascii: bool):
        self.codec = codec
        self.text = text
        self.whole = whole
        self.head = codec.mti_len
        self.bitmap_len = codec.bitmap_len
        binary_bitmap = codec.bitmap_text is None
        self.binary_bitmap = binary_bitmap
        # First bitmap byte values that announce a secondary bitmap.
        self.secondary_first = frozenset(range(128, 256)) if binary_bitmap else frozenset(
            "89ABCDEFabcdef".encode(text))
        has_binary = binary_bitmap or any(f.text is None for f in codec.fields.values())
        self.ascii_whole = check_ascii and not has_binary  # one isascii() over the message covers it all
        self.ascii_each = check_ascii and has_binary
        text_kind = _TEXT_ASCII if self.ascii_each else _TEXT
        self.dsteps: dict[int, tuple] = {}
        self.esteps: dict[int, tuple] = {}
        for n, f in codec.fields.items():
            limit = _limit(f.len_type, f.len_enc, f.max_len)
            codes = _length_codes(f.len_type, f.len_enc, limit) if f.len_type else []
            table = {code: size for size, code in enumerate(codes)}
            kind = _BINARY if f.text is None else text_kind
            self.dsteps[n] = (f.key, f.len_type, table, f.max_len, kind)
            if f.text is not None:
                prefixes = [c.decode(text) for c in codes]  # same codec as the data: joins as text
                self.esteps[n] = (f.key, _VAR if f.len_type else _FIXED, f.max_len, prefixes)
            else:
                self.esteps[n] = (f.key, _VAR_BIN if f.len_type else _FIXED_BIN, f.max_len, codes)
        self.dplans: dict[bytes, tuple] = {}
        self.eplans: dict[tuple, Any] = {}

    @classmethod
    def build(cls, codec: Any, spec: dict) -> _FastPath | None:
        """A fast path for `codec`, or None when its encodings do not allow one (see the module doc)."""
        text = codec.mti_text
        if text is None or codec.bitmap_text not in (None, text):
            return None
        for f in codec.fields.values():
            if f.len_type and f.max_len > _MAX_TABLE:
                return None
            if f.text is not None and (f.text != text or (f.len_type and f.len_enc != text)):
                return None
        whole = _whole_codec(text)
        return None if whole is None else cls(codec, text, *whole)

    def decode_plan(self, s: bytes, key: bytes) -> tuple:
        """The bitmap entries, field offset and steps for messages whose bitmap bytes are `key`."""
        codec = self.codec
        scratch: dict[str, str] = {}
        try:
            bits, idx = codec._bitmap(s, self.head, "p", scratch)
            present, top = bits, 64
            if bits >> 63:
                if not codec.has_secondary:
                    raise _Slow
                second, idx = codec._bitmap(s, idx, "1", scratch)
                if second >> 63:
                    raise _Slow  # tertiary
                present, top = (bits << 64) | second, 128
        except Exception:  # a bad bitmap: the careful path names it
            raise _Slow from None
        numbers = [n for n in range(2, top + 1) if (present >> (top - n)) & 1]
        if any(n not in self.dsteps for n in numbers):
            raise _Slow
        plan = (tuple(scratch.items()), idx, tuple(self.dsteps[n] for n in numbers))
        if len(self.dplans) >= _PLAN_LIMIT:
            self.dplans.clear()
        self.dplans[key] = plan
        return plan

    def encode_plan(self, doc: dict) -> tuple | bool:
        """The bitmap and steps for dicts with `doc`'s keys in this order; False: careful path only."""
        try:
            numbers, secondary = self.codec.layout(doc)
            bitmap = self.codec.bitmap_for(numbers, secondary)
        except Exception:  # odd keys: the careful path decides (and raises what it always raised)
            plan: tuple | bool = False
        else:
            head = bitmap.decode(self.text) if not self.binary_bitmap else bitmap
            plan = (head, tuple(self.esteps[n] for n in numbers))
        if len(self.eplans) >= _PLAN_LIMIT:
            self.eplans.clear()
        self.eplans[tuple(doc)] = plan
        return plan


def _fast_decode(fast: _FastPath, s: bytes) -> dict[str, str]:
    if fast.ascii_whole and not s.isascii():
        raise _Slow
    head = fast.head
    end = head + fast.bitmap_len
    if s[head] in fast.secondary_first:
        end += fast.bitmap_len
    key = s[head:end]
    plan = fast.dplans.get(key)
    if plan is None:
        plan = fast.decode_plan(s, key)
    entries, i, steps = plan
    text = s.decode(fast.whole)
    mti = text[:head]
    if fast.ascii_each and not mti.isascii():
        raise _Slow
    doc = {"t": mti}
    doc.update(entries)
    for key, lt, table, size, kind in steps:
        if lt:
            size = table.get(s[i:i + lt])
            if size is None:
                raise _Slow
            i += lt
        j = i + size
        if kind == _TEXT:
            doc[key] = text[i:j]
        elif kind == _BINARY:
            doc[key] = s[i:j].hex().upper()
        else:
            value = text[i:j]
            if not value.isascii():
                raise _Slow
            doc[key] = value
        i = j
    if i != len(s):  # truncated somewhere (slices came up short) or extra data
        raise _Slow
    return doc


def _fast_encode(fast: _FastPath, plan: tuple, doc: dict) -> bytes:
    bitmap, steps = plan
    mti = doc["t"]
    if len(mti) != fast.head:
        raise _Slow
    enc = fast.text
    if fast.binary_bitmap:
        out = [mti.encode(enc), bitmap]
        parts: list[str] = []
    else:
        out = []
        parts = [mti, bitmap]
    add = parts.append
    for key, kind, size, prefixes in steps:
        value = doc[key]
        if kind == _FIXED:
            if len(value) != size:
                raise _Slow
            add(value)
        elif kind == _VAR:
            add(prefixes[len(value)])  # IndexError past the maximum
            add(value)
        else:
            data = bytes.fromhex(value)
            if len(data) * 2 != len(value) or (kind == _FIXED_BIN and len(data) != size):
                raise _Slow  # fromhex skips spaces; the careful path refuses them
            out.append("".join(parts).encode(enc))
            parts.clear()
            if kind == _VAR_BIN:
                out.append(prefixes[len(data)])
            out.append(data)
    out.append("".join(parts).encode(enc))  # one encode checks every text field's characters
    return b"".join(out)
