"""Reporting periods on the Vietnamese calendar: a quarter, a half-year or a year.

Officers report per quarter, half-year and year (docs/reports.md §3). A period is written
`2026-Q4`, `2026-H2` or `2026`; it starts at 00:00 and ends at 24:00 Vietnamese time (UTC+7),
whatever the server's clock zone. Stored timestamps are naive UTC (`server.db.utcnow`), so a
period also gives its bounds in naive UTC for SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import overload

from server.registry.children_query import VIETNAM, vietnam_day_start

VIETNAM_OFFSET = timedelta(hours=7)
_PERIOD = re.compile(r"^(\d{4})(?:-(Q[1-4]|H[12]))?$")


class InvalidPeriod(ValueError):
    """A period that is not `YYYY`, `YYYY-Qn` or `YYYY-Hn`."""


@dataclass(frozen=True)
class Period:
    """Calendar days `first` to `last`, both included, named as written."""

    name: str
    first: date
    last: date

    @property
    def start_utc(self) -> datetime:
        return vietnam_day_start(self.first)

    @property
    def end_utc(self) -> datetime:
        """The first instant after the period (exclusive bound)."""
        return vietnam_day_start(self.last + timedelta(days=1))

    def contains(self, moment: datetime | None) -> bool:
        """Whether a naive-UTC timestamp falls in the period."""
        return moment is not None and self.start_utc <= moment < self.end_utc


@overload
def vietnam_time(moment: datetime) -> datetime: ...
@overload
def vietnam_time(moment: None) -> None: ...
def vietnam_time(moment: datetime | None) -> datetime | None:
    """A stored naive-UTC timestamp as the wall-clock time in Vietnam, still naive (XLSX has
    no zones; the files say their times are UTC+7). Vietnam keeps no summer time."""
    return None if moment is None else moment + VIETNAM_OFFSET


@overload
def vietnam_day(moment: datetime) -> date: ...
@overload
def vietnam_day(moment: datetime | None) -> date | None: ...
def vietnam_day(moment: datetime | None) -> date | None:
    """The Vietnamese calendar day of a stored naive-UTC timestamp."""
    return None if moment is None else (moment + VIETNAM_OFFSET).date()


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def parse_period(text: str) -> Period:
    found = _PERIOD.match((text or "").strip().upper())
    if not found:
        raise InvalidPeriod(f"{text!r} is not a period: write 2026, 2026-H2 or 2026-Q4")
    year, part = int(found.group(1)), found.group(2)
    if part is None:
        first_month, months = 1, 12
    elif part.startswith("Q"):
        first_month, months = 3 * (int(part[1]) - 1) + 1, 3
    else:
        first_month, months = 6 * (int(part[1]) - 1) + 1, 6
    name = f"{year}" if part is None else f"{year}-{part}"
    return Period(name, date(year, first_month, 1), _month_end(year, first_month + months - 1))


def current_quarter(now: datetime | None = None) -> Period:
    """The quarter today falls in, on the Vietnamese calendar."""
    today = (now or datetime.now(VIETNAM)).astimezone(VIETNAM).date()
    return parse_period(f"{today.year}-Q{(today.month - 1) // 3 + 1}")
