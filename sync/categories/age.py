"""A screened child's age in completed years on a given day, from what the form knows.

The household form records the date of birth at one of four precisions (``c_dob_known``:
full / month_year / year_only / estimated; docs/screening.md §4, Section A). The age decides the
Article 10 scope (a child is a person under 16, Luật Trẻ em Art. 1, docs/categories.md §1) and the
16–22 allowance window (Decree 20/2021 Art. 5(2), docs/categories.md §4), so it is recomputed on the
day of derivation rather than read from the phone's ``c_age`` snapshot.

Partial dates count from the earliest possible birthday (the 1st of the month, 1 January),
exactly as the form's ``c_age`` does (xlsforms/sources/screening_rules.py), so the server and
the phone agree on the age they show. An estimated age grows with the years since the
screening day. A 29 February birthday is reached on 1 March in other years.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class AgeFields:
    """Where one form keeps the date of birth (declared in the form's rule file)."""

    dob: str
    precision: str
    birth_year: str
    birth_month: str
    estimated_age: str
    age: str | None = None  # the phone's own age, used only when nothing else is known
    screening_date: str | None = None  # household-level (root) field
    full: str = "full"
    month_year: str = "month_year"
    year_only: str = "year_only"
    estimated: str = "estimated"

    def child_fields(self) -> tuple[str, ...]:
        names = (self.dob, self.precision, self.birth_year, self.birth_month, self.estimated_age)
        return names + ((self.age,) if self.age else ())

    def household_fields(self) -> tuple[str, ...]:
        return (self.screening_date,) if self.screening_date else ()


def completed_years(born: date, on: date) -> int:
    """Whole years from `born` to `on` (negative when `on` is before `born`)."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def earliest_birthday(child: Mapping[str, str], fields: AgeFields) -> date | None:
    """The earliest date of birth the answers allow; None for an estimate or no answer."""
    precision = child.get(fields.precision)
    year, month = _int(child.get(fields.birth_year)), _int(child.get(fields.birth_month))
    try:
        if precision == fields.full:
            return _date(child.get(fields.dob))
        if precision == fields.month_year and year is not None and month is not None:
            return date(year, month, 1)
        if precision == fields.year_only and year is not None:
            return date(year, 1, 1)
    except ValueError:
        return None
    return None


def child_age(
    child: Mapping[str, str], household: Mapping[str, str], fields: AgeFields, today: date
) -> int | None:
    """Completed years on `today`; None when the answers give no usable age."""
    born = earliest_birthday(child, fields)
    if born is not None:
        age = completed_years(born, today)
        return age if age >= 0 else None
    estimate = _int(child.get(fields.estimated_age))
    if child.get(fields.precision) == fields.estimated and estimate is not None:
        screened = _date(household.get(fields.screening_date)) if fields.screening_date else None
        grown = completed_years(screened, today) if screened is not None else 0
        return estimate + max(grown, 0)
    if fields.age:
        return _int(child.get(fields.age))
    return None
