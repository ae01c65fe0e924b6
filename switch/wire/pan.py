"""Primary account numbers: the Luhn check digit (ISO/IEC 7812-1) and the 6+4 display mask (PCI DSS 3.4).
One definition for the switch, the issuer, the terminal agent and pci-scan."""

from __future__ import annotations

_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_ok(digits: str) -> bool:
    """True when the last digit is the Luhn check digit of the others. ASCII digits only: str.isdigit()
    alone also accepts '²' and Arabic-Indic digits."""
    if not (digits and digits.isascii() and digits.isdigit()):
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        total += _DOUBLED[d] if i & 1 else d
    return total % 10 == 0


def luhn_digit(partial: str) -> str:
    """The check digit to append to `partial` (digits)."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = ord(ch) - 48
        total += d if i & 1 else _DOUBLED[d]
    return str(-total % 10)


def mask_pan(pan: str | None) -> str:
    """First 6 and last 4 digits visible; a number of 10 digits or fewer is masked whole."""
    if not pan:
        return ""
    if len(pan) <= 10:
        return "*" * len(pan)
    return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]
