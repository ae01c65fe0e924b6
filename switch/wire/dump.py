"""Readable message dumps in the style of jPOS logs, with card data masked (DESIGN: Card data)."""

from __future__ import annotations

from switch.wire.emv import TlvError, decode_icc, tag_names
from switch.wire.pan import mask_pan

MASKED_FIELDS = frozenset({"2", "35", "36", "45", "52", "55"})
_NAME_WIDTH = 40


def _mask_track(value: str) -> str:
    # Track 2/1 and their equivalents: show the masked PAN only, never expiry, service code or discretionary data.
    for sep in ("=", "D", "^"):
        if sep in value:
            pan = value.split(sep, 1)[0].lstrip("%;B")
            return f"{mask_pan(pan)}{sep}***"
    return "*" * len(value)


def mask_field(key: str, value: str) -> str:
    if key == "2":
        return mask_pan(value)
    if key in ("35", "36", "45"):
        return _mask_track(value)
    if key == "52":
        return "*" * len(value)
    return value


def _line(key: str, name: str, value: str) -> str:
    label = f"[{key:>3}] {name[:_NAME_WIDTH]} "
    return f"  {label.ljust(_NAME_WIDTH + 7, '.')} {value}"


def _icc_lines(value: str, mask: bool) -> list[str]:
    try:
        tags = decode_icc(value)
    except TlvError as exc:
        return [f"        (not BER-TLV: {exc})"]
    names = tag_names()
    out = []
    for tag, tag_value in tags.items():
        shown = f"<{len(tag_value) // 2} bytes>" if mask else tag_value
        out.append(f"        {tag:<5}{names.get(tag, 'Unknown tag')[:36]:<37}{shown}")
    return out


def dump(msg: dict[str, str], spec: dict | None = None, mask: bool = True, title: str = "") -> str:
    """One field per line, with its name; fields 2, 35, 36, 45, 52 and 55 masked unless mask=False."""
    lines = [f"--- {msg.get('t', '????')} {title}".rstrip()]
    for key in sorted((k for k in msg if k.isdigit() and k != "1"), key=int):
        value = msg[key]
        name = (spec or {}).get(key, {}).get("desc") or f"Field {key}"
        if key == "55":
            lines.append(_line(key, name, f"<{len(value) // 2} bytes>"))
            lines.extend(_icc_lines(value, mask))
            continue
        lines.append(_line(key, name, mask_field(key, value) if mask else value))
    return "\n".join(lines)


def masked_hex(data: bytes, limit: int = 256) -> str:
    """Hex of an unreadable frame for the log: only length, head and tail, so no card data leaks."""
    if len(data) <= 8:
        return f"{len(data)} bytes: {data[:4].hex().upper()}..."
    return f"{len(data)} bytes: {data[:6].hex().upper()}...{data[-2:].hex().upper()}"[:limit]
