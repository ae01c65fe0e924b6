"""Currencies: ISO 4217 numeric code (our ledger number and field 49), alpha code and minor-unit exponent."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Currency:
    numeric: str
    alpha: str
    exponent: int

    @property
    def ledger(self) -> int:
        """One TigerBeetle ledger per currency: its ISO numeric code."""
        return int(self.numeric)


_TABLE = [Currency("682", "SAR", 2), Currency("368", "IQD", 3), Currency("840", "USD", 2),
          Currency("978", "EUR", 2), Currency("784", "AED", 2), Currency("414", "KWD", 3)]
_BY_KEY = {c.numeric: c for c in _TABLE} | {c.alpha: c for c in _TABLE}


def currency(code: str | int) -> Currency:
    """Look a currency up by numeric ("682", 682) or alpha ("SAR") code; ValueError if unknown."""
    key = str(code).upper()
    if key.isdigit():
        key = key.zfill(3)
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ValueError(f"unknown currency {code!r}") from None
