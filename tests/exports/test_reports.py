"""The officers' reports (docs/reports.md), over HTTP and from the CLI, on a small commune: the
access test commune (tests/access/commune.py: every role, some limited to T01, confidential
Section F referrals), plus an imported children list that opens Article 10 groups — one
sensitive (HCDB-E), one health and sensitive (HCDB-DD), one urgent (HCDB-B) — keeps rows with
doubtful fields (docs/registry.md, "Doubtful fields") and refuses a row without a village, a
re-report with a doubtful personal ID, a newborn whose date of birth was estimated, and a
submission whose sync failed.

Each report is read as JSON and as XLSX (openpyxl) and the two must agree; a redacted caller's
files are read cell by cell for any sensitive code or label; a caller limited to T01 must find
nothing of another village. One commune serves the module (it is only read, and the rows the
reports add to the audit log are told apart by who made them).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import select
from werkzeug.test import TestResponse

from exports.periods import current_quarter
from exports.reports.national import LayoutInvalid, default_layout, parse_layout
from exports.xlsx_book import ABOUT_SHEET
from server import create_app
from server.cli import main
from server.config import Settings
from server.models import Audit, Child, SubmissionDef
from server.operations.projects import create_project
from server.registry.child_code import format_code
from server.registry.importer import Outcome
from server.registry.sync import sync_pending
from server.services import Services
from sync.categories import default_catalogue
from sync.personal_id import make_personal_id
from tests.access.commune import INSIDE, OUTSIDE, Commune, build_commune
from tests.conftest import XLSX_TYPE, module_services
from tests.registry.helpers import find, household_of, newborn_named, submit_variant
from tests.registry.import_helpers import csv_bytes, run_import

MINE = ("new-children", "by-category", "national", "data-quality", "audit")
CHILD_REPORTS = ("new-children", "by-category", "national", "data-quality")
SENSITIVE_WORDS = sorted({word for c in default_catalogue().sensitive()
                          for word in (c.code, c.label_vi, c.label_en)})
SECRET_IN_ERROR = "Bí Mật Trong Lỗi"
OTHER_COMMUNE = "Xã Bên Sông"
OTHER_CHILD_ROW = {"record_id": "b1", "village": "Thôn Bến", "full_name": "Lò Văn Bên Sông",
                   "sex": "M", "dob": "2015-03-04", "mother_name": "Lò Thị Bến",
                   "personal_id": make_personal_id("017", "M", 2015, 1)}
LIST_ROWS = [
    {"record_id": "r1", "village": INSIDE, "full_name": "Hà Văn Nhập Một", "sex": "M",
     "dob": "2015-03-04", "mother_name": "Lường Thị Một",
     "personal_id": make_personal_id("017", "M", 2015, 1), "special_circumstances": "HCDB-A"},
    {"record_id": "r2", "village": OUTSIDE, "full_name": "Hà Văn Nhập Hai", "sex": "M",
     "dob": "2014-05-06", "mother_name": "Lường Thị Hai", "special_circumstances": "HCDB-A"},
    {"record_id": "r3", "village": INSIDE, "full_name": "Hà Thị Nhập Ba", "sex": "F",
     "dob": "2012-01-02", "mother_name": "Lường Thị Ba", "special_circumstances": "HCDB-E"},
    {"record_id": "r4", "village": "T02", "full_name": "Hà Văn Nhập Bốn", "sex": "M",
     "dob": "2019-07-08", "mother_name": "Lường Thị Bốn", "special_circumstances": "HCDB-B"},
    {"record_id": "r5", "village": "T02", "full_name": "Hà Thị Nhập Năm", "sex": "F",
     "dob": "2016-09-10", "mother_name": "Lường Thị Năm",
     "special_circumstances": "HCDB-DD;HCDB-D"},
    {"record_id": "r6", "village": INSIDE, "full_name": "Hà Văn Sai Số", "sex": "M",
     "dob": "2013", "personal_id": "12345"},
    {"record_id": "r7", "village": "", "full_name": "Hà Văn Không Thôn", "sex": "M"},
    # Rows kept with a doubtful field: an ID whose year, sex digit or province is wrong, and
    # a date of birth three days ahead of the commune's calendar.
    {"record_id": "r8", "village": INSIDE, "full_name": "Hà Văn Năm Lệch", "sex": "M",
     "dob": "2012-02-03", "personal_id": make_personal_id("017", "M", 2011, 8)},
    {"record_id": "r9", "village": INSIDE, "full_name": "Hà Văn Giới Lệch", "sex": "M",
     "dob": "2010-06-07", "personal_id": make_personal_id("017", "F", 2010, 9)},
    {"record_id": "r10", "village": INSIDE, "full_name": "Hà Văn Tỉnh Lạ", "sex": "M",
     "dob": "2009-08-09", "personal_id": make_personal_id("003", "M", 2009, 10)},
    {"record_id": "r11", "village": OUTSIDE, "full_name": "Hà Thị Sinh Sau", "sex": "F",
     "dob": (datetime.now(UTC) + timedelta(days=3, hours=7)).date().isoformat()},
]


@dataclass
class Place:
    services: Services
    settings: Settings
    commune: Commune
    client: FlaskClient

    @property
    def base(self) -> str:
        return f"/v1/projects/{self.commune.project_id}/registry/reports"

    def get(self, who: str, name: str, fmt: str = "json", **query: str) -> TestResponse:
        suffix = ".xlsx" if fmt == "xlsx" else ""
        return self.client.get(f"{self.base}/{name}{suffix}", query_string=query,
                               headers=self.commune.bearer(who))

    def json_of(self, who: str, name: str, **query: str) -> dict[str, Any]:
        response = self.get(who, name, **query)
        assert response.status_code == 200, response.get_data(as_text=True)
        body: dict[str, Any] = response.json  # type: ignore[assignment]
        return body

    def book_of(self, who: str, name: str, **query: str) -> dict[str, list[tuple[Any, ...]]]:
        response = self.get(who, name, "xlsx", **query)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == XLSX_TYPE
        return sheets(response.data)


def sheets(data: bytes) -> dict[str, list[tuple[Any, ...]]]:
    book = load_workbook(io.BytesIO(data), read_only=True)
    return {sheet.title: [tuple(row) for row in sheet.iter_rows(values_only=True)]
            for sheet in book.worksheets}


def cells(book: dict[str, list[tuple[Any, ...]]]) -> list[str]:
    return [str(value) for rows in book.values() for row in rows for value in row
            if value is not None]


# --- the commune, once for the module ---------------------------------------------------------


def _estimated_newborn(root: Element) -> None:
    """The visit's first child becomes a baby never reported, its birth estimated from an
    age; the second child (already known) is re-reported with a mistyped personal ID."""
    newborn_named("Lò Văn Ước Tính")(root)
    first, second = find(household_of(root), "child")[:2]
    for node in find(first, "c_dob_known"):
        node.text = "estimated"
    for node in find(second, "c_pid"):
        node.text = "12345"


def _fail_a_sync(services: Services, instance_id: str) -> None:
    """What the sync leaves when a submission breaks it (`server.registry.sync._mark_failed`):
    the state and the error text, which may quote an answer."""
    with services.database.unit_of_work() as db:
        version = db.scalars(select(SubmissionDef).where(
            SubmissionDef.instance_id == instance_id)).one()
        version.sync_state, version.sync_error = "failed", f"ValueError: {SECRET_IN_ERROR}"


@pytest.fixture(scope="module")
def place(migrated_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Place]:
    with module_services(migrated_database, tmp_path_factory.mktemp("reports")) as services:
        yield _build_place(services)


def _build_place(services: Services) -> Place:
    commune = build_commune(services)
    client = create_app({"services": services, "TESTING": True}).test_client()
    imported = client.post(f"/v1/projects/{commune.project_id}/registry/imports?source=so-2026",
                           data=csv_bytes(LIST_ROWS), content_type="text/csv",
                           headers=commune.bearer("admin"))
    assert imported.json is not None and imported.json["counts"]["refused"] == 1
    assert imported.json["keptWithDoubts"] == 5
    submit_variant(services, commune.xml_of(commune.visit_inside), _estimated_newborn)
    sync_pending(services.database.sessions)
    _fail_a_sync(services, commune.visit_outside)
    _another_commune_registers_r1s_personal_id(services)
    return Place(services, services.settings, commune, client)


def _another_commune_registers_r1s_personal_id(services: Services) -> None:
    """A second commune of the server whose list holds r1's valid personal ID (a family that
    moved): the first commune's data-quality report names it, and nothing of its child."""
    with services.database.unit_of_work() as db:
        project_id = create_project(db, OTHER_COMMUNE).id
    report = run_import(services, project_id, csv_bytes([OTHER_CHILD_ROW]), source="xa-ben",
                        create_villages=True)
    assert report.count(Outcome.REFUSED) == 0


def child_code(place: Place, name: str) -> str:
    with place.services.database.unit_of_work() as db:
        return format_code(db.scalars(select(Child.number).where(
            Child.full_name == name, Child.status == "active")).one())


# --- each report, JSON and XLSX -----------------------------------------------------------------


@pytest.mark.parametrize("name", MINE)
def test_each_report_answers_json_and_a_workbook_made_of_the_same_rows(
        place: Place, name: str) -> None:
    document = place.json_of("cp_officer", name, period=current_quarter().name)
    book = place.book_of("cp_officer", name, period=current_quarter().name)

    assert document["report"] == name and document["redacted"] is False
    assert document["period"]["name"] == current_quarter().name
    assert next(iter(book)) == ABOUT_SHEET
    about = dict(row for row in book[ABOUT_SHEET] if row[0])
    assert about["Báo cáo"].endswith(f"({name})") and about["Mức độ"] == "Đầy đủ"
    assert about["Người xuất"] == "cp_officer <cp_officer@xa.test>"
    listed = sum(len(rows) - 1 for title, rows in book.items()
                 if title not in (ABOUT_SHEET, "Tổng hợp"))
    # The audit report's workbook also lists the JSON answer just made (a full export).
    assert listed == document["rows"] + (name == "audit")


def test_new_children_lists_the_periods_flags_by_village_urgent_first_with_their_source(
        place: Place) -> None:
    document = place.json_of("cp_officer", "new-children")
    flags = [flag for village in document["villages"] for flag in village["flags"]]
    by_name = {flag["name"]: flag for flag in flags}

    imported = by_name["Hà Văn Nhập Một"]
    assert imported["code"] == child_code(place, "Hà Văn Nhập Một")
    assert imported["kindCode"] == "new_special_circumstance" and imported["age"] >= 11
    assert imported["categories"] == ["Trẻ em mồ côi cả cha và mẹ"]
    assert imported["source"] == {"url": None, "text": "Danh sách nhập “so-2026”, dòng 2"}
    referral = next(flag for flag in flags if flag["villageCode"] == INSIDE
                    and flag["kindCode"] == "referral")
    assert referral["source"]["url"] == (
        f"http://localhost/v1/projects/{place.commune.project_id}/forms/household_screening/"
        f"submissions/{place.commune.visit_inside}")
    assert by_name["Hà Văn Nhập Bốn"]["deadline"] is not None  # HCDB-B: 12 hours
    for village in document["villages"]:
        order = [(f["deadline"] is None, f["deadline"] or "") for f in village["flags"]]
        assert order == sorted(order)
    codes = [village["code"] for village in document["villages"]]
    assert codes == sorted(codes, key=lambda code: (code == "", code))
    book = place.book_of("cp_officer", "new-children", lang="en")
    (rows,) = [rows for title, rows in book.items() if title != ABOUT_SHEET]
    assert rows[0][:3] == ("Village", "Child code", "Full name")
    assert {row[1] for row in rows[1:]} == {flag["code"] for flag in flags}


def test_an_earlier_period_has_no_new_children(place: Place) -> None:
    document = place.json_of("cp_officer", "new-children", period="2020")

    assert document["rows"] == 0 and document["villages"] == []


def test_by_category_has_a_summary_then_a_sheet_per_category_in_legal_order(
        place: Place) -> None:
    book = place.book_of("cp_officer", "by-category")
    document = place.json_of("cp_officer", "by-category")

    titles = list(book)[1:]
    assert titles[0] == "Tổng hợp"
    assert [title.split()[0] for title in titles[1:]] == [
        c.code for c in default_catalogue() if c.active]
    orphans = next(rows for title, rows in book.items() if title.startswith("HCDB-A "))
    assert {row[1] for row in orphans[1:]} == {"Hà Văn Nhập Một", "Hà Văn Nhập Hai"}
    summary = {line["code"]: line for line in document["summary"]}
    assert summary["HCDB-A"]["counts"] == {INSIDE: 1, OUTSIDE: 1}
    assert summary["HCDB-E"]["total"] == 1 and summary["HCDB-DD"]["counts"] == {"T02": 1}
    header = book["Tổng hợp"][0]
    a_row = next(row for row in book["Tổng hợp"] if row[0] == "HCDB-A")
    assert a_row[header.index("Thôn Đông")] == 1 and a_row[-1] == 2


def test_national_list_follows_its_layout_file_personal_id_first(place: Place) -> None:
    document = place.json_of("manager", "national")
    book = place.book_of("manager", "national")

    layout = default_layout()
    assert layout.columns[0].source == "personal_id"
    assert [c["id"] for c in document["columns"]] == [c.id for c in layout.columns]
    first = next(c for c in document["children"] if c["fullName"] == "Hà Văn Nhập Một")
    assert first["personalId"] == make_personal_id("017", "M", 2015, 1)
    assert first["article10Points"] == ["a"] and first["sex"] == "Nam"
    (rows,) = [rows for title, rows in book.items() if title != ABOUT_SHEET]
    assert rows[0][0] == "Số định danh cá nhân"
    assert make_personal_id("017", "M", 2015, 1) in {row[0] for row in rows[1:]}
    about = dict(row for row in book[ABOUT_SHEET] if row[0])
    assert "3978/QĐ-BYT" in about["Mẫu biểu"]


def test_a_layout_naming_an_unknown_source_is_refused() -> None:
    with pytest.raises(LayoutInvalid, match="no_such_field"):
        parse_layout({"columns": [{"id": "x", "header_vi": "x", "header_en": "x",
                                   "source": "no_such_field"}]})
    with pytest.raises(LayoutInvalid, match="computed:nothing"):
        parse_layout({"columns": [{"id": "x", "header_vi": "x", "header_en": "x",
                                   "source": "computed:nothing"}]})


def test_data_quality_counts_and_lists_each_problem(place: Place) -> None:
    document = place.json_of("cp_officer", "data-quality")
    problems = {p["key"]: p["items"] for p in document["problems"]}

    assert document["counts"] == {key: len(items) for key, items in problems.items()}
    doubtful = {item["name"]: item for item in problems["doubtfulPersonalId"]}
    assert doubtful["Lò Thị Lan T01"]["personalId"] == "12345"
    assert doubtful["Lò Thị Lan T01"]["problems"] == ["không đủ 12 chữ số"]
    assert "Hà Thị Nhập Ba" in {item["name"] for item in problems["missingPersonalId"]}
    assert [item["name"] for item in problems["estimatedDob"]] == ["Lò Văn Ước Tính"]
    assert problems["openDuplicates"] and all(
        item["code"] and item["otherCode"] for item in problems["openDuplicates"])
    (failed,) = problems["syncFailed"]
    assert failed["instanceId"]["text"] == place.commune.visit_outside
    assert failed["error"] == f"ValueError: {SECRET_IN_ERROR}"
    (refused,) = problems["importRefused"]
    assert refused["refused"] == 1 and refused["source"] == "so-2026"
    assert all(item["age"] >= 16 for item in problems["past16"])


def test_data_quality_names_another_commune_holding_a_childs_personal_id_and_no_more(
        place: Place) -> None:
    document = place.json_of("cp_officer", "data-quality")
    book = place.book_of("cp_officer", "data-quality")
    problems = {p["key"]: p["items"] for p in document["problems"]}

    (item,) = problems["personalIdInOtherCommune"]
    assert item["name"] == "Hà Văn Nhập Một" and item["communes"] == OTHER_COMMUNE
    assert item["personalId"] == OTHER_CHILD_ROW["personal_id"]
    rows = book["Số định danh có ở xã khác"]
    assert [row[1] for row in rows[1:]] == ["Hà Văn Nhập Một"]
    told = json.dumps(document, ensure_ascii=False) + repr(book)
    assert all(OTHER_CHILD_ROW[field] not in told for field in ("full_name", "mother_name"))


def test_data_quality_lists_each_doubtful_field_kept_and_counts_them(place: Place) -> None:
    document = place.json_of("cp_officer", "data-quality", lang="en")
    kept = [(item["name"], item["fieldCode"], item["reasonCode"]) for item in next(
        p["items"] for p in document["problems"] if p["key"] == "doubtfulFields")]

    assert sorted(kept) == sorted([
        ("Hà Văn Sai Số", "personal_id", "not_12_digits"),
        ("Hà Văn Năm Lệch", "personal_id", "birth_year_mismatch"),
        ("Hà Văn Giới Lệch", "personal_id", "sex_mismatch"),
        ("Hà Văn Tỉnh Lạ", "personal_id", "unknown_province"),
        ("Hà Thị Sinh Sau", "dob", "in_future"),
        ("Lò Thị Lan T01", "personal_id", "not_12_digits"),  # the phone's re-report
    ])
    counts = {(c["fieldCode"], c["reasonCode"]): c["count"]
              for c in document["doubtfulFieldCounts"]}
    assert counts == {("personal_id", "not_12_digits"): 2,
                      ("personal_id", "birth_year_mismatch"): 1,
                      ("personal_id", "sex_mismatch"): 1,
                      ("personal_id", "unknown_province"): 1, ("dob", "in_future"): 1}
    book = place.book_of("cp_officer", "data-quality", lang="en")
    summary = dict(book["Summary"][1:])
    assert summary["Doubtful fields (kept)"] == 6
    assert summary["Doubtful fields (kept): Personal ID, not 12 digits"] == 2
    assert summary["Doubtful fields (kept): Date of birth, in the future"] == 1
    future = next(row for row in book["Doubtful fields (kept)"] if row[1] == "Hà Thị Sinh Sau")
    assert future[5:8] == ("Date of birth", (datetime.now(UTC) + timedelta(
        days=3, hours=7)).date().isoformat(), "in the future")
    # A child with a doubtful field is still in the registry, with what the list said.
    with place.services.database.unit_of_work() as db:
        assert db.scalars(select(Child.personal_id).where(
            Child.full_name == "Hà Văn Tỉnh Lạ")).one() == make_personal_id("003", "M", 2009,
                                                                          10)


# --- redacted callers and callers limited to T01 ----------------------------------------------


@pytest.mark.parametrize("who", ["commune_leader", "health_reviewer"])
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_redacted_callers_reports_name_no_sensitive_category_anywhere(
        place: Place, who: str, lang: str) -> None:
    for name in CHILD_REPORTS:
        document = place.json_of(who, name, lang=lang)
        book = place.book_of(who, name, lang=lang)
        text = json.dumps(document, ensure_ascii=False)
        found = [w for w in SENSITIVE_WORDS if w in text or any(w in c for c in cells(book))]

        assert document["redacted"] is True, name
        assert found == [], name
        assert SECRET_IN_ERROR not in text


def test_the_full_reports_do_name_the_sensitive_categories(place: Place) -> None:
    """The redaction test above could pass on reports that never name anything."""
    text = json.dumps([place.json_of("cp_officer", name) for name in CHILD_REPORTS],
                      ensure_ascii=False)

    assert {"HCDB-E", "HCDB-DD", "Trẻ em vi phạm pháp luật"} <= {
        w for w in SENSITIVE_WORDS if w in text}


def _villages_in(document: dict[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key in ("villageCode", "village", "otherVillage"):
                if isinstance(value.get(key), str) and value[key] in ALL_VILLAGES:
                    found.add(value[key])
            for part in value.values():
                walk(part)
        elif isinstance(value, list):
            for part in value:
                walk(part)

    walk(document)
    return found


ALL_VILLAGES = {"T01", "T02", "T03", "T04", "T05", "T06", "Thôn Đông", "Thôn Đoài",
                "Thôn Trung", "Thôn Tân Lập", "Thôn Phú Mỹ", "Tổ dân phố Hòa Bình"}


@pytest.mark.parametrize("name", CHILD_REPORTS)
def test_an_officer_of_t01_gets_only_t01_in_every_report(place: Place, name: str) -> None:
    mine = place.json_of("cp_officer_t01", name)
    everyone = place.json_of("cp_officer", name)
    book = place.book_of("cp_officer_t01", name)

    assert _villages_in(mine) <= {INSIDE, "Thôn Đông"}
    assert len(_villages_in(everyone)) > 2  # the same report sees the other villages
    words = set(cells(book))
    assert not words & (ALL_VILLAGES - {INSIDE, "Thôn Đông"})
    assert "Hà Văn Nhập Hai" not in words and "Lò Thị Mai T05" not in words


def test_t01s_data_quality_has_no_other_villages_submission_or_import(place: Place) -> None:
    problems = {p["key"]: p["items"]
                for p in place.json_of("cp_officer_t01", "data-quality")["problems"]}

    everyone = {p["key"]: p["items"]
                for p in place.json_of("cp_officer", "data-quality")["problems"]}

    assert problems["syncFailed"] == [] and problems["importRefused"] == []
    assert everyone["doubtfulFields"] and {
        item["villageCode"] for item in everyone["doubtfulFields"]} == {INSIDE, OUTSIDE}
    assert {item["villageCode"] for item in problems["doubtfulFields"]} == {INSIDE}
    # The commune's pairs each have one side outside T01 (a re-report from T05 or T02).
    assert [item for item in everyone["openDuplicates"] if INSIDE in (
        item["village"], item["otherVillage"])]
    assert all(item["village"] == INSIDE and item["otherVillage"] == INSIDE
               for item in problems["openDuplicates"])


def test_by_category_of_t01_sums_only_t01(place: Place) -> None:
    document = place.json_of("manager_t01", "by-category")

    assert [v["code"] for v in document["villages"]] == [INSIDE]
    summary = {line["code"]: line for line in document["summary"]}
    assert summary["HCDB-A"]["total"] == 1 and summary["HCDB-E"]["total"] == 1


# --- the audit report -----------------------------------------------------------------------


def test_the_audit_report_lists_who_read_sensitive_records_and_full_exports(
        place: Place) -> None:
    commune = place.commune
    with place.services.database.unit_of_work() as db:
        mai = db.scalars(select(Child).where(Child.full_name == "Lò Thị Mai T01")).one()
        mai_id, mai_code = mai.id, format_code(mai.number)
    opened = place.client.get(
        f"/v1/projects/{commune.project_id}/registry/children/{mai_id}",
        headers=commune.bearer("cp_officer_t01"))
    assert opened.status_code == 200
    place.get("manager", "by-category", "xlsx")

    entries = place.json_of("cp_officer", "audit")["entries"]
    read = [e for e in entries if e["actionCode"] == "registry.child.read_sensitive"
            and e["who"] == "cp_officer_t01"]
    assert read and read[-1]["children"] == [mai_code] and "HCDB-L" in read[-1]["codes"]
    exported = [e for e in entries if e["actionCode"] == "registry.export"
                and e["who"] == "manager"]
    assert exported and exported[-1]["what"] == "report:by-category (xlsx)"
    assert not [e for e in entries if e["actionCode"] == "registry.export"
                and e["who"] == "commune_leader"]  # its reports were redacted


@pytest.mark.parametrize("who", ["manager_t01", "cp_officer_t01", "health_reviewer",
                                 "commune_leader"])
def test_the_audit_report_needs_sensitive_reading_over_the_whole_commune(
        place: Place, who: str) -> None:
    assert place.get(who, "audit").status_code == 403
    assert place.get(who, "audit", "xlsx").status_code == 403
    listed = place.client.get(place.base, headers=place.commune.bearer(who))
    assert "audit" not in {item["name"] for item in listed.json or []}


# --- the HTTP surface -------------------------------------------------------------------------


def test_every_report_answer_writes_an_export_audit_row(place: Place) -> None:
    response = place.get("commune_leader", "national", "xlsx", village=INSIDE, period="2026")
    assert response.status_code == 200

    with place.services.database.unit_of_work() as db:
        row = db.scalars(select(Audit).where(
            Audit.action == "registry.export",
            Audit.actor_id == place.commune.actor_ids["commune_leader"])
            .order_by(Audit.id.desc())).first()
    assert row is not None and row.details is not None
    assert row.actee == f"project:{place.commune.project_id}"
    assert {key: row.details[key] for key in ("export", "format", "redacted", "filters")} == {
        "export": "report:national", "format": "xlsx", "redacted": True,
        "filters": {"village": INSIDE, "period": "2026", "lang": "vi"}}


def test_the_list_names_each_report_with_its_titles(place: Place) -> None:
    listed = place.client.get(place.base, headers=place.commune.bearer("cp_officer"))

    assert listed.status_code == 200
    names = {item["name"]: item for item in listed.json or []}
    assert set(MINE) | {"indicators"} == set(names)
    assert names["audit"]["formats"] == ["json", "xlsx"]
    assert names["by-category"]["title"]["en"] == "Children by special-circumstance group"


@pytest.mark.parametrize(("name", "query", "status"), [
    ("no-such-report", {}, 404), ("no-such-report.csv", {}, 404),
    ("by-category", {"period": "2026-Q5"}, 400), ("by-category", {"lang": "fr"}, 400),
    ("by-category", {"sex": "X"}, 400)])
def test_a_bad_name_or_query_is_refused(place: Place, name: str, query: dict[str, str],
                                        status: int) -> None:
    response = place.get("cp_officer", name, **query)

    assert response.status_code == status, response.get_data(as_text=True)
    if status == 400:
        assert response.json is not None and response.json["code"] == 400.8


@pytest.mark.parametrize("who", ["viewer", "viewer_t01", "formfill", "stranger"])
def test_readers_without_exports_get_no_report(place: Place, who: str) -> None:
    assert place.get(who, "by-category").status_code == 403
    assert place.get(who, "new-children", "xlsx").status_code == 403


@pytest.mark.parametrize("name", MINE)
def test_a_commune_without_children_gets_valid_empty_reports(place: Place, name: str) -> None:
    path = f"/v1/projects/{place.commune.other_project_id}/registry/reports/{name}"
    headers = place.commune.bearer("admin")
    document = place.client.get(path, headers=headers)
    workbook = place.client.get(f"{path}.xlsx", headers=headers)

    assert document.status_code == 200 and workbook.status_code == 200
    assert document.json is not None
    if name == "audit":  # the other reports of this test, made in full, and nothing else
        assert {e["actionCode"] for e in document.json["entries"]} <= {"registry.export"}
    else:
        assert document.json["rows"] == 0
    book = sheets(workbook.data)
    assert next(iter(book)) == ABOUT_SHEET
    assert all(len(rows) <= 1 or title in (ABOUT_SHEET, "Tổng hợp", "Nhật ký")
               for title, rows in book.items())


# --- the CLI --------------------------------------------------------------------------------


@pytest.fixture
def cli(place: Place, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(place.settings.data_dir))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", place.settings.database_url)
    monkeypatch.setenv("DIEMTUA_SECRET_KEY", "test-secret")
    return CliRunner()


def test_the_cli_writes_json_and_xlsx_and_records_each(place: Place, cli: CliRunner,
                                                       tmp_path: Path) -> None:
    project = str(place.commune.project_id)
    as_json, as_xlsx = tmp_path / "by-category.json", tmp_path / "new.xlsx"
    first = cli.invoke(main, ["report", "by-category", "--project", project, "--out",
                              str(as_json)])
    second = cli.invoke(main, ["report", "new-children", "--project", project, "--lang", "en",
                               "--redacted", "--out", str(as_xlsx)])

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    document = json.loads(as_json.read_text(encoding="utf-8"))
    assert document["report"] == "by-category" and document["redacted"] is False
    assert "HCDB-E" in {c["code"] for c in document["categories"]}
    book = sheets(as_xlsx.read_bytes())
    about = dict(row for row in book[ABOUT_SHEET] if row[0])
    assert about["Exported by"] == "diemtua (CLI)" and about["Scope"].startswith("Redacted")
    assert [w for w in SENSITIVE_WORDS if any(w in c for c in cells(book))] == []
    with place.services.database.unit_of_work() as db:
        rows = db.scalars(select(Audit).where(Audit.action == "registry.export",
                                              Audit.actor_id.is_(None))
                          .order_by(Audit.id)).all()
    details = [row.details or {} for row in rows][-2:]
    assert [(d["export"], d["format"], d["redacted"], d["via"]) for d in details] == [
        ("report:by-category", "json", False, "cli"), ("report:new-children", "xlsx", True,
                                                       "cli")]


def test_the_cli_refuses_a_redacted_audit_report_and_leaves_no_file(
        place: Place, cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "audit.xlsx"
    result = cli.invoke(main, ["report", "audit", "--project", str(place.commune.project_id),
                               "--redacted", "--out", str(out)])

    assert result.exit_code == 1 and "never redacted" in result.output
    assert list(tmp_path.iterdir()) == []


def test_the_cli_refuses_an_unknown_report_or_extension(place: Place, cli: CliRunner,
                                                        tmp_path: Path) -> None:
    project = str(place.commune.project_id)
    unknown = cli.invoke(main, ["report", "nothing", "--project", project, "--out",
                                str(tmp_path / "x.json")])
    csv_out = cli.invoke(main, ["report", "audit", "--project", project, "--out",
                                str(tmp_path / "x.csv")])

    assert unknown.exit_code == 2 and "by-category" in unknown.output
    assert csv_out.exit_code == 2 and ".json or .xlsx" in csv_out.output
