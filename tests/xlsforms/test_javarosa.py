"""The forms as a phone runs them: filled in JavaRosa 5 (the engine inside ODK Collect,
shipped in pyxform's ODK_Validate.jar), one JVM per form for all scenarios."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

import xlsforms
from tests.xlsforms.conftest import SCENARIO_DAY, Fill, Scenario

pytestmark = pytest.mark.slow

TODAY = SCENARIO_DAY
HH = "/data/household"
CHILD = f"{HH}/child"
D = f"{CHILD}/d_functioning"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def years_ago(years: int, days: int = 0) -> dt.date:
    """The date `years` ago (28 Feb for a 29 Feb), minus `days`."""
    try:
        day = TODAY.replace(year=TODAY.year - years)
    except ValueError:
        day = TODAY.replace(year=TODAY.year - years, day=28)
    return day - dt.timedelta(days=days)


def one_child(**answers: str | list[str]) -> dict[str, str | list[str]]:
    """A consenting household with one 8-year-old; `answers` override the child's
    answers by question name."""
    scenario: dict[str, str | list[str]] = {
        "/data/village": "T03",
        "/data/consent_ok": "yes",
        f"{HH}/hh_head_name": "Phạm Văn Bình",
        f"{HH}/resp_name": "Phạm Văn Bình",
        f"{HH}/resp_role": "parent",
        f"{HH}/hh_poverty": "none",
        f"{HH}/hh_any_child": "yes",
        f"{HH}/n_children": "1",
        f"{CHILD}/c_full_name": "Phạm Minh Khôi",
        f"{CHILD}/c_sex": "male",
        f"{CHILD}/c_dob_known": "full",
        f"{CHILD}/c_dob": years_ago(8, days=1).isoformat(),
        f"{CHILD}/c_birth_cert": "yes",
        f"{CHILD}/c_joined": "own_child",
        f"{CHILD}/c_migrant": "no",
        f"{CHILD}/c_sleep": "this_house",
        f"{CHILD}/c_school": "in_school",
        f"{CHILD}/c_works": "no",
        f"{CHILD}/c_mother_status": "alive_with_child",
        f"{CHILD}/c_father_status": "alive_with_child",
        f"{CHILD}/c_carer": "both_parents",
        **{f"{D}/{item}": "none" for item in household_domains()},
        f"{CHILD}/d_cert": "no",
        f"{CHILD}/e_bhyt": "yes",
        f"{CHILD}/e_longterm": "no",
        f"{CHILD}/e_vacc": "yes",
        f"{CHILD}/f_protection/f_concern": "no",
        f"{CHILD}/g_support": "none",
        f"{CHILD}/g_child_assent": "yes",
        "/data/z_followup": "no",
    }
    for name, value in answers.items():
        scenario[child_path(name)] = value
    return scenario


def child_path(name: str) -> str:
    if name.startswith("f_"):
        return f"{CHILD}/f_protection/{name}"
    if name in household_domains():
        return f"{D}/{name}"
    return f"{CHILD}/{name}"


def household_domains() -> list[str]:
    return ["d_see", "d_hear", "d_walk", "d_selfcare", "d_communicate", "d_learn", "d_behaviour"]


SCREENING: dict[str, Scenario] = {
    "refused": {"/data/village": "T01", "/data/consent_ok": "no", "/data/z_followup": "no"},
    "no_children": {
        "/data/village": "T01",
        "/data/consent_ok": "yes",
        f"{HH}/hh_head_name": "Lò Văn Sáng",
        f"{HH}/resp_name": "Lò Thị Ón",
        f"{HH}/resp_role": "parent",
        f"{HH}/hh_poverty": "near_poor",
        f"{HH}/hh_any_child": "no",
        "/data/z_followup": "no",
    },
    "two_children": {
        **one_child(),
        f"{HH}/hh_poverty": "poor",
        f"{HH}/n_children": "2",
        f"{CHILD}/c_full_name": ["Nguyễn Thị Mai", "Nguyễn Văn Nam"],
        f"{CHILD}/c_home_name": ["Cốm", "Tôm"],
        f"{CHILD}/c_sex": ["female", "male"],
        f"{CHILD}/c_dob_known": ["full", "year_only"],
        f"{CHILD}/c_dob": years_ago(12, days=1).isoformat(),
        f"{CHILD}/c_birth_year": str(TODAY.year - 6),
        f"{CHILD}/c_birth_cert": ["yes", "yes"],
        f"{CHILD}/c_joined": ["grandchild_relative", "grandchild_relative"],
        f"{CHILD}/c_migrant": ["no", "no"],
        f"{CHILD}/c_sleep": ["this_house", "this_house"],
        f"{CHILD}/c_school": ["dropped_out", "in_school"],
        f"{CHILD}/c_grade": "6",
        f"{CHILD}/c_drop_reason": "work_earn",
        f"{CHILD}/c_works": ["yes", "no"],
        f"{CHILD}/c_work_hours": "48",
        f"{CHILD}/c_hazard": "heavy_loads",
        f"{CHILD}/c_mother_name": ["Lê Thị Hoa", "Lê Thị Hoa"],
        f"{CHILD}/c_mother_status": ["dead", "dead"],
        f"{CHILD}/c_father_status": ["dead", "alive_elsewhere"],
        f"{CHILD}/c_carer": ["grandparent", "grandparent"],
        f"{CHILD}/c_carer_name": ["Trần Thị Lan", "Trần Thị Lan"],
        f"{CHILD}/c_care_registered": ["no", "no"],
        **{f"{D}/{item}": ["none", "none"] for item in household_domains()},
        f"{D}/d_hear": ["none", "a_lot"],
        f"{CHILD}/d_cert": ["no", "no"],
        f"{CHILD}/e_bhyt": ["yes", "yes"],
        f"{CHILD}/e_longterm": ["no", "yes"],
        f"{CHILD}/f_protection/f_concern": ["no", "no"],
        f"{CHILD}/g_support": ["health_insurance_free", "none"],
        f"{CHILD}/g_child_assent": "yes",
    },
    "infant": one_child(c_dob=TODAY.isoformat()),
    "dates_checked": one_child(
        c_dob=[
            (TODAY + dt.timedelta(days=1)).isoformat(),  # tomorrow
            years_ago(18).isoformat(),  # 18 today: too old
            years_ago(18, days=-1).isoformat(),  # 18 tomorrow: still 17
        ],
    ),
    "year_checked": one_child(
        c_dob_known="year_only",
        c_birth_year=[str(TODAY.year + 1), str(TODAY.year - 19), str(TODAY.year - 10)],
    ),
    "concern": one_child(
        f_concern="yes",
        f_type="violence_injury",
        f_urgency="within_week",
        f_note=["x" * 501, "Cần gặp riêng"],
        g_support=["none monthly_allowance", "monthly_allowance"],
    ),
}


@pytest.fixture(scope="module")
def screening(fill: Callable[..., dict[str, Fill]], xforms: dict[str, str]) -> dict[str, Fill]:
    return fill(xforms["household_screening"], xlsforms.FORMS_DIR, SCREENING)


def test_refusal_ends_the_form_without_personal_data(screening: dict[str, Fill]) -> None:
    run = screening["refused"]
    assert run.asked == [
        "/data/village",
        "/data/consent_ok",
        "/data/note_refused",
        "/data/z_followup",
        "/data/z_thanks",
    ]
    assert run.invalid == []
    assert run.value("household") is None  # the whole gated group is left out
    assert run.value("meta/instanceName") == f"Thôn Đông – từ chối / refused – {TODAY}"


def test_household_without_children_creates_no_child(screening: dict[str, Fill]) -> None:
    run = screening["no_children"]
    assert run.invalid == []
    assert f"{HH}/n_children" not in run.asked
    assert not any(path.startswith(CHILD) for path in run.asked)
    assert run.instance is not None and run.instance.findall("household/child") == []


def test_each_child_becomes_one_children_entity(screening: dict[str, Fill]) -> None:
    run = screening["two_children"]
    assert run.invalid == [] and run.rejected == []
    assert run.instance is not None
    children = run.instance.findall("household/child")
    assert len(children) == 2
    entities = [child.find("meta/entity") for child in children]
    assert all(e is not None and e.get("dataset") == "children" for e in entities)
    ids = [e.get("id", "") for e in entities if e is not None]
    assert all(UUID.match(entity_id) for entity_id in ids) and len(set(ids)) == 2
    labels = [child.findtext("meta/entity/label") for child in children]
    assert labels == [
        f"Nguyễn Thị Mai (Cốm) ({TODAY.year - 12})",
        f"Nguyễn Văn Nam (Tôm) ({TODAY.year - 6})",
    ]
    first, second = children
    assert run.value("meta/instanceName") == f"Thôn Trung – Phạm Văn Bình – {TODAY}"
    assert first.findtext("c_age") == "12"
    assert first.findtext("c_dob_value") == years_ago(12, days=1).isoformat()
    assert second.findtext("c_dob_value") == str(TODAY.year - 6)
    assert first.findtext("c_village") == second.findtext("c_village") == "T03"
    assert first.findtext("c_household_head") == "Phạm Văn Bình"
    # The home name is answered beside the full name and saved to the entity as typed.
    assert [child.findtext("c_home_name") for child in children] == ["Cốm", "Tôm"]
    # Both parents dead; dropped out at grade 6 to work 48 h with heavy loads; poor.
    assert first.findtext("c_categories") == "HCDB-A HCDB-H HCDB-K PLAN-POOR RISK"
    # Mother dead, father away; hearing "a lot of difficulty"; long-term illness, poor.
    assert second.findtext("c_categories") == "HCDB-D HCDB-N PLAN-POOR RISK"


def test_a_child_without_a_home_name_keeps_the_plain_label(screening: dict[str, Fill]) -> None:
    run = screening["infant"]
    assert run.value("household/child/c_home_name") == ""
    assert run.value("household/child/meta/entity/label") == f"Phạm Minh Khôi ({TODAY.year})"


def test_age_decides_which_questions_are_asked(screening: dict[str, Fill]) -> None:
    infant = screening["infant"]
    assert infant.invalid == []
    assert f"{CHILD}/e_vacc" in infant.asked
    for path in (f"{CHILD}/c_school", f"{CHILD}/c_works", f"{D}/d_see", f"{CHILD}/g_child_assent"):
        assert path not in infant.asked
    assert f"{CHILD}/d_cert" in infant.asked  # a certificate can exist at any age
    eight = screening["dates_checked"]
    assert f"{CHILD}/g_child_assent" in eight.asked and f"{CHILD}/e_vacc" not in eight.asked


def test_birth_dates_in_the_future_or_18_and_over_are_refused(screening: dict[str, Fill]) -> None:
    run = screening["dates_checked"]
    assert [value for _path, value in run.rejected] == [
        (TODAY + dt.timedelta(days=1)).isoformat(),
        years_ago(18).isoformat(),
    ]
    assert run.invalid == []
    assert run.value("household/child/c_age") == "17"
    years = screening["year_checked"]
    assert [value for _path, value in years.rejected] == [
        str(TODAY.year + 1),
        str(TODAY.year - 19),
    ]


def test_concern_details_and_exclusive_choices(screening: dict[str, Fill]) -> None:
    run = screening["concern"]
    assert (f"{CHILD}/f_protection/f_note", "x" * 501) in run.rejected
    assert (f"{CHILD}/g_support", "none monthly_allowance") in run.rejected
    assert run.invalid == []
    # The urgency answer stays in the submission for the officer, not in the entity.
    assert run.value("household/child/f_protection/f_urgency") == "within_week"
    assert "RISK" not in (run.value("household/child/c_categories") or "")


CHILD_A = "c1a0c8f2-0000-4000-8000-000000000001"
CHILD_B = "c1a0c8f2-0000-4000-8000-000000000002"
CHILD_DIED = "c1a0c8f2-0000-4000-8000-000000000003"
CHILDREN_CSV = f"""name,label,__version,__trunkVersion,__branchId,full_name,home_name,sex,dob,\
dob_precision,village,household_head,mother_name,father_name,guardian_name,categories,support,\
school_status,status
{CHILD_A},Nguyễn Thị Mai (2014),3,,,Nguyễn Thị Mai,Bắp,female,2014-03-05,full,T02,\
Nguyễn Văn Hùng,Lê Thị Hoa,,Trần Thị Lan,HCDB-A RISK,health_insurance_free,in_school,active
{CHILD_B},Phạm Văn An (2019),1,,,Phạm Văn An,,male,2019,year_only,T03,Phạm Văn Bình,,,,,none,,\
active
{CHILD_DIED},Đỗ Thị Hằng (2012),2,,,Đỗ Thị Hằng,,female,2012-01-01,full,T02,Đỗ Văn Tú,,,,,,,died
"""

FOLLOW_UP: dict[str, Scenario] = {
    "still_here": {
        "/data/village": "T02",
        "/data/child": CHILD_A,
        "/data/fu_status": "still_here",
        "/data/update/support_now": "health_insurance_free monthly_allowance",
        "/data/f_protection/f_concern": "no",
    },
    "died": {
        "/data/village": "T02",
        "/data/child": CHILD_A,
        "/data/fu_status": "died",
        "/data/died/death_date": ["2014-03-04", "2026-01-02"],
    },
    "moved": {
        "/data/village": "T03",
        "/data/child": CHILD_B,
        "/data/fu_status": "moved_away",
        "/data/moved/moved_date": ["2018-12-31", "2025-06-01"],
        "/data/moved/moved_to": "Xã Tân Phú, tỉnh Đồng Nai",
    },
    "home_name": {
        "/data/village": "T03",
        "/data/child": CHILD_B,
        "/data/fu_status": "still_here",
        "/data/update/home_name_now": "Mít",
        "/data/update/support_now": "none",
        "/data/update/school_now": "in_school",
        "/data/f_protection/f_concern": "no",
    },
    "not_met": {"/data/village": "T02", "/data/child": CHILD_A, "/data/fu_status": "not_met"},
    "refused": {"/data/village": "T02", "/data/child": CHILD_A, "/data/fu_status": "refused"},
}


@pytest.fixture(scope="module")
def follow_up(
    fill: Callable[..., dict[str, Fill]],
    xforms: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Fill]:
    media: Path = tmp_path_factory.mktemp("media")
    shutil.copy(xlsforms.VILLAGES_CSV, media / "villages.csv")
    (media / "children.csv").write_text(CHILDREN_CSV, encoding="utf-8")
    return fill(xforms["child_followup"], media, FOLLOW_UP)


def test_follow_up_lists_only_living_children_of_the_chosen_village(
    follow_up: dict[str, Fill],
) -> None:
    assert follow_up["still_here"].choices["/data/child"] == [CHILD_A]
    assert follow_up["moved"].choices["/data/child"] == [CHILD_B]


def test_follow_up_prefills_and_updates_the_record(follow_up: dict[str, Fill]) -> None:
    run = follow_up["still_here"]
    assert run.invalid == [] and run.rejected == []
    entity = run.instance.find("meta/entity") if run.instance is not None else None
    assert entity is not None
    assert entity.get("id") == CHILD_A
    assert entity.get("update") == "1"
    assert entity.get("baseVersion") == "3"
    # Not touched by the collaborator: kept from the record.
    assert run.value("update/circ") == "HCDB-A RISK"
    assert run.value("out_categories") == "HCDB-A RISK"
    assert run.value("out_school_status") == "in_school"
    assert run.value("out_guardian_name") == "Trần Thị Lan"
    assert run.value("update/home_name_now") == run.value("out_home_name") == "Bắp"
    assert run.value("cur_home_name_shown") == " (Bắp)"  # after the name in the summary
    # Changed: the support now received.
    assert run.value("out_support") == "health_insurance_free monthly_allowance"
    assert run.value("out_status") == "active"
    assert run.value("out_last_visit") == TODAY.isoformat()


def test_follow_up_records_a_death_not_before_birth(follow_up: dict[str, Fill]) -> None:
    run = follow_up["died"]
    assert run.rejected == [("/data/died/death_date", "2014-03-04")]
    assert run.invalid == []
    assert run.value("out_status") == "died"
    assert run.value("out_death_date") == "2026-01-02"
    assert run.value("out_categories") == "HCDB-A RISK"  # kept, not blanked
    assert run.value("out_home_name") == "Bắp"
    assert "/data/update/circ" not in run.asked
    assert "/data/f_protection/f_concern" not in run.asked


def test_follow_up_records_a_move(follow_up: dict[str, Fill]) -> None:
    run = follow_up["moved"]
    # Born in 2019 (year only): a move dated 2018 is refused.
    assert run.rejected == [("/data/moved/moved_date", "2018-12-31")]
    assert run.value("out_status") == "moved_away"
    assert run.value("out_moved_date") == "2025-06-01"
    assert run.value("out_moved_to") == "Xã Tân Phú, tỉnh Đồng Nai"
    entity = run.instance.find("meta/entity") if run.instance is not None else None
    assert entity is not None and entity.get("baseVersion") == "1"


def test_follow_up_gives_a_home_name_the_record_did_not_have(
    follow_up: dict[str, Fill],
) -> None:
    run = follow_up["home_name"]
    assert run.invalid == [] and run.rejected == []
    assert run.value("cur_home_name_shown") == ""
    assert run.value("out_home_name") == "Mít"


@pytest.mark.parametrize("scenario", ["not_met", "refused"])
def test_a_visit_without_news_does_not_update_the_entity(
    follow_up: dict[str, Fill], scenario: str
) -> None:
    run = follow_up[scenario]
    assert run.invalid == []
    entity = run.instance.find("meta/entity") if run.instance is not None else None
    assert entity is not None and entity.get("update") == "0"
    if scenario == "refused":
        assert "/data/note_refused" in run.asked and "/data/z_comment" not in run.asked
