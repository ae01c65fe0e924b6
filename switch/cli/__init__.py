"""The `acqsim` command line. Each component registers its own sub-commands (see main.COMMAND_MODULES)."""

from switch.cli.common import CliError

__all__ = ["CliError"]
