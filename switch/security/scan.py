"""`acqsim pci-scan` engine: walk a data directory (SQLite files, logs, JSONL recordings, HTML/XML/JSON
reports) and optionally a database URL, and report card data found outside protected columns (Q2: card
data is stored only encrypted, so a clear PAN, track, PIN block, CVV or key anywhere else is a finding).

Text files are streamed in chunks cut at line ends and decoded as latin-1 (never fails, keeps ASCII card
data readable in any encoding); gzip-rotated logs are read through gzip. SQLite files are recognised by
their header, whatever their name.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import BinaryIO

from switch.security.detect import scan_text
from switch.security.registry import EncryptedColumns
from switch.security.report import ScanReport
from switch.security.scan_db import scan_sqlite_file, scan_url

CHUNK = 4 << 20
_SQLITE_MAGIC = b"SQLite format 3\x00"
# SQLite side files are read through the database itself (WAL content included).
_SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
_SKIP_DIRS = {"__pycache__", ".git"}


def scan(data_dir: str | Path | None = None, db_url: str | None = None, *, schema: str | None = None,
         keep: int = 1000, extra_protected: dict[str, str] | None = None) -> ScanReport:
    """Scan a data directory and/or a database URL; returns the (masked) report."""
    report = ScanReport(keep=keep)
    registry = EncryptedColumns(extra_protected)
    if data_dir is not None:
        scan_directory(Path(data_dir), report, registry)
    if db_url:
        try:
            scan_url(db_url, report, schema=schema, registry=registry)
        except Exception as exc:  # report an unreachable database instead of a traceback
            report.errors.append(f"database: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
    return report.finish()


def scan_directory(root: Path, report: ScanReport, registry: EncryptedColumns | None = None) -> None:
    registry = registry or EncryptedColumns()
    if not root.exists():
        report.errors.append(f"{root}: no such directory")
        return
    paths = [root] if root.is_file() else _walk(root)
    for path in paths:
        label = str(path.relative_to(root)) if path != root else path.name
        try:
            with open(path, "rb") as fh:
                head = fh.read(len(_SQLITE_MAGIC))
        except OSError as exc:
            report.errors.append(f"{label}: cannot read: {exc.strerror}")
            continue
        if head == _SQLITE_MAGIC:
            scan_sqlite_file(path, report, label, registry)
        else:
            scan_file(path, report, label)


def _walk(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        for name in sorted(filenames):
            path = Path(dirpath) / name
            # Regular files only: opening a FIFO or a device (a symlink to /dev/zero) would block or never end.
            if not name.endswith(_SIDE_SUFFIXES) and path.is_file():
                out.append(path)
    return out


def scan_file(path: Path, report: ScanReport, label: str | None = None) -> None:
    """Scan one text file (plain or .gz) chunk by chunk; findings carry file:line."""
    label = label or str(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as fh:
            scan_stream(fh, report, label)
    except (OSError, EOFError) as exc:
        report.errors.append(f"{label}: cannot read: {exc}")
        return
    report.files += 1


def scan_stream(fh: BinaryIO, report: ScanReport, label: str) -> None:
    line = 1
    carry = b""
    while True:
        block = fh.read(CHUNK)
        data = carry + block
        if not data:
            break
        if block:
            cut = data.rfind(b"\n") + 1
            if cut == 0 and len(data) < 4 * CHUNK:
                carry = data  # one very long line: read more before scanning it
                continue
            if cut == 0:
                cut = len(data) - 64  # pathological line: scan with a small overlap kept for the next pass
            part, carry = data[:cut], data[cut:]
        else:
            part, carry = data, b""
        report.bytes += len(part)
        text = part.decode("latin-1")
        for hit in scan_text(text):
            report.add(hit.kind, f"{label}:{line + text.count(chr(10), 0, hit.start)}", hit.detail)
        line += text.count("\n")
        if not block:
            break
