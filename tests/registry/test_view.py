"""A child's current view is recomputed from its reports: newest report wins field by field,
the most precise date of birth wins, follow-up visits set what they set."""

from __future__ import annotations

from datetime import datetime

from server.models import ChildRecord, ChildUpdate
from server.registry.view import compute_view


def _record(id_: int, reported: datetime | None, **values: object) -> ChildRecord:
    fields: dict[str, object] = {"full_name": "", "sex": "U", "dob": None, "dob_precision": None,
                                 "dob_estimated": False, "village_code": "", "household_head": "",
                                 "mother_name": "", "father_name": "", "guardian_name": "",
                                 "personal_id": "", "raw": {}}
    fields.update(values)
    return ChildRecord(id=id_, reported_at=reported, created_at=datetime(2026, 11, 29, 8, id_),
                       **fields)


PHONE_VISIT = datetime(2026, 11, 20, 9, 0)


def test_an_undated_list_imported_later_does_not_overwrite_the_phones_newer_report() -> None:
    phone = _record(1, PHONE_VISIT, full_name="Nguyễn Thị Mai", village_code="T01",
                    raw={"school_status": "in_school", "support": "bhyt"})
    old_list = _record(2, None, full_name="Nguyen Thi Mai", village_code="T02",
                       mother_name="Lê Thị Hoa")
    view = compute_view([old_list, phone], [])
    assert (view.full_name, view.village_code) == ("Nguyễn Thị Mai", "T01")
    assert view.mother_name == "Lê Thị Hoa"  # only the list knew it
    assert (view.school_status, view.support) == ("in_school", "bhyt")
    assert view.name_folded == "nguyen thi mai"


def test_a_dated_list_row_newer_than_the_phone_visit_wins() -> None:
    phone = _record(1, PHONE_VISIT, full_name="Nguyễn Thị Mai")
    newer_list = _record(2, datetime(2026, 11, 25), full_name="Nguyễn Thị Mai Anh")
    assert compute_view([phone, newer_list], []).full_name == "Nguyễn Thị Mai Anh"


def test_the_most_precise_date_of_birth_wins_over_a_newer_vaguer_one() -> None:
    exact = _record(1, PHONE_VISIT, dob="2015-03-04", dob_precision="day")
    estimated = _record(2, datetime(2026, 11, 28), dob="2015", dob_precision="year",
                        dob_estimated=True)
    view = compute_view([exact, estimated], [])
    assert (view.dob, view.dob_precision) == ("2015-03-04", "day")
    only_estimate = compute_view([estimated], [])
    assert (only_estimate.dob, only_estimate.dob_precision) == ("2015", "estimated")


def test_a_doubtful_value_gives_way_to_a_trusted_one_but_shows_when_it_is_all_there_is(
        ) -> None:
    listed = _record(1, None, source="import", personal_id="001215000123", dob="2027-01-02",
                     dob_precision="day",
                     doubtful=[{"field": "personal_id", "value": "001215000123",
                                "reason": "birth_year_mismatch"},
                               {"field": "dob", "value": "2027-01-02", "reason": "in_future"}])
    visited = _record(2, PHONE_VISIT, source="submission", personal_id="001315000123",
                      dob="2015-06", dob_precision="month")
    view = compute_view([listed, visited], [])
    # The commune's list is the more official source and its date the more precise, but
    # both values are doubtful: the phone's trusted ones win.
    assert (view.personal_id, view.dob) == ("001315000123", "2015-06")
    alone = compute_view([listed], [])
    assert (alone.personal_id, alone.dob) == ("001215000123", "2027-01-02")


def test_follow_up_updates_apply_in_version_order_over_the_screening() -> None:
    record = _record(1, PHONE_VISIT, full_name="Trần Văn Nam", raw={"school_status": "in_school"})
    moved = ChildUpdate(id=1, version=3, properties={"status": "moved_away",
                                                     "moved_to": "Bình Dương"})
    back = ChildUpdate(id=2, version=4, properties={"status": "active",
                                                    "school_status": "dropped_out"})
    view = compute_view([record], [back, moved])
    assert (view.vital_status, view.moved_to, view.school_status) == (
        "active", "Bình Dương", "dropped_out")


def test_the_home_name_is_the_newest_reports_written_as_best_any_record_writes_it() -> None:
    marked = _record(1, PHONE_VISIT, full_name="Nguyễn Văn An", home_name="Bắp")
    unmarked = _record(2, datetime(2026, 11, 25), full_name="Nguyen Van An", home_name="Bap")
    silent = _record(3, datetime(2026, 11, 28), full_name="Nguyễn Văn An")
    view = compute_view([marked, unmarked, silent], [])
    assert view.home_name == "Bắp"  # the newest that gives one says "bap"; the marks are kept
    renamed = _record(4, datetime(2026, 11, 29), full_name="Nguyễn Văn An", home_name="Tôm")
    assert compute_view([marked, unmarked, silent, renamed], []).home_name == "Tôm"
    assert compute_view([silent], []).home_name == ""


def test_a_follow_up_sets_the_home_name_and_the_search_key_holds_it() -> None:
    record = _record(1, PHONE_VISIT, full_name="Nguyễn Văn An")
    visit = ChildUpdate(id=1, version=2, properties={"home_name": "Cốm"})
    view = compute_view([record], [visit])
    assert view.home_name == "Cốm"
    assert view.name_folded == "nguyen van an com"  # full name first: the list still sorts by it
