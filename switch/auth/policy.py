"""Data-driven rules of the pipeline: mandatory fields, allowed transaction types per terminal kind,
blocked merchant categories (B13), limits by verification level (B4, N15). Loaded from fixtures and
overridable from the --config file (keys `auth.mandatory`, `auth.allowed_types`, `auth.hold_timeout`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from switch.issuer.fixtures import Fixtures

# Mandatory fields by MTI class and processing-code type ("*" = any type). "PAN" means field 2 or 35.
MANDATORY: dict[str, dict[str, tuple[str, ...]]] = {
    "0100": {"*": ("3", "4", "7", "11", "41", "49", "PAN")},
    "0200": {"*": ("3", "4", "7", "11", "41", "49", "PAN"), "31": ("3", "7", "11", "41", "PAN"),
             "40": ("3", "4", "7", "11", "41", "49", "PAN", "103")},
    "0220": {"*": ("3", "4", "7", "11", "41", "90")},
    "0400": {"*": ("3", "4", "7", "11", "41", "90")},
    "0420": {"*": ("3", "4", "7", "11", "41", "90")},
    "0500": {"*": ("7", "11", "41")},
}

# Processing-code types (first two digits of field 3) -> limit category.
LIMIT_CATEGORY = {"00": "purchase", "01": "cash", "40": "transfer"}
# Types that carry money from the cardholder and so need an amount > 0 (13 otherwise).
NEEDS_AMOUNT = ("00", "01", "20", "40")
# Types where the cardholder must prove presence with a PIN when one is sent (refunds never ask for one).
PIN_TYPES = ("00", "01", "31", "40")


@dataclass
class Policy:
    allowed_types: dict[str, list[str]]
    blocked_mcc: dict[str, str]
    limits: dict[str, Any]
    mandatory: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=lambda: dict(MANDATORY))
    hold_timeout: int = 7 * 24 * 3600  # pre-auth hold expiry (seconds)
    blocked_flags: tuple[str, ...] = ("prohibited", "b13")  # merchant flags refused like a blocked MCC

    @classmethod
    def from_fixtures(cls, fx: Fixtures, config: dict | None = None) -> Policy:
        auth = (config or {}).get("auth", {})
        mandatory = dict(MANDATORY)
        for mti, rules in (auth.get("mandatory") or {}).items():
            mandatory[mti] = {k: tuple(v) for k, v in rules.items()}
        return cls(allowed_types=auth.get("allowed_types") or fx.allowed_types,
                   blocked_mcc=fx.blocked_mcc, limits=fx.limits, mandatory=mandatory,
                   hold_timeout=int(auth.get("hold_timeout", 7 * 24 * 3600)))

    def mandatory_for(self, mti_class: str, txn_type: str) -> tuple[str, ...]:
        rules = self.mandatory.get(mti_class, {})
        return rules.get(txn_type, rules.get("*", ()))

    def limits_for(self, kyc_level: str, category: str, overrides: dict | None) -> dict[str, int]:
        """The level's limits for `category`, with per-card overrides replacing single keys."""
        base = dict(self.limits.get("levels", {}).get(kyc_level, {}).get(category, {}))
        base.update((overrides or {}).get(category, {}))
        return {k: int(v) for k, v in base.items()}


def periods(now: datetime) -> dict[str, str]:
    """Counter keys for the limit periods containing `now` (UTC)."""
    return dict(_periods(now.year, now.month, now.day))


@lru_cache(maxsize=64)
def _periods(year: int, month: int, day: int) -> tuple[tuple[str, str], ...]:
    # Every request asks twice: strftime per request showed in profiles, a day's keys never change.
    return (("daily", f"D{year:04d}{month:02d}{day:02d}"), ("monthly", f"M{year:04d}{month:02d}"))
