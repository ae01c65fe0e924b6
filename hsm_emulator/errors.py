"""payShield error codes and the exception that carries one out of a command."""

from __future__ import annotations

OK = "00"
VERIFICATION_FAILED = "01"
SOURCE_KEY_PARITY = "10"
DEST_KEY_PARITY = "11"
LMK_ERROR = "13"
INVALID_INPUT = "15"
INVALID_PIN_BLOCK = "20"
INVALID_PIN_BLOCK_FORMAT = "23"
INVALID_PIN_LENGTH = "24"
INVALID_KEY_SCHEME = "26"
KCV_MISMATCH = "01"
INVALID_KEY_TYPE = "04"
INVALID_MAC_MODE = "05"
COMMAND_DISABLED = "68"
INTERNAL_ERROR = "41"
DATA_LENGTH = "80"
KEY_BLOCK_ERROR = "A1"


class HsmError(Exception):
    """Raised with a payShield error code; the command answers with that code and nothing else."""

    def __init__(self, code: str, reason: str = "") -> None:
        super().__init__(f"{code} {reason}".strip())
        self.code = code
        self.reason = reason


class HsmConnectionError(HsmError):
    """The remote HSM could not be reached or did not answer in time (code 'ZZ'); the caller decides
    (the switch answers 91/96). Raised only by HsmClient."""

    def __init__(self, reason: str) -> None:
        super().__init__("ZZ", reason)
