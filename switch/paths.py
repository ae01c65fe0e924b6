"""Where the shipped data lives: specs/ and fixtures/ sit beside the packages in the source tree."""

from __future__ import annotations

import os
import sys
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _data_root() -> Path:
    # Editable installs and source checkouts keep specs/ next to the packages; a wheel install puts them
    # under <prefix>/share/acqsim.
    if (_SOURCE_ROOT / "specs").is_dir():
        return _SOURCE_ROOT
    return Path(sys.prefix) / "share" / "acqsim"


def specs_dir() -> Path:
    return _data_root() / "specs"


def fixtures_dir() -> Path:
    return _data_root() / "fixtures"


def default_data_dir() -> Path:
    """The data directory: $ACQSIM_DATA_DIR, else ~/.local/share/acqsim."""
    env = os.environ.get("ACQSIM_DATA_DIR")
    if env:
        return Path(env)
    return Path.home() / ".local" / "share" / "acqsim"
