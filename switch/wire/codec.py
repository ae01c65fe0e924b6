"""A compiled ISO 8583 codec: the same bytes and dicts as pyiso8583 for the common layouts, in a third of
the time.

pyiso8583 interprets the spec dict for every field of every message. A switch encodes and decodes the same
few layouts millions of times, so each field's spec is turned once into a small tuple the loops below read
directly. Layouts this module does not handle (headers, nibble-counted BCD fields, tertiary bitmaps) make
`compile_spec` return None and the Dialect keeps using pyiso8583. tests/wire/test_codec.py checks that
both give identical results, errors included, on random messages of every shipped dialect. One deliberate
difference: pyiso8583 reads a variable length with int(), which accepts " 12", "+1" or "\n20"; this
codec refuses any length that is not all digits, so such a message is a format error (39=30).
The loops here are the careful path; switch/wire/fastcodec.py runs first and steps aside to them on
anything unusual.
"""

from __future__ import annotations

import codecs
import re

from switch.wire.fastcodec import _FAST_MISS, _fast_decode, _fast_encode, _FastPath

_HEX = re.compile(rb"[0-9A-Fa-f]*")
_DIGITS = re.compile(rb"[0-9]*")


class CodecError(ValueError):
    """Decoding or encoding failed at `field`; `partial` holds the fields decoded before it."""

    def __init__(self, reason: str, field: str, partial: dict[str, str] | None = None):
        super().__init__(f"{reason}: field {field}")
        self.field = field
        self.partial = partial or {}


class _Field:
    __slots__ = ("key", "text", "len_type", "len_enc", "max_len")

    def __init__(self, key: str, spec: dict):
        self.key = key
        self.text = None if spec["data_enc"] == "b" else spec["data_enc"]  # None: binary, hex in the dict
        self.len_type = spec["len_type"]
        self.len_enc = spec["len_enc"]  # "b", "bcd" or a text codec
        self.max_len = spec["max_len"]


def _supported_field(spec: dict) -> bool:
    if spec.get("len_count", "bytes") != "bytes":
        return False
    try:
        if spec["data_enc"] != "b":
            codecs.lookup(spec["data_enc"])
        if spec["len_enc"] not in ("b", "bcd"):
            codecs.lookup(spec["len_enc"])
    except LookupError:
        return False
    return spec["len_type"] <= 4 and (spec["len_enc"] != "bcd" or spec["len_type"] <= 2)


class CompiledCodec:
    """encode(dict) -> bytes and decode(bytes) -> dict for one spec (see compile_spec)."""

    def __init__(self, spec: dict):
        self.mti_text = None if spec["t"]["data_enc"] == "b" else spec["t"]["data_enc"]
        self.mti_len = spec["t"]["max_len"]
        bitmap = spec["p"]
        self.bitmap_text = None if bitmap["data_enc"] == "b" else bitmap["data_enc"]
        self.bitmap_len = bitmap["max_len"]
        self.fields: dict[int, _Field] = {n: _Field(str(n), spec[str(n)]) for n in range(2, 129) if str(n) in spec}
        self.has_secondary = "1" in spec
        self._fast = _FastPath.build(self, spec)

    # -- decode ---------------------------------------------------------------------------------------
    def decode(self, s: bytes) -> dict[str, str]:
        if self._fast is not None:
            try:
                return _fast_decode(self._fast, s)
            except _FAST_MISS:
                pass  # anything unusual: the careful loop below gives the exact answer or error
        return self._decode_careful(s)

    def _decode_careful(self, s: bytes) -> dict[str, str]:
        doc: dict[str, str] = {}
        end = self.mti_len
        raw = s[:end]
        if len(raw) != end:
            raise CodecError(f"Field data is {len(raw)} bytes, expecting {end}", "t", doc)
        doc["t"] = raw.hex().upper() if self.mti_text is None else _text(raw, self.mti_text, "t", doc)
        bits, idx = self._bitmap(s, end, "p", doc)
        present = bits
        if bits >> 63:
            if not self.has_secondary:
                raise CodecError("Secondary bitmap is not defined in the spec", "1", doc)
            second, idx = self._bitmap(s, idx, "1", doc)
            if second >> 63:
                raise _Unsupported  # a tertiary bitmap: leave it to pyiso8583
            present = (bits << 64) | second
            top, count = 128, 128
        else:
            top, count = 64, 64
        fields = self.fields
        for n in range(2, top + 1):
            if not (present >> (count - n)) & 1:
                continue
            spec = fields.get(n)
            if spec is None:
                raise CodecError("Field is not defined in the spec", str(n), doc)  # pragma: no cover
            idx = _decode_field(s, idx, spec, doc)
        if idx != len(s):
            raise CodecError(f"Extra data after last field: {s[idx:]!r}", "p" if top == 64 else "1", doc)
        return doc

    def _bitmap(self, s: bytes, idx: int, key: str, doc: dict) -> tuple[int, int]:
        size = self.bitmap_len
        raw = s[idx:idx + size]
        if len(raw) != size:
            raise CodecError(f"Field data is {len(raw)} bytes, expecting {size}", key, doc)
        if self.bitmap_text is None:
            doc[key] = raw.hex().upper()
            return int.from_bytes(raw, "big"), idx + size
        text = _text(raw, self.bitmap_text, key, doc)
        if not (text.isascii() and _HEX.fullmatch(text.encode())):
            raise CodecError("Failed to decode field, non-hex data", key, doc)
        doc[key] = text.upper()
        return int(text, 16), idx + size

    # -- encode ---------------------------------------------------------------------------------------
    def encode(self, doc: dict[str, str]) -> bytes:
        fast = self._fast
        if fast is not None:
            plan = fast.eplans.get(tuple(doc))
            if plan is None:
                plan = fast.encode_plan(doc)
            if plan is not False:
                try:
                    return _fast_encode(fast, plan, doc)
                except _FAST_MISS:
                    pass  # the careful path below gives the exact bytes or error
        return self._encode_careful(doc)

    def layout(self, doc: dict) -> tuple[list[int], bool]:
        """The sorted field numbers of `doc` and whether it needs a secondary bitmap (as pyiso8583)."""
        fields = self.fields
        numbers = []
        secondary = False
        for key in doc:
            if not key.isdigit():
                continue  # t, p, h and names that are not fields
            if not key.isascii():
                raise _Unsupported
            n = int(key)
            if n == 1:
                secondary = True  # as pyiso8583: a "1" key asks for a secondary bitmap
            elif n in fields and n != 65:  # pyiso8583 reads bit 65 as a tertiary bitmap: its business
                numbers.append(n)
            else:
                raise _Unsupported  # let pyiso8583 give its own error
        numbers.sort()
        secondary = secondary or (bool(numbers) and numbers[-1] > 64)
        if secondary and not self.has_secondary:
            raise _Unsupported
        return numbers, secondary

    def _encode_careful(self, doc: dict[str, str]) -> bytes:
        fields = self.fields
        numbers, secondary = self.layout(doc)
        mti = doc.get("t")
        if not isinstance(mti, str):
            raise _Unsupported
        out = [_encode_mti(mti, self.mti_text, self.mti_len), self.bitmap_for(numbers, secondary)]
        for n in numbers:
            out.append(_encode_field(doc[str(n)], fields[n]))
        return b"".join(out)

    def bitmap_for(self, numbers: list[int], secondary: bool) -> bytes:
        bits = 0
        for n in numbers:
            bits |= 1 << (128 - n)
        if not secondary:
            return self._bitmap_bytes(bits >> 64)
        bits |= 1 << 127
        return self._bitmap_bytes(bits >> 64) + self._bitmap_bytes(bits & 0xFFFFFFFFFFFFFFFF)

    def _bitmap_bytes(self, bits: int) -> bytes:
        if self.bitmap_text is None:
            return bits.to_bytes(8, "big")
        return f"{bits:016X}".encode(self.bitmap_text)


class _Unsupported(Exception):
    """Raised inside decode for layouts this codec leaves to pyiso8583."""


def _text(raw: bytes, encoding: str, key: str, doc: dict) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeError as exc:
        raise CodecError(f"Failed to decode field, invalid data: {exc}", key, doc) from None


def _decode_field(s: bytes, idx: int, f: _Field, doc: dict) -> int:
    key, len_type = f.key, f.len_type
    if len_type == 0:
        size = f.max_len
    else:
        raw_len = s[idx:idx + len_type]
        if len(raw_len) != len_type:
            doc[key] = ""
            raise CodecError(f"Field length is {len(raw_len)} bytes wide, expecting {len_type}", key, doc)
        size = _length(raw_len, f, doc)
        idx += len_type
    data = s[idx:idx + size]
    if len(data) != size:
        doc[key] = ""
        raise CodecError(f"Field data is {len(data)} bytes, expecting {size}", key, doc)
    doc[key] = data.hex().upper() if f.text is None else _text(data, f.text, key, doc)
    return idx + size


def _length(raw: bytes, f: _Field, doc: dict) -> int:
    key = f.key
    if f.len_enc == "b":
        size = int.from_bytes(raw, "big")
    elif f.len_enc == "bcd":
        digits = raw.hex()
        if not digits.isdigit():
            doc[key] = ""
            raise CodecError("Failed to decode field length, invalid BCD data", key, doc)
        size = int(digits)
    else:
        try:
            text = raw.decode(f.len_enc)
        except UnicodeError:
            doc[key] = ""
            raise CodecError("Failed to decode field length, invalid data", key, doc) from None
        if not (text.isascii() and text.isdigit()):
            doc[key] = ""
            raise CodecError("Failed to decode field length, invalid data", key, doc)
        size = int(text)
    if size > f.max_len:
        doc[key] = ""
        raise CodecError(f"Field data is {size} bytes, larger than maximum {f.max_len}", key, doc)
    return size


def _encode_mti(mti: str, encoding: str | None, size: int) -> bytes:
    if encoding is None:
        if len(mti) != size * 2 or not _HEX.fullmatch(mti.encode("ascii", "replace")):
            raise CodecError("Failed to encode field, non-hex data", "t")
        return bytes.fromhex(mti)
    try:
        raw = mti.encode(encoding)
    except UnicodeError:
        raise CodecError("Failed to encode field, invalid data", "t") from None
    if len(raw) != size:
        raise CodecError(f"Field data is {len(raw)} bytes, expecting {size}", "t")
    return raw


def _encode_field(value: str, f: _Field) -> bytes:
    key = f.key
    if not isinstance(value, str):
        raise CodecError("Field data must be a str", key)
    if f.text is None:
        if len(value) % 2 or not _HEX.fullmatch(value.encode("ascii", "replace")):
            raise CodecError("Failed to encode field, non-hex data", key)
        data = bytes.fromhex(value)
    else:
        try:
            data = value.encode(f.text)
        except UnicodeError:
            raise CodecError("Failed to encode field, invalid data", key) from None
    size = len(data)
    if f.len_type == 0:
        if size != f.max_len:
            raise CodecError(f"Field data is {size} bytes, expecting {f.max_len}", key)
        return data
    if size > f.max_len:
        raise CodecError(f"Field data is {size} bytes, larger than maximum {f.max_len}", key)
    if f.len_enc == "b":
        prefix = size.to_bytes(f.len_type, "big")
    elif f.len_enc == "bcd":
        prefix = bytes.fromhex(f"{size:0{f.len_type * 2}d}")
    else:
        prefix = f"{size:0{f.len_type}d}".encode(f.len_enc)
        if len(prefix) != f.len_type:
            raise CodecError(f"Field length {size} does not fit {f.len_type} digits", key)
    return prefix + data


def compile_spec(spec: dict) -> CompiledCodec | None:
    """A compiled codec for `spec`, or None when pyiso8583 must handle it (see the module docstring)."""
    if spec["h"]["max_len"] != 0:
        return None
    t, p = spec["t"], spec["p"]
    if t["len_type"] or p["len_type"] or t.get("len_count", "bytes") != "bytes":
        return None
    if (p["data_enc"] == "b") != (p["max_len"] == 8) or (p["data_enc"] != "b" and p["max_len"] != 16):
        return None
    if "1" in spec and (spec["1"]["data_enc"], spec["1"]["max_len"]) != (p["data_enc"], p["max_len"]):
        return None
    if not all(_supported_field(spec[k]) for k in spec if k.isdigit() and k != "1"):
        return None
    if not _supported_field(t) or not _supported_field(p):
        return None
    return CompiledCodec(spec)


__all__ = ["CodecError", "CompiledCodec", "Unsupported", "compile_spec"]
Unsupported = _Unsupported
