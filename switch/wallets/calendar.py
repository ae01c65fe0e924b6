"""Business-day calendars (N9): weekend days and public holidays, as data in fixtures/calendars/."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

import yaml

from switch.paths import fixtures_dir

_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class BusinessCalendar:
    def __init__(self, name: str, weekend: list[str], holidays: list[dt.date]) -> None:
        self.name = name
        self.weekend = {_DAYS.index(d.lower()) for d in weekend}
        self.holidays = set(holidays)

    def is_business_day(self, day: dt.date) -> bool:
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_business_days(self, day: dt.date, n: int) -> dt.date:
        """The n-th business day after `day` (n=0: `day` itself if a business day, else the next one)."""
        if n == 0:
            while not self.is_business_day(day):
                day += dt.timedelta(days=1)
            return day
        while n > 0:
            day += dt.timedelta(days=1)
            if self.is_business_day(day):
                n -= 1
        return day

    def business_days_between(self, start: dt.date, end: dt.date) -> int:
        """Business days in (start, end]."""
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_business_day(day)
        return count


@lru_cache(maxsize=16)
def load_calendar(name: str = "SA", directory: str | None = None) -> BusinessCalendar:
    """fixtures/calendars/<name>.yaml: {weekend: [friday, saturday], holidays: [{date, name}, ...]}."""
    path = Path(directory) if directory else fixtures_dir() / "calendars"
    data = yaml.safe_load((path / f"{name}.yaml").read_text())
    holidays = []
    for h in data.get("holidays", []):
        start = h["date"] if isinstance(h["date"], dt.date) else dt.date.fromisoformat(str(h["date"]))
        holidays += [start + dt.timedelta(days=i) for i in range(int(h.get("days", 1)))]
    return BusinessCalendar(name, data["weekend"], holidays)
