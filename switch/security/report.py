"""What a PCI scan found: masked findings, counts by kind and what was covered."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

KINDS = ("pan", "track1", "track2", "pin_block", "pin", "cvv", "clear_key")


@dataclass(frozen=True)
class Finding:
    kind: str
    location: str  # "logs/switch.log:120" or "acqsim.db: cards.cvv rowid 3"
    detail: str  # masked by the detector: never the value in the clear


@dataclass
class ScanReport:
    """Findings (the first `keep` of them) plus counters; `clean` when nothing was found."""

    keep: int = 1000
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0
    databases: int = 0
    tables: int = 0
    rows: int = 0
    bytes: int = 0
    skipped_columns: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def clean(self) -> bool:
        return self.total == 0

    def add(self, kind: str, location: str, detail: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if len(self.findings) < self.keep:
            self.findings.append(Finding(kind, location, detail))

    def snapshot(self) -> tuple:
        return (len(self.findings), dict(self.counts), self.tables, self.rows, len(self.skipped_columns))

    def restore(self, saved: tuple) -> None:
        n, counts, self.tables, self.rows, skipped = saved
        del self.findings[n:]
        del self.skipped_columns[skipped:]
        self.counts = counts

    def finish(self) -> ScanReport:
        self.seconds = round(time.monotonic() - self.started, 3)
        return self

    def to_dict(self) -> dict:
        return {
            "clean": self.clean,
            "total": self.total,
            "counts": dict(sorted(self.counts.items())),
            "findings": [asdict(f) for f in self.findings],
            "truncated": self.total > len(self.findings),
            "scanned": {"files": self.files, "databases": self.databases, "tables": self.tables,
                        "rows": self.rows, "bytes": self.bytes, "seconds": self.seconds},
            "skipped_columns": self.skipped_columns,
            "errors": self.errors,
        }

    def text(self) -> str:
        lines = [f"{f.location}: {f.kind}: {f.detail}" for f in self.findings]
        if self.total > len(self.findings):
            lines.append(f"... {self.total - len(self.findings)} more findings not listed")
        for err in self.errors:
            lines.append(f"warning: {err}")
        covered = (f"{self.files} files, {self.databases} databases, {self.tables} tables, {self.rows} rows, "
                   f"{self.bytes / 1e6:.1f} MB in {self.seconds:.2f} s")
        if self.clean:
            lines.append(f"pci-scan: clean ({covered})")
        else:
            by_kind = ", ".join(f"{k} {n}" for k, n in sorted(self.counts.items()))
            lines.append(f"pci-scan: {self.total} findings ({by_kind}) in {covered}")
        return "\n".join(lines)
