"""ISO 8583 dialects: pyiso8583 specs kept as JSON data files in specs/, validated when loaded."""

from __future__ import annotations

import codecs
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import iso8583

from switch.paths import specs_dir
from switch.wire.codec import CodecError, Unsupported, compile_spec

_REQUIRED = {"data_enc": str, "len_enc": str, "len_type": int, "max_len": int}
_FIELD_KEYS = {"h", "t", "p", "1", *(str(n) for n in range(2, 129))}


class DialectError(ValueError):
    """A dialect file that cannot be used; the message names the file and the field."""


class MessageError(ValueError):
    """A message that does not fit the dialect. `mti` is set when the MTI could be read."""

    def __init__(self, reason: str, mti: str | None = None, field: str | None = None,
                 partial: dict[str, str] | None = None):
        super().__init__(reason)
        self.mti = mti
        self.field = field
        self.partial = partial or {}  # fields decoded before the bad one, so a format error can echo 11/41


def _check_encoding(path: Path, key: str, prop: str, value: str) -> None:
    if value in ("b", "bcd") and (prop == "len_enc" or value == "b"):
        return
    try:
        codecs.lookup(value)
    except LookupError:
        raise DialectError(f"{path}: field {key}: {prop} {value!r} is not a known encoding") from None


def _validate_field(path: Path, key: str, spec: Any) -> None:
    if key not in _FIELD_KEYS:
        raise DialectError(f"{path}: field {key!r} is not an ISO 8583 field (h, t, p, 1, 2..128)")
    if not isinstance(spec, dict):
        raise DialectError(f"{path}: field {key}: expected an object, got {type(spec).__name__}")
    for prop, kind in _REQUIRED.items():
        if prop not in spec:
            raise DialectError(f"{path}: field {key}: missing {prop}")
        if not isinstance(spec[prop], kind) or isinstance(spec[prop], bool):
            raise DialectError(f"{path}: field {key}: {prop} must be {kind.__name__}, got {spec[prop]!r}")
    _check_encoding(path, key, "data_enc", spec["data_enc"])
    _check_encoding(path, key, "len_enc", spec["len_enc"])
    if not 0 <= spec["len_type"] <= 4:
        raise DialectError(f"{path}: field {key}: len_type must be 0..4, got {spec['len_type']}")
    if spec["max_len"] < 0 or (spec["max_len"] == 0 and key != "h"):
        raise DialectError(f"{path}: field {key}: max_len must be positive, got {spec['max_len']}")
    if spec.get("len_count", "bytes") not in ("bytes", "nibbles"):
        raise DialectError(f"{path}: field {key}: len_count must be bytes or nibbles")
    spec.setdefault("desc", f"Field {key}")


class Dialect:
    """One wire dialect: encode and decode pyiso8583 message dicts (every value a str)."""

    def __init__(self, name: str, spec: dict[str, dict], description: str = "", track2_separator: str = "="):
        self.name = name
        self.spec = spec
        self.description = description
        self._track2_sep = track2_separator
        self._binary_mti = spec["t"]["data_enc"] == "b"
        self._mti_enc = spec["t"]["data_enc"]
        self._header_len = spec["h"]["max_len"]
        self._compiled = compile_spec(spec)

    def encode(self, msg: dict[str, str]) -> bytes:
        """Encode a message dict; raises MessageError naming the field on bad content."""
        if self._track2_sep != "=" and "35" in msg:  # on the wire in this dialect's own separator
            msg = {**msg, "35": msg["35"].replace("=", self._track2_sep)}
        if self._compiled is not None:
            try:
                return self._compiled.encode(msg)
            except CodecError as exc:
                raise MessageError(str(exc), mti=msg.get("t"), field=exc.field) from None
            except Unsupported:
                pass
        doc = dict(msg)
        try:
            raw, _ = iso8583.encode(doc, self.spec)
        except iso8583.EncodeError as exc:
            raise MessageError(str(exc), mti=msg.get("t"), field=_field_of(exc)) from None
        return bytes(raw)

    def decode(self, data: bytes) -> dict[str, str]:
        """Decode one message; MessageError carries the MTI when it could be read."""
        if self._compiled is not None:
            try:
                return self._track2_in(self._compiled.decode(data))
            except CodecError as exc:
                raise MessageError(str(exc), mti=self.peek_mti(data), field=exc.field, partial=exc.partial) from None
            except Unsupported:
                pass
        try:
            doc, _ = iso8583.decode(data, self.spec)
        except iso8583.DecodeError as exc:
            partial = {k: v for k, v in exc.doc_dec.items() if isinstance(v, str)}
            raise MessageError(str(exc), mti=self.peek_mti(data), field=_field_of(exc), partial=partial) from None
        except (ValueError, LookupError, IndexError) as exc:  # codec quirks on hostile bytes
            raise MessageError(f"undecodable message: {exc}", mti=self.peek_mti(data)) from None
        return self._track2_in(doc)

    def _track2_in(self, doc: dict[str, str]) -> dict[str, str]:
        """Track 2 with "=" as its separator, whatever this dialect puts on the wire."""
        if self._track2_sep != "=" and "35" in doc:
            doc["35"] = doc["35"].replace(self._track2_sep, "=")
        return doc

    def peek_mti(self, data: bytes) -> str | None:
        """The MTI of a frame, if its first bytes are a plausible MTI; None otherwise."""
        start = self._header_len
        try:
            if self._binary_mti:
                mti = data[start:start + 2].hex()
            else:
                mti = data[start:start + 4].decode(self._mti_enc)
        except (UnicodeDecodeError, LookupError):
            return None
        return mti if len(mti) == 4 and mti.isdigit() else None

    def __repr__(self) -> str:
        return f"Dialect({self.name!r})"


def _field_of(exc: Exception) -> str | None:
    return getattr(exc, "field", None)


def _load_file(path: Path) -> Dialect:
    try:
        doc = json.loads(path.read_text())
    except OSError as exc:
        raise DialectError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise DialectError(f"{path}: line {exc.lineno}: invalid JSON: {exc.msg}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("fields"), dict):
        raise DialectError(f"{path}: expected an object with a 'fields' object")
    fields = doc["fields"]
    for key in ("h", "t", "p"):
        if key not in fields:
            raise DialectError(f"{path}: field {key}: missing (h, t and p are required)")
    for key, spec in fields.items():
        _validate_field(path, key, spec)
    sep = doc.get("track2_separator", "=")
    if not (isinstance(sep, str) and len(sep) == 1):
        raise DialectError(f"{path}: field track2_separator: must be one character")
    return Dialect(doc.get("name", path.stem), fields, doc.get("description", ""), sep)


@lru_cache(maxsize=32)
def load_dialect(name_or_path: str) -> Dialect:
    """A dialect by name (a file in specs/) or by path to a JSON file."""
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = specs_dir() / f"{name_or_path}.json"
        if not path.exists():
            raise DialectError(f"{path}: unknown dialect {name_or_path!r} (have: {', '.join(dialect_names())})")
    return _load_file(path)


def dialect_names() -> list[str]:
    return sorted(p.stem for p in specs_dir().glob("*.json") if not p.stem.startswith("emv"))
