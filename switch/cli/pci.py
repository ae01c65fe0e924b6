"""`acqsim pci-scan`: look for card data where it must not be (Q2: card data stored only encrypted;
issue 10, DESIGN: Card data).

Exit status: 0 clean, 1 on any finding, 2 when something could not be scanned (so "clean" is never
claimed for data that was not read). Findings are printed masked; values are never shown.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from switch.cli.common import CliError, add_data_flags, add_json_flag, print_json
from switch.paths import default_data_dir


def register(sub) -> None:
    p = sub.add_parser("pci-scan", help="search the database, logs, recordings and reports for card data",
                       description="Search for PANs, track data, PIN blocks, CVVs and clear keys outside "
                                   "encrypted columns. Exit 1 on any finding.")
    add_data_flags(p)
    p.add_argument("--schema", help="PostgreSQL: scan only this schema (default: every non-system schema)")
    p.add_argument("--path", action="append", default=[], metavar="PATH",
                   help="another file or directory to scan (repeatable), e.g. a log directory")
    p.add_argument("--limit", type=int, default=200, help="list at most this many findings (all are counted)")
    add_json_flag(p)
    p.set_defaults(func=run)
    k = sub.add_parser("test-pki", help="generate a throw-away CA, server and client certificates for TLS tests",
                       description="A CA, a server certificate for 127.0.0.1/::1/localhost, a client certificate "
                                   "and negative cases (unrelated CA, expired client), PEM, keys unencrypted. "
                                   "For tests and demos only.")
    k.add_argument("directory", help="where to write the files (created if missing)")
    k.add_argument("--server-name", default="acqsim-switch", help="server certificate common name")
    k.add_argument("--client-name", default="TERM0001", help="client certificate common name")
    add_json_flag(k)
    k.set_defaults(func=test_pki)


def run(args: argparse.Namespace) -> int:
    from switch.security.report import ScanReport
    from switch.security.scan import scan, scan_directory

    if args.data_dir:
        data_dir: Path | None = Path(args.data_dir)
        if not data_dir.is_dir():
            raise CliError(f"--data-dir {args.data_dir}: no such directory")
    else:
        data_dir = default_data_dir()
        if args.db and not data_dir.is_dir():
            data_dir = None  # only the database was asked for
    for extra in args.path:
        if not Path(extra).exists():
            raise CliError(f"--path {extra}: no such file or directory")
    report = scan(data_dir, args.db, schema=args.schema, keep=max(args.limit, 0))
    if args.path:
        extra_report = ScanReport(keep=max(args.limit, 0))
        for extra in args.path:
            scan_directory(Path(extra), extra_report)
        _merge(report, extra_report.finish())
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.text())
    if not report.clean:
        return 1
    return 2 if report.errors else 0


def test_pki(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from switch.security.certs import write_test_pki

    try:
        pki = write_test_pki(args.directory, server_name=args.server_name, client_name=args.client_name)
    except OSError as exc:
        raise CliError(f"{args.directory}: {exc.strerror}") from None
    paths = {k: str(v) for k, v in asdict(pki).items()}
    if args.json:
        print_json(paths)
    else:
        for name, path in paths.items():
            print(f"{name:20s} {path}")
    return 0


def _merge(into, other) -> None:
    for f in other.findings:
        if len(into.findings) < into.keep:
            into.findings.append(f)
    for kind, n in other.counts.items():
        into.counts[kind] = into.counts.get(kind, 0) + n
    for name in ("files", "databases", "tables", "rows", "bytes"):
        setattr(into, name, getattr(into, name) + getattr(other, name))
    into.errors += other.errors
    into.skipped_columns += other.skipped_columns
    into.seconds = round(into.seconds + other.seconds, 3)
