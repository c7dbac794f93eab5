from datetime import date

import pytest

from sync.dates import DateLevel, DatePrecision, PartialDate, compare_dates, compatible


@pytest.mark.parametrize(("text", "expected", "precision"), [
    ("2015-03-04", PartialDate(2015, 3, 4), DatePrecision.DAY),
    ("2015-03", PartialDate(2015, 3), DatePrecision.MONTH),
    ("2015", PartialDate(2015), DatePrecision.YEAR),
    ("4/3/2015", PartialDate(2015, 3, 4), DatePrecision.DAY),  # Vietnamese dd/mm/yyyy
    ("03/2015", PartialDate(2015, 3), DatePrecision.MONTH),
    ("2015-03-04T00:00:00.000+07:00", PartialDate(2015, 3, 4), DatePrecision.DAY),
])
def test_dates_are_known_to_the_day_month_or_year(
    text: str, expected: PartialDate, precision: DatePrecision
) -> None:
    parsed = PartialDate.parse(text)
    assert parsed == expected
    assert parsed.precision is precision
    assert PartialDate.parse(parsed.iso()) == parsed


@pytest.mark.parametrize("text", ["2015-02-30", "2015-13", "31/13/2015", "soon", "", "15"])
def test_impossible_or_unreadable_dates_are_none(text: str) -> None:
    assert PartialDate.parse(text) is None


def test_a_date_object_is_accepted() -> None:
    assert PartialDate.parse(date(2015, 3, 4)) == PartialDate(2015, 3, 4)


def test_swapped_day_and_month_is_its_own_level() -> None:
    assert compare_dates(PartialDate(2015, 3, 4), PartialDate(2015, 4, 3)) is DateLevel.SWAPPED
    assert PartialDate(2015, 3, 4).swapped() == PartialDate(2015, 4, 3)
    assert PartialDate(2015, 3, 14).swapped() is None  # there is no 14th month


def test_partial_dates_agree_only_as_far_as_known() -> None:
    full = PartialDate(2015, 3, 4)
    assert compare_dates(full, full) is DateLevel.EXACT
    assert compare_dates(full, PartialDate(2015, 3)) is DateLevel.SAME_MONTH
    assert compare_dates(full, PartialDate(2015)) is DateLevel.SAME_YEAR
    assert compare_dates(full, PartialDate(2015, 4)) is DateLevel.SAME_YEAR  # 4 = swapped day
    assert compare_dates(full, PartialDate(2015, 7)) is DateLevel.DIFFERENT
    assert compare_dates(full, PartialDate(2016)) is DateLevel.DIFFERENT
    assert compare_dates(full, None) is DateLevel.MISSING


def test_one_slip_in_one_part_is_near() -> None:
    full = PartialDate(2015, 3, 12)
    assert compare_dates(full, PartialDate(2015, 3, 13)) is DateLevel.NEAR
    assert compare_dates(full, PartialDate(2015, 3, 17)) is DateLevel.NEAR  # 12 → 17: one digit
    assert compare_dates(full, PartialDate(2016, 3, 12)) is DateLevel.NEAR
    assert compare_dates(full, PartialDate(2016, 4, 12)) is DateLevel.DIFFERENT


def test_an_estimated_year_allows_one_year_either_way() -> None:
    estimated = PartialDate(2015, estimated=True)
    assert compare_dates(estimated, PartialDate(2016, 1, 9)) is DateLevel.SAME_YEAR
    assert compare_dates(estimated, PartialDate(2017)) is DateLevel.DIFFERENT


def test_swap_insensitive_key_is_equal_for_a_date_and_its_swap() -> None:
    assert PartialDate(2015, 3, 4).swap_insensitive_key() == "2015-03-04"
    assert PartialDate(2015, 4, 3).swap_insensitive_key() == "2015-03-04"
    assert PartialDate(2015, 4).swap_insensitive_key() is None


def test_only_missing_or_different_dates_rule_twins_out() -> None:
    assert compatible(DateLevel.SAME_YEAR) and compatible(DateLevel.NEAR)
    assert not compatible(DateLevel.DIFFERENT) and not compatible(DateLevel.MISSING)
