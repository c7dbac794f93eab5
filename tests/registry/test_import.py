"""Excel lists the communes keep land in the same registry as the phones' visits: the same child
is linked, not duplicated; twins stay two; wrong rows are refused with their row number and
why, rows with a doubtful field are kept with it (tests/registry/test_import_doubtful.py);
importing twice changes nothing — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import delete, select

from server.models import (
    Child,
    ChildCategoryEpisode,
    ChildRecord,
    Flag,
    MatchCandidate,
    Project,
    Village,
)
from server.registry.importer import FileRefused, Outcome, import_file
from server.registry.villages import VillageDirectory, ensure_villages, village_key
from server.services import Services
from tests.registry.helpers import strip_marks
from tests.registry.import_helpers import (
    HEADER,
    child_of_record,
    count,
    csv_bytes,
    phone_record,
    phone_registry,
    run_import,
    typed_without_marks,
    xlsx_bytes,
)


def _village_name(services: Services, project_id: int, code: str) -> str:
    with services.database.unit_of_work() as db:
        return db.scalars(select(Village.name).where(Village.project_id == project_id,
                                                     Village.code == code)).one()


def _child(**values: Any) -> dict[str, Any]:
    """A row of its own household: different rows are different children (no shared parents
    or date of birth, which would make them possible twins)."""
    return {"village": "T01", "sex": "Nam", **values}


def test_a_child_a_phone_reported_is_linked_not_duplicated(services: Services) -> None:
    project_id = phone_registry(services)
    record = phone_record(services)
    village = strip_marks(_village_name(services, project_id, record.village_code)).upper()
    children_before = count(services, Child)
    report = run_import(services, project_id, csv_bytes([typed_without_marks(record, "HB-001",
                                                                             village)]))
    assert [(r.row, r.outcome) for r in report.results] == [(2, Outcome.LINKED)]
    assert report.results[0].child_id == child_of_record(services, record.source_key)
    assert count(services, Child) == children_before
    with services.database.unit_of_work() as db:
        imported = db.scalars(select(ChildRecord).where(ChildRecord.source == "import")).one()
        assert imported.source_key == "so-theo-doi-2025#HB-001"
        assert imported.village_code == record.village_code  # found by name, without marks
        assert imported.household_key == "import:so-theo-doi-2025#HB-001"


def test_twins_of_one_household_visit_stay_two_children(services: Services) -> None:
    project_id = phone_registry(services, 2)
    family = {"submission_id": "HO-12", "dob": "2016-05-12", "mother_name": "Lò Thị Mai",
              "father_name": "Lường Văn Pọm", "household_head": "Lường Văn Pọm"}
    twins = [_child(record_id="7", full_name="Lường Văn Hưng", **family),
             _child(record_id="8", full_name="Lường Văn Hùng", **family)]
    report = run_import(services, project_id, csv_bytes(twins))
    assert [r.outcome for r in report.results] == [Outcome.CREATED, Outcome.CREATED]
    assert report.results[0].child_id != report.results[1].child_id
    with services.database.unit_of_work() as db:
        keys = set(db.scalars(select(ChildRecord.household_key)
                              .where(ChildRecord.source == "import")))
    assert keys == {"import:so-theo-doi-2025#HO-12"}  # one visit: never one child between them


def test_a_possible_twin_of_a_phone_child_waits_for_review(services: Services) -> None:
    project_id = phone_registry(services)
    record = phone_record(services)
    given = record.full_name.split()[-1]
    other = {**typed_without_marks(record, "HB-002", record.village_code),
             "full_name": " ".join([*strip_marks(record.full_name).split()[:-1],
                                    "Khoi" if strip_marks(given) != "Khoi" else "Khang"])}
    report = run_import(services, project_id, csv_bytes([other]))
    assert report.results[0].outcome is Outcome.QUEUED
    phone_child = child_of_record(services, record.source_key)
    assert report.results[0].child_id != phone_child  # a child of its own until decided
    with services.database.unit_of_work() as db:
        queued = db.scalars(select(MatchCandidate)).one()
        assert queued.child_id == phone_child
        assert queued.status == "open" and queued.reasons


def test_wrong_rows_are_refused_with_their_row_number_and_why_doubtful_ones_kept(
        services: Services) -> None:
    project_id = phone_registry(services, 2)
    rows = [
        _child(record_id="1", full_name="Nguyễn Thị Hoa", sex="nữ"),  # row 2: fine
        _child(record_id="2", full_name="Đỗ Văn An", village="Thôn Không Có"),
        _child(record_id="3", full_name="Vi Thị Lan", dob="31/02/2015"),
        _child(record_id="4", full_name="Hà Văn Tú", sex="X"),
        _child(record_id="5", full_name="Lý Minh Khôi", personal_id="0012150000"),
        _child(record_id="6", full_name="Sầm Thị Nga", special_circumstances="HCDB-A;HCDB-Z"),
        _child(record_id="7", full_name="Bế Văn Sơn", commune_code="00002"),
        _child(record_id="1", full_name="Nông Thị Hằng"),  # record_id of row 2 again
        _child(record_id="9", full_name=""),
        _child(record_id="10", full_name="Hoàng Văn Bảo", dob="2031-01-01"),
    ]
    report = run_import(services, project_id, csv_bytes(rows))
    refused = {r.row: r.reason for r in report.refused}
    assert sorted(refused) == [3, 8, 9, 10]
    assert "unknown village 'Thôn Không Có'" in refused[3]
    assert "commune_code 00002 is not this project's commune (99999)" in refused[8]
    assert refused[9] == "record_id 1 appears again (first on row 2)"
    assert refused[10] == "empty full_name"
    kept = {r.row: [(d.field, d.value, d.reason) for d in r.doubtful]
            for r in report.with_doubts}
    assert kept == {4: [("dob", "31/02/2015", "not_a_date")], 5: [("sex", "X", "not_a_sex")],
                    6: [("personal_id", "0012150000", "not_12_digits")],
                    7: [("special_circumstances", "HCDB-Z", "unknown_code")],
                    11: [("dob", "2031-01-01", "in_future")]}
    assert report.count(Outcome.CREATED) == 6
    assert count(services, Village) == 6  # nothing added without --create-villages
    with services.database.unit_of_work() as db:
        stored = {r.source_key.split("#")[1]: r for r in db.scalars(
            select(ChildRecord).where(ChildRecord.source == "import"))}
        assert (stored["3"].dob, stored["4"].sex) == (None, "U")  # unreadable: blank
        assert stored["5"].personal_id == "0012150000"  # what was given
        assert stored["6"].raw["special_circumstances"] == ["HCDB-A"]
        assert stored["10"].dob == "2031-01-01"
        assert stored["10"].doubtful == [
            {"field": "dob", "value": "2031-01-01", "reason": "in_future"}]


def test_a_file_without_the_required_columns_is_refused_whole(services: Services) -> None:
    project_id = phone_registry(services, 2)
    before = count(services, ChildRecord)
    data = csv_bytes([{"record_id": "1", "full_name": "Lò Văn Nam"}],
                     header=["Record_ID", "Full Name", "Sex"])
    with pytest.raises(FileRefused, match=r"missing required column.*village"):
        run_import(services, project_id, data)
    assert count(services, ChildRecord) == before


def test_importing_the_same_file_again_changes_nothing(services: Services) -> None:
    project_id = phone_registry(services, 3)
    rows = [_child(record_id=str(n), submission_id=f"HO-{n // 2}", full_name=name,
                   dob=f"201{n}-0{n}-1{n}")
            for n, name in enumerate(["Lò Văn Minh", "Lò Thị Hiền", "Quàng Văn Tâm"], start=1)]
    data = csv_bytes(rows)
    first = run_import(services, project_id, data)
    counts = [count(services, model) for model in (ChildRecord, Child, MatchCandidate)]
    again = run_import(services, project_id, data)
    assert first.count(Outcome.CREATED) == 3
    assert [r.outcome for r in again.results] == [Outcome.ALREADY_IMPORTED] * 3
    assert [r.child_id for r in again.results] == [r.child_id for r in first.results]
    assert [count(services, model) for model in (ChildRecord, Child, MatchCandidate)] == counts


def test_create_villages_adds_an_unknown_village_once(services: Services) -> None:
    project_id = phone_registry(services, 2)
    rows = [_child(record_id="1", full_name="Giàng A Páo", village="Bản Sà Phìn"),
            _child(record_id="2", full_name="Giàng Thị Mỷ", village="ban  SA PHIN")]
    report = run_import(services, project_id, csv_bytes(rows), create_villages=True)
    assert report.villages_created == ["Bản Sà Phìn"]
    assert report.count(Outcome.CREATED) == 2
    with services.database.unit_of_work() as db:
        codes = set(db.scalars(select(ChildRecord.village_code)
                               .where(ChildRecord.source == "import")))
        assert codes == {"Bản Sà Phìn"}
        assert db.scalars(select(Village).where(Village.code == "Bản Sà Phìn")).one()


def test_a_dry_run_reports_and_saves_nothing(services: Services) -> None:
    project_id = phone_registry(services, 2)
    before = [count(services, model) for model in (ChildRecord, Child, Village)]
    rows = [_child(record_id="1", full_name="Lù Văn Chiến", village="Bản Mới")]
    report = run_import(services, project_id, csv_bytes(rows), create_villages=True,
                        dry_run=True)
    assert report.dry_run and report.count(Outcome.CREATED) == 1
    assert report.villages_created == ["Bản Mới"]
    assert [count(services, model) for model in (ChildRecord, Child, Village)] == before


def test_xlsx_dates_numbers_and_header_spelling_work(services: Services) -> None:
    project_id = phone_registry(services, 2)
    header = ["Record_ID", "VILLAGE", "Full Name", "Sex", "DOB", "Personal ID", "Ghi chú"]
    rows = [{"Record_ID": 101, "VILLAGE": "thôn đông", "Full Name": "Phạm Thị Thuỷ",
             "Sex": "NỮ", "DOB": date(2015, 3, 4),
             # 001 (Hà Nội) typed into a number cell: Excel keeps 1315123456.
             "Personal ID": 1315123456, "Ghi chú": "con thứ hai"},
            {"Record_ID": 102, "VILLAGE": "T02", "Full Name": "Phạm Văn Đạt", "DOB": 2012}]
    report = run_import(services, project_id, xlsx_bytes(rows, header))
    assert [r.outcome for r in report.results] == [Outcome.CREATED, Outcome.CREATED]
    with services.database.unit_of_work() as db:
        first, second = db.scalars(select(ChildRecord).where(ChildRecord.source == "import")
                                   .order_by(ChildRecord.id)).all()
        assert (first.source_key, first.dob, first.dob_precision) == (
            "so-theo-doi-2025#101", "2015-03-04", "day")
        assert first.personal_id == "001315123456" and first.sex == "F"
        assert first.village_code == "T01" and first.raw["extra"] == {"Ghi chú": "con thứ hai"}
        assert (second.dob, second.dob_precision, second.sex) == ("2012", "year", "U")


@pytest.mark.parametrize("date_1904", [False, True])
def test_a_workbook_as_excel_saves_it_reads_the_same(services: Services,
                                                     date_1904: bool) -> None:
    """Excel keeps texts in a shared table, dates as numbers styled as dates (a Vietnamese
    ``dd/mm/yyyy`` is a custom format), Mac workbooks may count from 1904, and a note can be
    rich text — xlsxwriter writes all of these as Excel does."""
    import xlsxwriter

    project_id = phone_registry(services, 2)
    saved = io.BytesIO()
    book = xlsxwriter.Workbook(saved, {"in_memory": True, "date_1904": date_1904})
    sheet = book.add_worksheet("Danh sách")
    sheet.write_row(0, 0, ["record_id", "village", "full_name", "sex", "dob", "personal_id",
                           "ghi chú"])
    sheet.write_row(1, 0, [101, "Thôn Đông", "Phạm Thị Thuỷ", "Nữ"])
    sheet.write_datetime(1, 4, datetime(2015, 3, 4),
                         book.add_format({"num_format": "dd/mm/yyyy"}))
    sheet.write_number(1, 5, 1315123456)
    sheet.write_rich_string(1, 6, "con ", book.add_format({"bold": True}), "thứ", " hai")
    book.close()
    assert run_import(services, project_id, saved.getvalue()).count(Outcome.CREATED) == 1
    with services.database.unit_of_work() as db:
        record = db.scalars(select(ChildRecord).where(ChildRecord.source == "import")).one()
    assert (record.full_name, record.village_code, record.sex) == ("Phạm Thị Thuỷ", "T01", "F")
    assert (record.dob, record.dob_precision) == ("2015-03-04", "day")
    assert record.personal_id == "001315123456"
    assert record.raw["extra"] == {"ghi chú": "con thứ hai"}


def test_csv_must_be_utf8_with_or_without_bom(services: Services) -> None:
    project_id = phone_registry(services, 2)
    rows = [_child(record_id="1", full_name="Đặng Thị Lụa")]
    assert run_import(services, project_id, csv_bytes(rows, bom=True)).count(
        Outcome.CREATED) == 1
    semicolons = csv_bytes([_child(record_id="2", full_name="Đặng Văn Lực")], delimiter=";")
    assert run_import(services, project_id, semicolons).count(Outcome.CREATED) == 1
    # Excel's plain "CSV" on a Vietnamese Windows: code page 1258.
    legacy = "record_id,full_name,village\n3,Lê Văn Tú,T01\n".encode("cp1258")
    with pytest.raises(FileRefused, match="not UTF-8"):
        run_import(services, project_id, legacy)
    with pytest.raises(FileRefused, match="UTF-16"):
        run_import(services, project_id, "record_id,full_name,village\n".encode("utf-16"))


def test_special_circumstances_open_provisional_categories_and_flag(
        services: Services) -> None:
    project_id = phone_registry(services, 2)
    rows = [_child(record_id="1", full_name="Mùa A Chứ", special_circumstances="hcdb-a; PLAN-POOR")]
    report = run_import(services, project_id, csv_bytes(rows))
    child_id = report.results[0].child_id
    with services.database.unit_of_work() as db:
        record = db.scalars(select(ChildRecord).where(ChildRecord.source == "import")).one()
        assert [d["code"] for d in record.derived_categories] == ["HCDB-A", "PLAN-POOR"]
        episodes = db.scalars(select(ChildCategoryEpisode)
                              .where(ChildCategoryEpisode.child_id == child_id)).all()
        assert {(e.code, e.status) for e in episodes} == {("HCDB-A", "provisional"),
                                                          ("PLAN-POOR", "provisional")}
        flags = db.scalars(select(Flag).where(Flag.child_id == child_id)).all()
        assert [f.record_id for f in flags] == [record.id] and flags[0].code == "HCDB-A"


def test_commune_code_written_as_a_number_still_matches(services: Services) -> None:
    project_id = phone_registry(services, 2)
    with services.database.unit_of_work() as db:
        db.get_one(Project, project_id).commune_code = "00123"
    rows = [_child(record_id="1", full_name="Tòng Văn Ín", commune_code=123)]
    assert run_import(services, project_id, xlsx_bytes(rows)).count(Outcome.CREATED) == 1


def test_unknown_project_is_not_found(services: Services) -> None:
    from server.registry.errors import NotFound

    with services.database.unit_of_work() as db, pytest.raises(NotFound):
        import_file(db, 999, csv_bytes([]), source="x")


# --- the villages table ----------------------------------------------------------------------


def test_uploading_villages_csv_fills_the_villages_table(services: Services) -> None:
    phone_registry(services, 1)  # the demo uploads villages.csv to its screening form
    with services.database.unit_of_work() as db:
        villages = {v.code: v.name for v in db.scalars(select(Village))}
    assert villages["T01"] == "Thôn Đông" and len(villages) == 6


def test_an_empty_table_is_filled_from_the_uploaded_file_when_needed(
        services: Services) -> None:
    project_id = phone_registry(services, 1)
    with services.database.unit_of_work() as db:
        db.execute(delete(Village))
    with services.database.unit_of_work() as db:
        assert ensure_villages(db, services.store, project_id) == 6
        assert ensure_villages(db, services.store, project_id) == 0


def _village(code: str, name: str) -> Village:
    return Village(project_id=1, code=code, name=name, name_folded=village_key(name))


def test_villages_are_found_by_code_or_name_ignoring_case_spacing_and_marks() -> None:
    directory = VillageDirectory([_village("T01", "Thôn Đông"), _village("T02", "Thôn Đoài"),
                                  _village("T06", "Tổ dân phố Hòa Bình")])
    assert [directory.find(text).code for text in  # type: ignore[union-attr]
            ("t01", " T01 ", "thôn  đông", "THON DONG", "Đông", "hoa binh",
             "to dan pho hoa binh")] == ["T01", "T01", "T01", "T01", "T01", "T06", "T06"]
    assert directory.find("Thôn Trung") is None and directory.find("") is None


def test_a_short_name_two_villages_share_finds_neither() -> None:
    directory = VillageDirectory([_village("X1", "Thôn Đông"), _village("X2", "Xóm Đông")])
    assert directory.find("Đông") is None
    assert directory.find("xom dong").code == "X2"  # type: ignore[union-attr]


def test_header_only_file_imports_nothing(services: Services) -> None:
    project_id = phone_registry(services, 1)
    report = run_import(services, project_id, csv_bytes([], header=HEADER))
    assert report.results == []
