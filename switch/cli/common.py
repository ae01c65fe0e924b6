"""Helpers shared by every sub-command: errors as one line, JSON output, shared flags."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any


class CliError(Exception):
    """A user error: printed as one line `acqsim: error: ...`, exit status 2."""


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, sort_keys=False, default=str)
    sys.stdout.write("\n")


def add_data_flags(parser: argparse.ArgumentParser) -> None:
    """--db, --data-dir and --config, shared by the commands that serve or touch data."""
    parser.add_argument("--db", metavar="URL", help="SQLAlchemy database URL (default: SQLite under the data directory)")
    parser.add_argument("--data-dir", metavar="DIR", help="data directory (default: $ACQSIM_DATA_DIR or ~/.local/share/acqsim)")
    parser.add_argument("--config", metavar="FILE", help="YAML configuration file")


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def host_port(text: str) -> tuple[str, int]:
    """Parse HOST:PORT for argparse."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


CPU_MAX = 4095  # Linux's largest CPU number on common builds; also keeps "0-99999999999" from filling memory


def cpu_list(text: str) -> set[int]:
    """Parse a CPU list for argparse: "0", "0,2" or "0-3" (the form taskset and /proc use)."""
    cpus: set[int] = set()
    for part in text.split(","):
        low, sep, high = part.strip().partition("-")
        if not low.isdigit() or (sep and not high.isdigit()) or (sep and int(high) < int(low)):
            raise argparse.ArgumentTypeError(f"expected CPU numbers such as 0 or 0,2 or 0-3, got {text!r}")
        if int(high or low) > CPU_MAX:
            raise argparse.ArgumentTypeError(f"CPU numbers go up to {CPU_MAX}, got {text!r}")
        cpus.update(range(int(low), int(high or low) + 1))
    return cpus


def pin_to_cpus(cpus: set[int]) -> None:
    """Run this process (all its threads) on `cpus` only; a one-line CliError when that is not possible."""
    if not hasattr(os, "sched_setaffinity"):
        raise CliError("--cpus is not supported on this platform")
    allowed = os.sched_getaffinity(0)
    if not cpus <= allowed:
        raise CliError(f"--cpus {','.join(map(str, sorted(cpus)))}: this process may only run on CPUs "
                       f"{','.join(map(str, sorted(allowed)))}")
    os.sched_setaffinity(0, cpus)
