"""A row with a name and a village is never refused for one doubtful field (docs/registry.md,
"Doubtful fields"): it is imported with what was given, the field listed on its record and in
the import's report, and the matcher does not take it as evidence. Wrong rows — no village,
a village outside the caller's — are still refused. The phones' path marks the same fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from server.models import ChildRecord, MatchCandidate
from server.registry.candidates import match_input
from server.registry.importer import Outcome
from server.registry.sync import sync_pending
from server.services import Services
from sync.personal_id import make_personal_id
from tests.registry.helpers import consented_xml, find, household_of, submit_variant
from tests.registry.import_helpers import HEADER, count, csv_bytes, phone_registry, run_import

# Three days ahead of the commune's calendar (UTC+7), whatever the server's clock says.
SOON = (datetime.now(UTC) + timedelta(days=3, hours=7)).date().isoformat()
DOUBTFUL_ROWS = [
    {"record_id": "year", "village": "T01", "full_name": "Lò Văn Năm", "sex": "Nam",
     "dob": "2012-02-03", "personal_id": make_personal_id("017", "M", 2011, 1)},
    {"record_id": "sex", "village": "T01", "full_name": "Lò Văn Giới", "sex": "Nam",
     "dob": "2010-06-07", "personal_id": make_personal_id("017", "F", 2010, 2)},
    {"record_id": "province", "village": "T02", "full_name": "Lò Văn Tỉnh", "sex": "Nam",
     "dob": "2009-08-09", "personal_id": make_personal_id("003", "M", 2009, 3)},
    {"record_id": "future", "village": "T02", "full_name": "Lò Thị Sớm", "sex": "Nữ",
     "dob": SOON},
]
EXPECTED = {
    "year": [("personal_id", make_personal_id("017", "M", 2011, 1), "birth_year_mismatch")],
    "sex": [("personal_id", make_personal_id("017", "F", 2010, 2), "sex_mismatch")],
    "province": [("personal_id", make_personal_id("003", "M", 2009, 3), "unknown_province")],
    "future": [("dob", SOON, "in_future")],
}


def _records(services: Services) -> dict[str, ChildRecord]:
    with services.database.unit_of_work() as db:
        records = db.scalars(select(ChildRecord).where(ChildRecord.source == "import")).all()
        db.expunge_all()
    return {record.source_key.split("#", 1)[1]: record for record in records}


def _doubts(items: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(item["field"], item["value"], item["reason"]) for item in items]


def test_an_id_disagreeing_with_dob_sex_or_province_and_a_dob_days_ahead_are_imported(
        services: Services) -> None:
    project_id = phone_registry(services, 2)
    report = run_import(services, project_id, csv_bytes(DOUBTFUL_ROWS))

    assert report.refused == []
    assert [r.outcome for r in report.results] == [Outcome.CREATED] * 4
    assert {r.record_id: [(d.field, d.value, d.reason) for d in r.doubtful]
            for r in report.with_doubts} == EXPECTED
    document = report.as_json()
    assert document["keptWithDoubts"] == 4
    (future,) = [row for row in document["rows"] if row["recordId"] == "future"]
    assert future["outcome"] == "created" and future["problems"] == []
    assert future["doubtful"][0]["vi"] == (
        f"ngày sinh {SOON} ở tương lai: đã giữ nhưng không dùng để ghép trẻ")
    records = _records(services)
    assert {key: _doubts(record.doubtful) for key, record in records.items()} == EXPECTED
    # What was given is kept: the numbers and the date.
    assert records["province"].personal_id == make_personal_id("003", "M", 2009, 3)
    assert (records["future"].dob, records["future"].dob_precision) == (SOON, "day")


def test_the_matcher_sees_no_doubtful_id_or_date(services: Services) -> None:
    project_id = phone_registry(services, 2)
    run_import(services, project_id, csv_bytes(DOUBTFUL_ROWS))
    records = _records(services)

    for key in ("year", "sex", "province"):
        seen = match_input(records[key])
        assert seen.personal_id == "" and seen.dob is not None, key
    seen = match_input(records["future"])
    assert seen.dob is None and seen.full_name == "Lò Thị Sớm"


def test_one_doubtful_personal_id_in_two_lists_makes_no_pair(services: Services) -> None:
    """The same mistyped number on two namesakes of one village born months apart, in two
    lists: as evidence the number links them (it did before doubtful fields were blanked for
    the matcher); doubtful, it is no evidence, and they stay two children."""
    project_id = phone_registry(services, 2)
    shared = make_personal_id("003", "F", 2014, 77)  # province 003 does not exist
    first = run_import(services, project_id, csv_bytes([
        {"record_id": "1", "village": "T03", "full_name": "Hà Thị Mai", "sex": "Nữ",
         "dob": "2014-05-01", "personal_id": shared}]), source="so-y-te")
    second = run_import(services, project_id, csv_bytes([
        {"record_id": "1", "village": "T03", "full_name": "Hà Thị Mai", "sex": "Nữ",
         "dob": "2014-11-20", "personal_id": shared}]), source="so-cong-an")

    assert [r.outcome for r in first.results + second.results] == [Outcome.CREATED] * 2
    assert first.results[0].child_id != second.results[0].child_id
    assert count(services, MatchCandidate) == 0


def test_a_row_without_a_village_or_outside_the_callers_villages_is_still_refused(
        services: Services) -> None:
    project_id = phone_registry(services, 2)
    before = count(services, ChildRecord)
    rows = [{**DOUBTFUL_ROWS[0], "village": ""}, DOUBTFUL_ROWS[2]]  # T01 blank, T02
    report = run_import(services, project_id, csv_bytes(rows),
                        allowed_villages=frozenset({"T01"}))

    assert [(r.row, r.outcome) for r in report.results] == [(2, Outcome.REFUSED),
                                                             (3, Outcome.REFUSED)]
    assert report.results[0].reason == "empty village"
    assert report.results[1].reason == "village T02 is not one of your villages"
    # The officer hears the doubtful field too while fixing the row, but nothing is kept.
    assert _doubts([d.as_json() for d in report.results[0].doubtful]) == EXPECTED["year"]
    assert report.with_doubts == [] and count(services, ChildRecord) == before


def test_the_home_name_column_is_kept_on_the_record(services: Services) -> None:
    project_id = phone_registry(services, 2)
    row = {"record_id": "1", "village": "T04", "full_name": "Quàng Văn Páo",
           "Home Name": "Bắp", "sex": "Nam", "dob": "2019-03-02"}
    report = run_import(services, project_id, csv_bytes([row], [*HEADER, "Home Name"]))

    assert report.results[0].outcome is Outcome.CREATED
    record = _records(services)["1"]
    assert record.home_name == "Bắp" and "Home Name" not in record.raw["extra"]
    assert match_input(record).home_name == "Bắp"


def test_a_phone_visit_with_a_doubtful_personal_id_is_synced_and_marked(
        services: Services) -> None:
    phone_registry(services, 2)
    wrong_sex = make_personal_id("017", "F", 2015, 5)

    def doubtful_ids(root: Any) -> None:
        child = find(household_of(root), "child")[0]
        for node in find(child, "c_sex"):
            node.text = "male"
        for node in find(child, "c_pid"):
            node.text = wrong_sex
        for node in find(child, "c_dob_value"):
            node.text = "2015-04-05"

    instance_id = submit_variant(services, consented_xml(services), doubtful_ids)
    summary = sync_pending(services.database.sessions)

    assert summary.failed == 0
    with services.database.unit_of_work() as db:
        record = db.scalars(select(ChildRecord).where(
            ChildRecord.source_key == f"{instance_id}#1")).one()
        assert record.personal_id == wrong_sex
        assert _doubts(record.doubtful) == [("personal_id", wrong_sex, "sex_mismatch")]
        others = db.scalars(select(ChildRecord).where(
            ChildRecord.source_key.like(f"{instance_id}#%"),
            ChildRecord.source_key != f"{instance_id}#1")).all()
        assert all(not other.doubtful for other in others)


def test_a_number_two_children_of_one_household_give_is_doubtful_on_both(
        services: Services) -> None:
    """Twins listed in one household, the second with the first's number copied: both stay
    children of their own, and the number is marked on both rows (``shared_in_visit``)."""
    project_id = phone_registry(services, 1)
    shared = make_personal_id("017", "M", 2016, 77)
    twins = [{"record_id": record_id, "submission_id": "ho-15", "village": "T03",
              "full_name": name, "sex": "Nam", "dob": "2016-05-06", "personal_id": shared,
              "mother_name": "Lò Thị Mai"}
             for record_id, name in (("a", "Lò Văn Một"), ("b", "Lò Văn Hai"))]
    single = {"record_id": "c", "submission_id": "ho-16", "village": "T03",
              "full_name": "Lò Văn Ba", "sex": "Nam", "dob": "2014-01-02",
              "personal_id": make_personal_id("017", "M", 2014, 78)}
    report = run_import(services, project_id, csv_bytes([*twins, single]))

    assert [r.outcome for r in report.results] == [Outcome.CREATED] * 3
    assert {r.record_id: [(d.field, d.reason) for d in r.doubtful] for r in report.results} == {
        "a": [("personal_id", "shared_in_visit")], "b": [("personal_id", "shared_in_visit")],
        "c": []}
    said = report.as_json()["rows"][0]["doubtful"][0]
    assert "another child of the household gives this number too" in said["en"]
    assert "trẻ khác cùng hộ cũng ghi số này" in said["vi"]
    records = _records(services)
    assert _doubts(records["a"].doubtful) == [("personal_id", shared, "shared_in_visit")]
    assert _doubts(records["b"].doubtful) == [("personal_id", shared, "shared_in_visit")]
    assert records["c"].doubtful == []
    assert match_input(records["a"]).personal_id == ""
