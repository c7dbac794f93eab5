"""Ages on the day of derivation, and AGEOUT-16-22 at its boundary dates (docs/categories.md §4):
Article 10 categories hold until the day before the 16th birthday; from that day, a young
person who is orphaned, abandoned or has no one to rely on and is still studying is
AGEOUT-16-22, until the day before the 22nd birthday."""

from __future__ import annotations

from datetime import date

import pytest

from sync.categories.age import AgeFields, child_age, completed_years
from tests.categories.builders import born, codes

FIELDS = AgeFields(
    dob="c_dob",
    precision="c_dob_known",
    birth_year="c_birth_year",
    birth_month="c_birth_month",
    estimated_age="c_age_est",
    age="c_age",
    screening_date="today",
)
ORPHAN_IN_SCHOOL = {
    "c_mother_status": "dead",
    "c_father_status": "dead",
    "c_carer": "grandparent",
    "c_school": "in_school",
}


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2026, 3, 14), {"HCDB-A", "RISK"}),  # the day before the 16th birthday
        (date(2026, 3, 15), {"AGEOUT-16-22", "RISK"}),  # the 16th birthday
        (date(2032, 3, 14), {"AGEOUT-16-22", "RISK"}),  # the day before the 22nd birthday
        (date(2032, 3, 15), {"RISK"}),  # the 22nd birthday
    ],
)
def test_ageout_boundaries(on: date, expected: set[str]) -> None:
    assert codes({**ORPHAN_IN_SCHOOL, **born("2010-03-15")}, today=on) == expected


@pytest.mark.parametrize(
    "circumstance",
    [
        {"c_joined": "found_abandoned"},
        {"c_mother_status": "unknown", "c_father_status": "unknown"},
        {"c_mother_status": "dead", "c_father_status": "missing_declared"},
        {"c_mother_status": "prison_or_compulsory", "c_father_status": "in_social_facility"},
    ],
)
def test_ageout_follows_abandoned_and_no_one_to_rely_on_too(
    circumstance: dict[str, str],
) -> None:
    assert "AGEOUT-16-22" in codes({**born("2009-05-01"), **circumstance})


def test_a_29_february_birthday_is_reached_on_1_march_in_other_years() -> None:
    dob = born("2008-02-29")
    child = {**ORPHAN_IN_SCHOOL, **dob}
    assert "AGEOUT-16-22" in codes(child, today=date(2030, 2, 28))  # still 21
    assert "AGEOUT-16-22" not in codes(child, today=date(2030, 3, 1))  # 22


def test_completed_years() -> None:
    assert completed_years(date(2010, 3, 15), date(2026, 3, 14)) == 15
    assert completed_years(date(2010, 3, 15), date(2026, 3, 15)) == 16
    assert completed_years(date(2010, 12, 31), date(2011, 1, 1)) == 0


@pytest.mark.parametrize(
    ("child", "household", "on", "expected"),
    [
        ({"c_dob_known": "full", "c_dob": "2010-03-15"}, {}, date(2026, 3, 15), 16),
        # Partial dates count from the earliest possible birthday, like the form's c_age.
        (
            {"c_dob_known": "month_year", "c_birth_year": "2010", "c_birth_month": "3"},
            {},
            date(2026, 3, 1),
            16,
        ),
        (
            {"c_dob_known": "month_year", "c_birth_year": "2010", "c_birth_month": "3"},
            {},
            date(2026, 2, 28),
            15,
        ),
        ({"c_dob_known": "year_only", "c_birth_year": "2010"}, {}, date(2026, 1, 1), 16),
        ({"c_dob_known": "year_only", "c_birth_year": "2010"}, {}, date(2025, 12, 31), 15),
        # An estimate grows with the years since the screening day.
        (
            {"c_dob_known": "estimated", "c_age_est": "15"},
            {"today": "2025-06-01"},
            date(2026, 5, 31),
            15,
        ),
        (
            {"c_dob_known": "estimated", "c_age_est": "15"},
            {"today": "2025-06-01"},
            date(2026, 6, 1),
            16,
        ),
        ({"c_dob_known": "estimated", "c_age_est": "15"}, {}, date(2030, 1, 1), 15),
        # Nothing usable: the phone's own age, or unknown.
        ({"c_age": "7"}, {}, date(2026, 1, 1), 7),
        ({"c_dob_known": "full", "c_dob": "not a date"}, {}, date(2026, 1, 1), None),
        ({"c_dob_known": "full", "c_dob": "2027-01-01"}, {}, date(2026, 1, 1), None),
        (
            {"c_dob_known": "month_year", "c_birth_year": "2010", "c_birth_month": "13"},
            {},
            date(2026, 1, 1),
            None,
        ),
        ({}, {}, date(2026, 1, 1), None),
    ],
)
def test_child_age(
    child: dict[str, str], household: dict[str, str], on: date, expected: int | None
) -> None:
    assert child_age(child, household, FIELDS, on) == expected


def test_an_unknown_age_keeps_article_10_categories() -> None:
    no_date = {
        "c_dob_known": "",
        "c_dob": "",
        "c_age": "",
        "c_mother_status": "dead",
        "c_father_status": "dead",
        "c_carer": "grandparent",
    }
    assert "HCDB-A" in codes(no_date)
