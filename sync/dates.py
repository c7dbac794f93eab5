"""Dates of birth known to the day, the month or the year only.

Households often know only a child's birth year, or give an age from which the collaborator
estimates one (the screening form's ``c_dob_known`` = full / month_year / year_only / estimated).
Import lists carry ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` (README "Importing the lists a commune
already has"), and Vietnamese paper habits write ``dd/mm/yyyy``. Day and month are swapped often
enough (a US-format phone, a ``04/03`` read the other way) that the swap is its own comparison
level (docs/matching.md §2.2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class DatePrecision(StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class DateLevel(StrEnum):
    """How two partial dates agree, from strongest to weakest evidence."""

    EXACT = "exact"  # both known to the day, equal
    SWAPPED = "swapped"  # both known to the day, day and month exchanged
    SAME_MONTH = "same_month"  # agree as far as the less precise one goes (month)
    SAME_YEAR = "same_year"  # agree as far as the less precise one goes (year)
    NEAR = "near"  # one component off by one digit or by one, or a week apart at most (a typo,
    # a misremembered day, twins across midnight)
    DIFFERENT = "different"
    MISSING = "missing"


# Two full dates this many days apart or fewer (also after correcting the year by one) are
# "near": a day misremembered or mistyped by a few days (docs/matching.md §2.2). Siblings are
# never born within a week of each other, so only the same child or twins can be this close
# (the twin rule treats "near" like "exact").
NEAR_DAYS = 7

_ISO = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ].*)?$")
_DMY = re.compile(r"^(?:(\d{1,2})[/.-])?(\d{1,2})[/.-](\d{4})$")


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A date with ``month``/``day`` None when unknown; ``estimated`` for a year from an age."""

    year: int
    month: int | None = None
    day: int | None = None
    estimated: bool = False

    def __post_init__(self) -> None:
        if self.day is not None and self.month is None:
            raise ValueError("a day without a month is not a partial date")
        date(self.year, self.month or 1, self.day or 1)  # raises ValueError when impossible

    @property
    def precision(self) -> DatePrecision:
        if self.day is not None:
            return DatePrecision.DAY
        return DatePrecision.MONTH if self.month is not None else DatePrecision.YEAR

    def iso(self) -> str:
        """``2015-03-04``, ``2015-03`` or ``2015``: the import template's format."""
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    def swapped(self) -> PartialDate | None:
        """The date with day and month exchanged, when that is a different valid date."""
        if self.day is None or self.month is None or self.day == self.month or self.day > 12:
            return None
        return PartialDate(self.year, self.day, self.month)

    def swap_insensitive_key(self) -> str | None:
        """A key equal for a date and its day/month swap (for blocking), None unless day-precise."""
        if self.day is None or self.month is None:
            return None
        low, high = sorted((self.day, self.month))
        return f"{self.year:04d}-{low:02d}-{high:02d}"

    @classmethod
    def from_date(cls, value: date) -> PartialDate:
        return cls(value.year, value.month, value.day)

    @classmethod
    def parse(cls, text: str | date | None, *, estimated: bool = False) -> PartialDate | None:
        """Parse ISO (full, year-month, year) or ``dd/mm/yyyy``/``mm/yyyy``; None if not a date."""
        if text is None:
            return None
        if isinstance(text, date):
            return cls.from_date(text)
        text = text.strip()
        iso, dmy = _ISO.match(text), _DMY.match(text)
        try:
            if iso:
                year, month, day = (int(g) if g else None for g in iso.groups())
            elif dmy:
                day, month, year = (int(g) if g else None for g in dmy.groups())
            else:
                return None
            assert year is not None
            return cls(year, month, day, estimated=estimated)
        except ValueError:
            return None


def _one_digit_apart(a: int, b: int) -> bool:
    """Off by one (12 vs 13) or by one typed digit (12 vs 17, 2015 vs 2016)."""
    if abs(a - b) == 1:
        return True
    sa, sb = f"{a:04d}", f"{b:04d}"
    return sum(x != y for x, y in zip(sa, sb, strict=True)) == 1


def _days_apart(ay: int, am: int, ad: int, by: int, bm: int, bd: int) -> bool:
    """At most ``NEAR_DAYS`` apart, or so once the year is corrected by one (2010-06-28 and
    2011-06-29: the year and the day both slipped)."""
    if abs(ay - by) > 1:
        return False
    other = date(by, bm, bd)
    for year in {ay, by}:
        try:
            if abs((date(year, am, ad) - other).days) <= NEAR_DAYS:
                return True
        except ValueError:  # 29 February in a common year
            continue
    return False


def compare_dates(a: PartialDate | None, b: PartialDate | None) -> DateLevel:
    """Agreement level of two dates of birth, honest about what each side knows.

    Written for speed (it runs for every candidate pair): plain int comparisons, no objects.
    """
    if a is None or b is None:
        return DateLevel.MISSING
    if a.estimated or b.estimated:
        return DateLevel.SAME_YEAR if abs(a.year - b.year) <= 1 else DateLevel.DIFFERENT
    ay, am, ad, by, bm, bd = a.year, a.month, a.day, b.year, b.month, b.day
    if ad is not None and bd is not None and am is not None and bm is not None:
        if ay == by and am == bm and ad == bd:
            return DateLevel.EXACT
        if ay == by and am == bd and ad == bm:
            return DateLevel.SWAPPED
        if ay != by:
            near = am == bm and ad == bd and _one_digit_apart(ay, by)
        elif am != bm:
            near = ad == bd and _one_digit_apart(am, bm)
        else:
            near = _one_digit_apart(ad, bd)
        if near or _days_apart(ay, am, ad, by, bm, bd):
            return DateLevel.NEAR
        if ay == by and ((am == 1 and ad == 1) or (bm == 1 and bd == 1)):
            return DateLevel.SAME_YEAR  # 1 January typed for "born that year, day unknown"
        return DateLevel.DIFFERENT
    if ay != by:
        return DateLevel.DIFFERENT
    if am is not None and bm is not None:
        if am == bm:
            return DateLevel.SAME_MONTH
        # a month-only report may be the day-known date's swap (03/2015 for 2015-04-03)
        known = a if ad is not None else b
        if known.day is not None and known.day == (bm if known is a else am):
            return DateLevel.SAME_YEAR
        return DateLevel.DIFFERENT
    return DateLevel.SAME_YEAR


def compatible(level: DateLevel) -> bool:
    """Could the two dates be the same date of birth (so twins are possible)?"""
    return level not in (DateLevel.DIFFERENT, DateLevel.MISSING)
