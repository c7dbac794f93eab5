"""Reporting periods on the Vietnamese calendar (UTC+7)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from exports.periods import InvalidPeriod, parse_period


@pytest.mark.parametrize(("text", "first", "last"), [
    ("2026", date(2026, 1, 1), date(2026, 12, 31)),
    ("2026-H1", date(2026, 1, 1), date(2026, 6, 30)),
    ("2026-H2", date(2026, 7, 1), date(2026, 12, 31)),
    ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
    ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31)),
    ("2026-q4", date(2026, 10, 1), date(2026, 12, 31)),
])
def test_a_period_names_its_calendar_days(text: str, first: date, last: date) -> None:
    period = parse_period(text)
    assert (period.first, period.last) == (first, last)


def test_a_period_begins_and_ends_at_midnight_in_vietnam() -> None:
    q4 = parse_period("2026-Q4")
    assert q4.start_utc == datetime(2026, 9, 30, 17, 0)
    assert q4.end_utc == datetime(2026, 12, 31, 17, 0)
    assert q4.contains(datetime(2026, 9, 30, 18, 0))  # 1 October, 01:00 in Hà Nội
    assert not q4.contains(datetime(2026, 9, 30, 16, 59))
    assert not q4.contains(datetime(2026, 12, 31, 17, 0))  # 1 January 2027, 00:00


@pytest.mark.parametrize("text", ["", "2026-Q5", "2026-H3", "Q4-2026", "26", "2026-12"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(InvalidPeriod):
        parse_period(text)
