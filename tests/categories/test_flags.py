"""Flags: a NEW child in special circumstances is a child whose first open Article 10
category appears (docs/categories.md §6 rule 2); urgent categories and urgent signals carry
Decree 56 Art. 26's 12-hour deadline; every new referral goes to the officer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sync.categories import (
    ChildCategory,
    FlagKind,
    FlagSpec,
    apply_derived,
    flags_to_raise,
    provisional_categories,
)
from tests.categories.builders import (
    FORM,
    NEUTRAL_CHILD,
    NEUTRAL_HOUSEHOLD,
    OFFICER,
    SCREENING,
    TODAY,
    derived_category,
    opened,
)

NOW = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)
IN_12_HOURS = NOW + timedelta(hours=12)
NEW = FlagKind.NEW_SPECIAL_CIRCUMSTANCE


def ended(category: ChildCategory) -> ChildCategory:
    return category.end(by=OFFICER, at=NOW - timedelta(days=30), why="Đã hết hoàn cảnh")


def test_the_first_article_10_category_raises_a_flag() -> None:
    assert flags_to_raise([], [opened("HCDB-A")], NOW) == [FlagSpec("HCDB-A", None, NEW)]


def test_a_confirmed_first_category_raises_it_too() -> None:
    confirmed = opened("HCDB-C").confirm(by=OFFICER, at=NOW, why="Xác minh")
    assert flags_to_raise([], [confirmed], NOW) == [FlagSpec("HCDB-C", None, NEW)]


def test_a_second_article_10_category_does_not() -> None:
    before = [opened("HCDB-A")]
    assert flags_to_raise(before, [*before, opened("HCDB-D")], NOW) == []


def test_confirming_a_known_category_does_not() -> None:
    before = [opened("HCDB-A")]
    after = [before[0].confirm(by=OFFICER, at=NOW, why="Giấy chứng tử")]
    assert flags_to_raise(before, after, NOW) == []


def test_plan_and_risk_markers_do_not_make_a_child_new() -> None:
    after = [opened("PLAN-POOR"), opened("RISK"), opened("AGEOUT-16-22")]
    assert flags_to_raise([], after, NOW) == []


def test_markers_before_do_not_stop_the_first_article_10_flag() -> None:
    before = [opened("PLAN-POOR"), opened("RISK")]
    assert flags_to_raise(before, [*before, opened("HCDB-H")], NOW) == [
        FlagSpec("HCDB-H", None, NEW)
    ]


def test_a_child_whose_categories_all_ended_is_new_again() -> None:
    # Decision: the commune must act again (a new episode), so it is flagged again.
    before = [ended(opened("HCDB-B"))]
    assert flags_to_raise(before, [*before, opened("HCDB-C")], NOW) == [
        FlagSpec("HCDB-C", None, NEW)
    ]
    same_code_again = [*before, opened("HCDB-B")]
    assert flags_to_raise(before, same_code_again, NOW) == [FlagSpec("HCDB-B", IN_12_HOURS, NEW)]


def test_urgent_categories_carry_a_deadline_twelve_hours_from_now() -> None:
    assert flags_to_raise([], [opened("HCDB-B")], NOW) == [FlagSpec("HCDB-B", IN_12_HOURS, NEW)]


def test_the_urgent_category_leads_the_new_child_flag() -> None:
    flags = flags_to_raise([], [opened("HCDB-A"), opened("HCDB-B")], NOW)
    assert flags == [FlagSpec("HCDB-B", IN_12_HOURS, NEW)]


def test_an_urgent_category_on_a_known_child_still_starts_the_clock() -> None:
    before = [opened("HCDB-D")]
    assert flags_to_raise(before, [*before, opened("HCDB-B")], NOW) == [
        FlagSpec("HCDB-B", IN_12_HOURS, FlagKind.URGENT)
    ]


def test_an_urgent_signal_starts_the_clock_on_a_marker() -> None:
    after = [opened("RISK", urgent=True)]
    assert flags_to_raise([], after, NOW) == [FlagSpec("RISK", IN_12_HOURS, FlagKind.URGENT)]


def test_an_urgent_signal_on_an_already_open_marker_starts_the_clock_once() -> None:
    before = [opened("RISK")]
    after = apply_derived(before, [derived_category("RISK", urgent=True)], by=SCREENING, at=NOW)
    assert flags_to_raise(before, after, NOW) == [FlagSpec("RISK", IN_12_HOURS, FlagKind.URGENT)]
    again = apply_derived(after, [derived_category("RISK", urgent=True)], by=SCREENING, at=NOW)
    assert flags_to_raise(after, again, NOW) == []


def test_every_new_referral_is_a_confidential_flag_for_the_officer() -> None:
    after = [opened("HCDB-L", referral=True), opened("HCDB-E", referral=True)]
    assert flags_to_raise([], after, NOW) == [
        FlagSpec("HCDB-L", IN_12_HOURS, FlagKind.REFERRAL, confidential=True),
        FlagSpec("HCDB-E", None, FlagKind.REFERRAL, confidential=True),
    ]


def test_a_referral_opened_by_the_officer_makes_the_child_new_without_a_second_clock() -> None:
    before = [opened("HCDB-M", referral=True)]
    after = [before[0].accept_referral(by=OFFICER, at=NOW, why="Đã xác minh ban đầu")]
    assert flags_to_raise(before, after, NOW) == [FlagSpec("HCDB-M", None, NEW, confidential=True)]


def test_a_repeated_referral_is_not_flagged_twice() -> None:
    before = [opened("HCDB-G", referral=True)]
    after = apply_derived(before, [derived_category("HCDB-G", referral=True)], by=SCREENING, at=NOW)
    assert flags_to_raise(before, after, NOW) == []


def test_urgent_flags_come_first() -> None:
    after = [opened("HCDB-A"), opened("HCDB-E", referral=True), opened("RISK", urgent=True)]
    assert [f.code for f in flags_to_raise([], after, NOW)] == ["RISK", "HCDB-A", "HCDB-E"]


def test_from_screening_answers_to_flags() -> None:
    """A baby found abandoned, with no one caring for it: the commune has 12 hours."""
    baby = {
        **NEUTRAL_CHILD,
        "c_dob": "2026-05-28",
        "c_joined": "found_abandoned",
        "c_mother_status": "unknown",
        "c_father_status": "unknown",
        "c_carer": "no_one",
        "c_school": "",
        "c_works": "",
    }
    derived = provisional_categories(FORM, NEUTRAL_HOUSEHOLD, baby, TODAY)
    assert [(d.code, d.subcode) for d in derived] == [("HCDB-B", "B.1"), ("RISK", None)]
    after = apply_derived([], derived, by=SCREENING, at=NOW, source="uuid:abc")
    assert flags_to_raise([], after, NOW) == [
        FlagSpec("HCDB-B", IN_12_HOURS, NEW),
        FlagSpec("RISK", IN_12_HOURS, FlagKind.URGENT),
    ]
