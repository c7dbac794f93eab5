"""The household_screening rules, row by row of the table of docs/screening.md §7
("From answers to provisional categories").

Each row starts from a neutral child (builders.NEUTRAL_CHILD: in no special circumstance)
and changes only the answers the row names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from sync.categories import (
    DerivedCategory,
    NoRulesForForm,
    forms_with_rules,
    provisional_categories,
    provisional_categories_each,
)
from tests.categories.builders import (
    FORM,
    NEUTRAL_CHILD,
    NEUTRAL_HOUSEHOLD,
    TODAY,
    born,
    codes,
    derive,
)

BOTH_DEAD = {"c_mother_status": "dead", "c_father_status": "dead"}
BOTH_UNKNOWN = {"c_mother_status": "unknown", "c_father_status": "unknown"}
POOR = {"hh_poverty": "poor"}
DROPPED_OUT_TO_WORK = {
    "c_school": "dropped_out",
    "c_drop_reason": "work_earn",
    "c_grade": "7",
    "c_works": "yes",
    "c_work_hours": "20",
    "c_hazard": "none",
}
WORKS = {"c_works": "yes", "c_work_hours": "10", "c_hazard": "none"}
AGED_14 = born("2012-01-15")


@dataclass(frozen=True)
class Row:
    code: str
    child: dict[str, str]
    household: dict[str, str] = field(default_factory=dict)
    subcode: str | None = None
    referral: bool = False


# The spec's table, one minimal answer set per rule (and per sub-code).
FIRES: dict[str, Row] = {
    "HCDB-A both parents dead, no carer → A.1": Row(
        "HCDB-A", {**BOTH_DEAD, "c_carer": "no_one"}, subcode="A.1"
    ),
    "HCDB-A in a social facility → A.2": Row(
        "HCDB-A", {**BOTH_DEAD, "c_carer": "social_facility"}, subcode="A.2"
    ),
    "HCDB-A with grandparents → A.3": Row(
        "HCDB-A", {**BOTH_DEAD, "c_carer": "grandparent"}, subcode="A.3"
    ),
    "HCDB-A with another relative → A.3": Row(
        "HCDB-A", {**BOTH_DEAD, "c_carer": "other_relative"}, subcode="A.3"
    ),
    "HCDB-A with a non-relative family → A.4": Row(
        "HCDB-A", {**BOTH_DEAD, "c_carer": "non_relative_family"}, subcode="A.4"
    ),
    "HCDB-B found abandoned, no carer → B.1": Row(
        "HCDB-B", {"c_joined": "found_abandoned", "c_carer": "no_one"}, subcode="B.1"
    ),
    "HCDB-B found abandoned, cared for → B.2": Row(
        "HCDB-B", {"c_joined": "found_abandoned", "c_carer": "non_relative_family"}, subcode="B.2"
    ),
    "HCDB-B both parents unknown → B.2": Row(
        "HCDB-B", {**BOTH_UNKNOWN, "c_carer": "grandparent"}, subcode="B.2"
    ),
    "HCDB-C one dead, other declared missing": Row(
        "HCDB-C", {"c_mother_status": "dead", "c_father_status": "missing_declared"}
    ),
    "HCDB-C one dead, other in prison": Row(
        "HCDB-C", {"c_mother_status": "prison_or_compulsory", "c_father_status": "dead"}
    ),
    "HCDB-C one dead, other unable to care": Row(
        "HCDB-C", {"c_mother_status": "dead", "c_father_status": "unable_to_care"}
    ),
    "HCDB-C one dead, other in a social facility": Row(
        "HCDB-C", {"c_mother_status": "in_social_facility", "c_father_status": "dead"}
    ),
    "HCDB-C both declared missing": Row(
        "HCDB-C", {"c_mother_status": "missing_declared", "c_father_status": "missing_declared"}
    ),
    "HCDB-C one missing, other in a facility": Row(
        "HCDB-C",
        {"c_mother_status": "missing_declared", "c_father_status": "in_social_facility"},
    ),
    "HCDB-D certificate, level especially severe → D.1": Row(
        "HCDB-D", {"d_cert": "yes", "d_level": "especially_severe"}, subcode="D.1"
    ),
    "HCDB-D certificate, mild → D.3": Row(
        "HCDB-D", {"d_cert": "yes", "d_level": "mild"}, subcode="D.3"
    ),
    "HCDB-D cannot walk": Row("HCDB-D", {"d_walk": "cannot"}),
    "HCDB-D a lot of difficulty learning": Row("HCDB-D", {"d_learn": "a_lot"}),
    "HCDB-H dropped out to earn before grade 9": Row("HCDB-H", {**AGED_14, **DROPPED_OUT_TO_WORK}),
    "HCDB-K works, under 13": Row("HCDB-K", WORKS),
    "HCDB-K works more than 40 hours": Row("HCDB-K", {**AGED_14, **WORKS, "c_work_hours": "41"}),
    "HCDB-K hazardous work": Row(
        "HCDB-K", {**AGED_14, **WORKS, "c_hazard": "heavy_loads night_work"}
    ),
    "HCDB-N long-term illness, poor household": Row("HCDB-N", {"e_longterm": "yes"}, POOR),
    "HCDB-N long-term illness, near-poor household": Row(
        "HCDB-N", {"e_longterm": "yes"}, {"hh_poverty": "near_poor"}
    ),
    "HCDB-O migrant, parents unknown": Row("HCDB-O", {"c_migrant": "yes", **BOTH_UNKNOWN}),
    "HCDB-O migrant, no carer": Row("HCDB-O", {"c_migrant": "yes", "c_carer": "no_one"}),
    "HCDB-E police/court concern → referral": Row(
        "HCDB-E", {"f_concern": "yes", "f_type": "police_court"}, referral=True
    ),
    "HCDB-G substance-use concern → referral": Row(
        "HCDB-G", {"f_concern": "yes", "f_type": "substance_use"}, referral=True
    ),
    "HCDB-I violence concern → referral": Row(
        "HCDB-I", {"f_concern": "yes", "f_type": "violence_injury"}, referral=True
    ),
    "HCDB-L suspected sexual abuse → referral": Row(
        "HCDB-L", {"f_concern": "yes", "f_type": "other sexual_abuse_suspected"}, referral=True
    ),
    "HCDB-M missing or taken → referral": Row(
        "HCDB-M", {"f_concern": "yes", "f_type": "missing_or_taken"}, referral=True
    ),
    "PLAN-POOR poor household": Row("PLAN-POOR", {}, POOR),
    "PLAN-LABOUR works, not exploited": Row("PLAN-LABOUR", {**AGED_14, **WORKS}),
    "PLAN-STREET sleeps in the street": Row("PLAN-STREET", {"c_sleep": "street_public_place"}),
    "PLAN-STREET sleeps at the workplace": Row("PLAN-STREET", {"c_sleep": "workplace"}),
    "RISK one parent dead": Row("RISK", {"c_father_status": "dead"}),
    "RISK one parent in prison": Row("RISK", {"c_mother_status": "prison_or_compulsory"}),
    "RISK one parent missing, not declared": Row(
        "RISK", {"c_father_status": "missing_not_declared"}
    ),
    "RISK no carer": Row("RISK", {"c_carer": "no_one"}),
    "RISK concern to act on this week": Row(
        "RISK", {"f_concern": "yes", "f_type": "other", "f_urgency": "within_week"}
    ),
    "RISK immediate danger": Row(
        "RISK", {"f_concern": "yes", "f_type": "neglect_no_carer", "f_urgency": "immediate_danger"}
    ),
    "AGEOUT-16-22 orphan aged 16, still in school": Row(
        "AGEOUT-16-22", {**born("2010-01-15"), **BOTH_DEAD, "c_carer": "grandparent"}
    ),
}


def found(row: Row) -> DerivedCategory | None:
    return next((d for d in derive(row.child, row.household) if d.code == row.code), None)


def test_a_neutral_child_has_no_category() -> None:
    assert derive() == []


@pytest.mark.parametrize("name", list(FIRES))
def test_each_rule_fires_on_its_minimal_answers(name: str) -> None:
    row = FIRES[name]
    derived = found(row)
    assert derived is not None, name
    assert derived.subcode == row.subcode
    assert derived.referral is row.referral
    assert derived.reasons and all(r.vi and r.en for r in derived.reasons)


# Where the spec's wording draws a line, both sides of it.
DOES_NOT_FIRE: dict[str, Row] = {
    "HCDB-A not when adopted": Row("HCDB-A", {**BOTH_DEAD, "c_carer": "adoptive_parents"}),
    "HCDB-A not with one parent dead": Row("HCDB-A", {"c_mother_status": "dead"}),
    "HCDB-B not for a grandchild placed here": Row("HCDB-B", {"c_joined": "grandchild_relative"}),
    "HCDB-B not with only one parent unknown": Row("HCDB-B", {"c_father_status": "unknown"}),
    "HCDB-C not when both are dead (that is A)": Row("HCDB-C", BOTH_DEAD),
    "HCDB-C not when the other is missing without a declaration (RISK)": Row(
        "HCDB-C", {"c_mother_status": "dead", "c_father_status": "missing_not_declared"}
    ),
    "HCDB-C not when the other lives elsewhere": Row(
        "HCDB-C", {"c_mother_status": "dead", "c_father_status": "alive_elsewhere"}
    ),
    "HCDB-C not when both are only unable to care": Row(
        "HCDB-C", {"c_mother_status": "unable_to_care", "c_father_status": "unable_to_care"}
    ),
    "HCDB-D not for some difficulty": Row("HCDB-D", {"d_see": "some", "d_walk": "some"}),
    "HCDB-D not without a certificate": Row("HCDB-D", {"d_cert": "dk"}),
    "HCDB-H not after grade 9": Row("HCDB-H", {**AGED_14, **DROPPED_OUT_TO_WORK, "c_grade": "9"}),
    "HCDB-H not for other reasons": Row(
        "HCDB-H", {**AGED_14, **DROPPED_OUT_TO_WORK, "c_drop_reason": "cost distance"}
    ),
    "HCDB-H not at 16": Row("HCDB-H", {**DROPPED_OUT_TO_WORK, **born("2010-01-15")}),
    "HCDB-K not at 13, 40 hours, no hazard": Row(
        "HCDB-K", {**born("2013-01-15"), **WORKS, "c_work_hours": "40"}
    ),
    "HCDB-K not without work": Row("HCDB-K", {"c_works": "no"}),
    "HCDB-N not in a household that is not poor": Row("HCDB-N", {"e_longterm": "yes"}),
    "HCDB-N not when poverty is unknown": Row(
        "HCDB-N", {"e_longterm": "yes"}, {"hh_poverty": "unknown"}
    ),
    "HCDB-N not without illness": Row("HCDB-N", {"e_longterm": "dk"}, POOR),
    "HCDB-O not for a migrant with a carer and parents": Row("HCDB-O", {"c_migrant": "yes"}),
    "HCDB-L not without a concern": Row(
        "HCDB-L", {"f_concern": "no", "f_type": "sexual_abuse_suspected"}
    ),
    "PLAN-LABOUR not when exploited (that is K)": Row("PLAN-LABOUR", WORKS),
    "PLAN-STREET not at a boarding school": Row("PLAN-STREET", {"c_sleep": "dormitory_school"}),
    "RISK not for a routine concern": Row(
        "RISK", {"f_concern": "yes", "f_type": "other", "f_urgency": "routine"}
    ),
    "AGEOUT not before the 16th birthday": Row("AGEOUT-16-22", {**BOTH_DEAD, **AGED_14}),
    "AGEOUT not when no longer studying": Row(
        "AGEOUT-16-22", {**born("2010-01-15"), **BOTH_DEAD, "c_school": "dropped_out"}
    ),
    "AGEOUT not without an A/B/C circumstance": Row("AGEOUT-16-22", born("2010-01-15")),
}


@pytest.mark.parametrize("name", list(DOES_NOT_FIRE))
def test_rules_hold_the_specs_lines(name: str) -> None:
    assert found(DOES_NOT_FIRE[name]) is None


def test_a_child_can_be_in_several_categories_at_once() -> None:
    assert codes({**BOTH_DEAD, "c_carer": "no_one", **WORKS}, POOR) == {
        "HCDB-A",
        "HCDB-K",
        "PLAN-POOR",
        "RISK",
    }


def test_several_rules_for_one_code_give_one_entry_with_every_reason() -> None:
    (risk,) = derive({"c_father_status": "dead", "c_mother_status": "missing_not_declared"})
    assert [r.rule_id for r in risk.reasons] == ["RISK-parent-dead", "RISK-parent-missing"]


def test_results_come_in_catalogue_order() -> None:
    derived = derive({**BOTH_DEAD, "c_carer": "no_one", "d_cert": "yes", **WORKS}, POOR)
    assert [d.code for d in derived] == ["HCDB-A", "HCDB-D", "HCDB-K", "PLAN-POOR", "RISK"]


def test_article_10_categories_stop_at_16_and_markers_do_not() -> None:
    at_16 = codes({**born("2010-01-15"), "d_cert": "yes", "c_sleep": "street_public_place"}, POOR)
    assert at_16 == {"PLAN-POOR", "PLAN-STREET"}


def test_referrals_are_confidential_and_never_provisional() -> None:
    derived = derive({"f_concern": "yes", "f_type": "sexual_abuse_suspected violence_injury"})
    assert {d.code for d in derived} == {"HCDB-I", "HCDB-L"}
    assert all(d.referral and d.confidential for d in derived)


def test_a_referral_reaches_the_officer_whatever_the_age() -> None:
    aged_17 = {**born("2009-01-15"), "f_concern": "yes", "f_type": "missing_or_taken"}
    assert codes(aged_17) == {"HCDB-M"}


def test_section_f_reasons_are_confidential_and_others_are_not() -> None:
    (risk,) = derive(
        {
            "c_father_status": "dead",
            "f_concern": "yes",
            "f_type": "other",
            "f_urgency": "within_week",
        }
    )
    assert {r.rule_id: r.confidential for r in risk.reasons} == {
        "RISK-parent-dead": False,
        "RISK-concern-this-week": True,
    }
    assert not risk.confidential


@pytest.mark.parametrize(
    "child",
    [
        {"c_carer": "no_one"},
        {"f_concern": "yes", "f_type": "other", "f_urgency": "immediate_danger"},
    ],
)
def test_the_specs_urgent_alerts_are_urgent_signals(child: dict[str, str]) -> None:
    risk = next(d for d in derive(child) if d.code == "RISK")
    assert risk.urgent_signal


def test_the_hazard_none_choice_is_not_a_hazard() -> None:
    assert "HCDB-K" not in codes({**AGED_14, **WORKS, "c_hazard": "none"})


def test_answers_may_be_keyed_by_submission_path_and_be_non_strings() -> None:
    child = {f"household/child/{key}": value for key, value in NEUTRAL_CHILD.items()}
    child["household/child/d_functioning/d_walk"] = "cannot"
    child["household/child/c_age"] = 10  # type: ignore[assignment]
    derived = provisional_categories(FORM, NEUTRAL_HOUSEHOLD, child, TODAY)
    assert [d.code for d in derived] == ["HCDB-D"]


def test_each_child_of_one_household_derives_as_it_would_alone() -> None:
    household = {**NEUTRAL_HOUSEHOLD, **POOR}
    children = [NEUTRAL_CHILD, {**NEUTRAL_CHILD, **BOTH_DEAD},
                {**NEUTRAL_CHILD, "d_functioning/d_walk": "cannot"}]
    each = provisional_categories_each(FORM, household, children, TODAY)
    assert each == [provisional_categories(FORM, household, child, TODAY) for child in children]
    assert len({tuple(d.code for d in derived) for derived in each}) == 3


def test_a_form_without_rules_is_an_error_with_a_code() -> None:
    with pytest.raises(NoRulesForForm) as raised:
        provisional_categories("village_meeting", {}, {}, TODAY)
    assert raised.value.code == "no_rules_for_form"
    assert "child_followup" in forms_with_rules()  # the follow-up has its Section F rules
