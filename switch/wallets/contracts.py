"""Merchant contracts as data (fixtures/contracts.yaml): fees (N3, N4, B11), payout delay (N9), dormancy (N16)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import yaml

from switch.paths import fixtures_dir
from switch.wallets.currency import currency

MAX_PAYOUT_DELAY = 10  # N9: payouts within at most 10 business days


@dataclass(frozen=True)
class Contract:
    name: str
    mdr_percent: Decimal
    mdr_fixed: dict[str, int]
    mdr_min: dict[str, int]
    mdr_max: dict[str, int]
    annual_maintenance_fee: dict[str, int]
    monthly_pos_fee: dict[str, int]
    payout_delay_days: int
    calendar: str
    notice_days: int
    write_off_days: int
    rounding: dict[str, str] = field(default_factory=dict)

    def round_fee(self, numerator: int, denominator: int, cur: str) -> int:
        """B11: numerator/denominator minor units rounded half up (away from zero) to the nearest minor
        unit, or to the nearest whole unit for "whole" currencies. Exact: integers, no Decimal context."""
        c = currency(cur)
        step = 10 ** c.exponent if self.rounding.get(c.alpha, "minor") == "whole" else 1
        whole, rest = divmod(abs(numerator), denominator * step)
        units = whole + (2 * rest >= denominator * step)
        return (units if numerator >= 0 else -units) * step

    def mdr_fee(self, amount: int, cur: str) -> int:
        """N3: merchant discount rate = percent + fixed, clamped to [min, max], rounded (B11); never > amount.
        Worked as one exact fraction of integers: Decimal arithmetic cost ~10 us on every purchase."""
        alpha = currency(cur).alpha
        pct_num, pct_den = self.mdr_percent.as_integer_ratio()
        den = 100 * pct_den
        num = amount * pct_num + self.mdr_fixed.get(alpha, 0) * den
        num = max(num, self.mdr_min.get(alpha, 0) * den)
        if alpha in self.mdr_max:
            num = min(num, self.mdr_max[alpha] * den)
        return max(0, min(self.round_fee(num, den, cur), amount))

    def maintenance_instalment(self, cur: str) -> int:
        """N4: half of the annual fee (the Q2 instalment carries an odd minor unit)."""
        return self.annual_maintenance_fee.get(currency(cur).alpha, 0) // 2

    def pos_fee(self, cur: str, devices: int) -> int:
        return self.monthly_pos_fee.get(currency(cur).alpha, 0) * devices


def _money(d: dict | None) -> dict[str, int]:
    return {currency(k).alpha: int(v) for k, v in (d or {}).items()}


def _contract(name: str, c: dict, rounding: dict[str, str]) -> Contract:
    mdr = c.get("mdr", {})
    delay = int(c.get("payout_delay_days", 1))
    if not 0 <= delay <= MAX_PAYOUT_DELAY:
        raise ValueError(f"contract {name}: payout_delay_days must be 0..{MAX_PAYOUT_DELAY} (N9)")
    dormancy = c.get("dormancy", {})
    return Contract(
        name=name, mdr_percent=Decimal(str(mdr.get("percent", "0"))), mdr_fixed=_money(mdr.get("fixed")),
        mdr_min=_money(mdr.get("min")), mdr_max=_money(mdr.get("max")),
        annual_maintenance_fee=_money(c.get("annual_maintenance_fee")), monthly_pos_fee=_money(c.get("monthly_pos_fee")),
        payout_delay_days=delay, calendar=str(c.get("calendar", "SA")),
        notice_days=int(dormancy.get("notice_days", 150)), write_off_days=int(dormancy.get("write_off_days", 180)),
        rounding=rounding,
    )


@lru_cache(maxsize=8)
def load_contracts(path: str | None = None) -> dict[str, Contract]:
    data = yaml.safe_load(Path(path or fixtures_dir() / "contracts.yaml").read_text())
    rounding = {currency(k).alpha: v for k, v in (data.get("rounding") or {}).items()}
    return {name: _contract(name, c, rounding) for name, c in data["contracts"].items()}
