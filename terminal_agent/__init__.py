"""POS/ATM terminal agent: card readers (serial and emulated), EMV card emulation, PIN pad, ISO 8583 flows."""

import warnings

try:  # psec and pyemv still call the TripleDES location deprecated in cryptography 43; the math is fine.
    from cryptography.utils import CryptographyDeprecationWarning

    warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning, module=r"(pyemv|psec)(\.|$)")
except ImportError:  # pragma: no cover
    pass
