"""Scan databases for card data: every text/blob column of every table, SQLite files or a SQLAlchemy URL.

Rows are streamed in batches; per column the batch's values are joined into one string and the compiled
detectors run once over it, so the per-row Python cost is a list comprehension (100 MB in seconds).
Offsets are mapped back to rows only when something is found. Columns declared protected in
switch.security.registry are skipped and listed in the report.
"""

from __future__ import annotations

import bisect
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from switch.security.detect import column_kind, scan_named_value, scan_text
from switch.security.registry import EncryptedColumns
from switch.security.report import ScanReport

BATCH = 5000
_SEPARATOR = "\n"  # not alphanumeric, so detectors never join two rows into one match
_SYSTEM_SCHEMAS = {"information_schema", "pg_catalog", "pg_toast"}


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("latin-1")  # ASCII card data stays readable inside binary blobs
    return None


class _ColumnScanner:
    """Runs the detectors over one column, batch by batch."""

    def __init__(self, report: ScanReport, where: str, table: str, column: str) -> None:
        self.report = report
        self.where = where
        self.table = table
        self.column = column
        self.kind = column_kind(column)

    def batch(self, keys: Sequence[Any], values: Iterable[Any]) -> None:
        texts = [v if v.__class__ is str else _as_text(v) for v in values]
        joined = _SEPARATOR.join(t or "" for t in texts)
        if not joined.strip(_SEPARATOR):
            return
        hits = scan_text(joined)
        if hits:
            starts, pos = [], 0
            for t in texts:
                starts.append(pos)
                pos += len(t or "") + 1
            for hit in hits:
                row = bisect.bisect_right(starts, hit.start) - 1
                self._add(hit.kind, keys[row], hit.detail)
        if self.kind:
            for key, t in zip(keys, texts, strict=True):
                if t:
                    hit = scan_named_value(self.kind, self.column, t)
                    if hit:
                        self._add(hit.kind, key, hit.detail)

    def _add(self, kind: str, key: Any, detail: str) -> None:
        self.report.add(kind, f"{self.where}: {self.table}.{self.column} row {key}", detail)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def scan_sqlite_file(path: Path, report: ScanReport, label: str | None = None,
                     registry: EncryptedColumns | None = None) -> None:
    """Scan every table of one SQLite file, read-only (WAL content included)."""
    registry = registry or EncryptedColumns()
    label = label or str(path)
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        report.errors.append(f"{label}: cannot open: {exc}")
        return
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        report.databases += 1
        for table in tables:
            cols = [r[1] for r in con.execute(f"PRAGMA table_info({_quote(table)})")]
            saved = report.snapshot()
            try:
                _scan_table(con, report, label, table, cols, registry)
            except sqlite3.OperationalError as exc:
                if "decode" not in str(exc):
                    raise
                # Text that is not UTF-8: forget the partial pass, read again with bad bytes replaced.
                report.restore(saved)
                con.text_factory = lambda b: b.decode("utf-8", "replace")
                _scan_table(con, report, label, table, cols, registry)
                con.text_factory = str
    except sqlite3.Error as exc:
        report.errors.append(f"{label}: {exc}")
    finally:
        con.close()
    try:
        report.bytes += path.stat().st_size
    except OSError:
        pass


def _scan_table(con: sqlite3.Connection, report: ScanReport, label: str, table: str, cols: list[str],
                registry: EncryptedColumns) -> None:
    wanted: list[tuple[str, str]] = []
    for col in cols:
        if registry.protection(table, col):
            report.skipped_columns.append(f"{label}: {table}.{col}")
        else:
            wanted.append((col, _quote(col)))
    report.tables += 1
    if not wanted:
        return
    scanners = [_ColumnScanner(report, label, table, col) for col, _ in wanted]
    exprs = ", ".join(expr for _, expr in wanted)
    try:
        cur = con.execute(f"SELECT rowid, {exprs} FROM {_quote(table)}")
        keyed = True
    except sqlite3.OperationalError:  # WITHOUT ROWID table: number the rows instead
        cur = con.execute(f"SELECT {exprs} FROM {_quote(table)}")
        keyed = False
    batches = iter(lambda: cur.fetchmany(BATCH), [])
    n = 0
    for rows in batches:
        if keyed:
            keys = [r[0] for r in rows]
            offset = 1
        else:
            keys = list(range(n + 1, n + len(rows) + 1))
            offset = 0
        n += len(rows)
        for j, scanner in enumerate(scanners):
            scanner.batch(keys, [r[j + offset] for r in rows])
    report.rows += n


def scan_url(url: str, report: ScanReport, schema: str | None = None,
             registry: EncryptedColumns | None = None) -> None:
    """Scan a database given as a SQLAlchemy URL (PostgreSQL: every schema but the system ones)."""
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.engine import make_url

    registry = registry or EncryptedColumns()
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        scan_sqlite_file(Path(parsed.database or ""), report, label=parsed.render_as_string(hide_password=True),
                         registry=registry)
        return
    label = parsed.render_as_string(hide_password=True)
    engine = create_engine(url)
    try:
        insp = inspect(engine)
        schemas = [schema] if schema else [s for s in insp.get_schema_names()
                                           if s not in _SYSTEM_SCHEMAS and not s.startswith("pg_")]
        report.databases += 1
        for sch in schemas:
            for table in insp.get_table_names(schema=sch):
                cols, exprs = [], []
                for col in insp.get_columns(table, schema=sch):
                    expr = _pg_text_expr(col["name"], col["type"])
                    if expr:
                        cols.append(col["name"])
                        exprs.append(expr)

                def run(sql: str) -> Iterable[list]:
                    with engine.connect() as conn:
                        result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(text(sql))
                        for part in result.partitions(BATCH):
                            yield [tuple(r) for r in part]

                try:
                    _scan_pg_table(run, report, label, sch, table, cols, exprs, registry)
                except Exception as exc:  # a table dropped mid-scan must not hide the others' findings
                    report.errors.append(f"{label}: {sch}.{table}: {type(exc).__name__}: {str(exc)[:120]}")
    finally:
        engine.dispose()


def _scan_pg_table(run: Any, report: ScanReport, label: str, schema: str, table: str, cols: list[str],
                   exprs: list[str], registry: EncryptedColumns) -> None:
    qualified = f"{_quote(schema)}.{_quote(table)}"
    wanted = [(c, e) for c, e in zip(cols, exprs, strict=True)]
    kept = [(c, e) for c, e in wanted if not registry.protection(table, c)]
    for c, _ in wanted:
        if registry.protection(table, c):
            report.skipped_columns.append(f"{label}: {schema}.{table}.{c}")
    report.tables += 1
    if not kept:
        return
    scanners = [_ColumnScanner(report, label, f"{schema}.{table}", c) for c, _ in kept]
    n = 0
    for rows in run(f"SELECT {', '.join(e for _, e in kept)} FROM {qualified}"):
        keys = list(range(n + 1, n + len(rows) + 1))
        n += len(rows)
        for j, scanner in enumerate(scanners):
            scanner.batch(keys, [r[j] for r in rows])
    report.rows += n


def _pg_text_expr(name: str, coltype: Any) -> str | None:
    """How to read a column as text, or None for numbers, dates and booleans (no card data there)."""
    try:
        py = coltype.python_type
    except NotImplementedError:
        py = None
    q = _quote(name)
    if py is str:
        return q
    if py is bytes:
        return q  # bytes come back as bytes and are read as latin-1
    if py in (dict, list, object) or py is None:
        return f"CAST({q} AS TEXT)"  # JSON, arrays and unknown types: their text form
    return None
