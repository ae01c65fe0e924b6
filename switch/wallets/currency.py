"""Currencies: ISO 4217 numeric code (our ledger number and field 49), alpha code and minor-unit exponent."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Currency:
    numeric: str
    alpha: str
    exponent: int
    ledger: int = field(init=False, compare=False)  # one TigerBeetle ledger per currency: its ISO numeric code

    def __post_init__(self) -> None:
        object.__setattr__(self, "ledger", int(self.numeric))  # read for every transfer: computed once


_TABLE = [Currency("682", "SAR", 2), Currency("368", "IQD", 3), Currency("840", "USD", 2),
          Currency("978", "EUR", 2), Currency("784", "AED", 2), Currency("414", "KWD", 3)]
_BY_KEY = {c.numeric: c for c in _TABLE} | {c.alpha: c for c in _TABLE}


def all_currencies() -> list[Currency]:
    """Every currency the ledger knows, in table order."""
    return list(_TABLE)


def currency(code: str | int) -> Currency:
    """Look a currency up by numeric ("682", 682) or alpha ("SAR") code; ValueError if unknown."""
    known = _BY_KEY.get(code)  # the usual case, several times per request: a code exactly as tabled
    if known is not None:
        return known
    key = str(code).upper()
    if key.isdigit():
        key = key.zfill(3)
    try:
        return _BY_KEY[key]
    except KeyError:
        raise ValueError(f"unknown currency {code!r}") from None
