"""payShield error codes used here, and the exceptions that carry one out of a command."""

from __future__ import annotations

# 00 no error; 01 verification failure (PIN, CVV, MAC, ARQC); 04 invalid key type code; 05 invalid MAC mode;
# 10 source key (first key) parity error; 11 destination key / PVK parity error; 14 error in PIN under LMK;
# 15 error in input data; 20 PIN block does not contain valid values; 23 invalid PIN block format code;
# 24 PIN fewer than 4 or more than 12 digits; 26 invalid key scheme; 27 key not double length / wrong length;
# 68 command not recognised (disabled); 80 data length error; 81 zero-length data (KQ); 83 key block
# format error, 84 key block check value (MAC) error, BD incompatible key types (TR-31).
# M0/M2/M6/M8 use their own field codes: 02 mode, 03 input format, 04 output format / MAC algorithm,
# 05 key type, 06 message length, 09 padding method; KQ: 04 mode, 05 scheme ID.
OK = "00"
VERIFICATION_FAILED = "01"


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


def digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() also accepts '²' or Arabic-Indic digits, which then fail deep inside
    the crypto libraries instead of answering a format error (found by fuzzing)."""
    return text.isascii() and text.isdigit()
