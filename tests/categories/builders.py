"""Answers of a neutral screened child — in no special circumstance at all — and helpers
to derive categories from small changes to it, the way the spec's mapping table reads."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

from sync.categories import (
    ChildCategory,
    DerivedCategory,
    Reason,
    open_category,
    provisional_categories,
)

FORM = "household_screening"
TODAY = date(2026, 6, 1)

# A 10-year-old in school, living with both parents, no work, no difficulty, no concern.
NEUTRAL_CHILD: dict[str, str] = {
    "c_full_name": "Nguyễn Thị Mai",
    "c_sex": "female",
    "c_dob_known": "full",
    "c_dob": "2016-01-15",
    "c_age": "10",
    "c_joined": "own_child",
    "c_migrant": "no",
    "c_sleep": "this_house",
    "c_school": "in_school",
    "c_works": "no",
    "c_mother_status": "alive_with_child",
    "c_father_status": "alive_with_child",
    "c_carer": "both_parents",
    **dict.fromkeys(
        ("d_see", "d_hear", "d_walk", "d_selfcare", "d_communicate", "d_learn", "d_behaviour"),
        "none",
    ),
    "d_cert": "no",
    "e_bhyt": "yes",
    "e_longterm": "no",
    "f_concern": "no",
    "g_support": "none",
    "g_child_assent": "yes",
}
NEUTRAL_HOUSEHOLD: dict[str, str] = {
    "today": "2026-05-20",
    "village": "thon-1",
    "consent_ok": "yes",
    "hh_head_name": "Nguyễn Văn An",
    "hh_poverty": "none",
    "hh_any_child": "yes",
    "n_children": "1",
}


def derive(
    child: Mapping[str, str] | None = None,
    household: Mapping[str, str] | None = None,
    today: date = TODAY,
) -> list[DerivedCategory]:
    """Categories of the neutral child with `child`/`household` answers changed."""
    return provisional_categories(
        FORM, {**NEUTRAL_HOUSEHOLD, **(household or {})}, {**NEUTRAL_CHILD, **(child or {})}, today
    )


def codes(
    child: Mapping[str, str] | None = None,
    household: Mapping[str, str] | None = None,
    today: date = TODAY,
) -> set[str]:
    return {found.code for found in derive(child, household, today)}


def born(dob: str) -> dict[str, str]:
    return {"c_dob_known": "full", "c_dob": dob}


T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
OFFICER = "vhxh.officer"
SCREENING = "sync"


def derived_category(
    code: str,
    *,
    subcode: str | None = None,
    referral: bool = False,
    urgent: bool = False,
    confidential: bool = False,
) -> DerivedCategory:
    """A derivation with one reason, as `provisional_categories` would return it."""
    reason = Reason(f"{code}-rule", f"lý do {code}", f"reason {code}", confidential, urgent)
    return DerivedCategory(code, (reason,), subcode, referral)


def opened(
    code: str,
    *,
    subcode: str | None = None,
    referral: bool = False,
    urgent: bool = False,
    confidential: bool = False,
    at: datetime = T0,
) -> ChildCategory:
    """A category episode as a screening opens it."""
    found = derived_category(
        code, subcode=subcode, referral=referral, urgent=urgent, confidential=confidential
    )
    return open_category(found, by=SCREENING, at=at, source="uuid:1")
