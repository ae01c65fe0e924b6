"""Entry point of the `acqsim` console script."""

from __future__ import annotations

import argparse
import importlib
import sys

from switch.cli.common import CliError

# Each module has `register(subparsers)` that adds its commands; a command sets `func(args) -> int`.
COMMAND_MODULES = (
    "switch.cli.wallet",
    "switch.cli.ledger",
    "switch.cli.card",
    "switch.cli.fixtures",
    "switch.cli.bench",
    "switch.cli.demo",
    "switch.cli.iso",
    "switch.cli.serve",
    "switch.cli.pci",
    "switch.cli.scenario",
    "hsm_emulator.cli",
    "terminal_agent.cli",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="acqsim", description="Card-acquiring simulator: ISO 8583 switch, HSM, terminals, ledger.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as exc:
        sys.stderr.write(f"acqsim: error: {exc}\n")
        return 2
    except Exception as exc:  # bad URLs, unreachable databases, unreadable files: one line, no traceback
        message = _user_error(exc)
        if message is None:
            raise
        sys.stderr.write(f"acqsim: error: {message}\n")
        return 2
    except KeyboardInterrupt:
        return 130


def _user_error(exc: Exception) -> str | None:
    """A one-line explanation for errors caused by the user's input or environment; None for bugs."""
    try:
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, ArgumentError | NoSuchModuleError):
        return f"bad database URL: {exc}".splitlines()[0]
    if isinstance(exc, OperationalError):
        return f"database: {str(exc.orig or exc).splitlines()[0]}"
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError):
        return f"{exc.filename}: {exc.strerror}"
    return None


if __name__ == "__main__":
    sys.exit(main())
