"""The children export (exports/children_export.py) over HTTP and from the CLI, on the access
tests' commune (tests/access/commune.py) with categories opened as an imported list opens them:
who gets which rows and columns, filters, file formats, spreadsheet safety, the audit row, and
one consistent registry while syncs commit."""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from exports import registry_rows
from server.auth import passwords
from server.auth.visibility import EVERY_VILLAGE
from server.cli import main
from server.models import Audit, Child, Village
from server.models.registry import ChildStatus
from server.operations.projects import create_project
from server.registry import categories, merge
from server.registry.access import RegistryAccess
from server.registry.child_code import format_code, take_numbers
from server.registry.children_query import ChildFilters, children_query
from server.registry.sync import sync_pending
from server.services import Services
from sync.categories import default_catalogue
from tests.access.commune import INSIDE, OUTSIDE, Commune, build_commune
from tests.registry.helpers import children_of, consented_xml, newborn_named, submit_variant

UNICODE_NAME = "Nguyễn Thị Ánh Hồng Ưng Đặng Ỷ Ỹ Ợ"
FORMULA_NAME = '=HYPERLINK("http://xa.example/phishing","Bấm vào đây")'
OPENED = datetime(2026, 3, 11, 20, 0)  # 12/03/2026 03:00 in Vietnam
ENDED = datetime(2026, 10, 1, 1, 0)
SENSITIVE = [c for c in default_catalogue() if c.sensitive]
REFERRAL_LABEL = "Chuyển cán bộ xem xét"  # a confidential Section F referral's flag kind
BOM = b"\xef\xbb\xbf"


@dataclass
class Registry:
    commune: Commune
    client: FlaskClient
    inside_child: str  # T01: HCDB-A confirmed, HCDB-E and HCDB-DD provisional
    outside_child: str  # T05: PLAN-HIVAFF and HCDB-M provisional, HCDB-D ended

    @property
    def services(self) -> Services:
        return self.commune.services

    def url(self, extension: str, **args: str) -> str:
        query = "&".join(f"{key}={value}" for key, value in args.items())
        return (f"/v1/projects/{self.commune.project_id}/registry/children.{extension}"
                + (f"?{query}" if query else ""))

    def get(self, who: str, extension: str, **args: str) -> Any:
        return self.client.get(self.url(extension, **args), headers=self.commune.bearer(who))

    def csv(self, who: str, **args: str) -> list[list[str]]:
        response = self.get(who, "csv", **args)
        assert response.status_code == 200, response.get_data(as_text=True)
        return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))

    def xlsx(self, who: str, **args: str) -> Any:
        response = self.get(who, "xlsx", **args)
        assert response.status_code == 200, response.get_data(as_text=True)
        return load_workbook(io.BytesIO(response.get_data()))

    def active_children(self, village: str | None = None) -> list[Child]:
        with self.services.database.unit_of_work() as db:
            query = select(Child).where(Child.project_id == self.commune.project_id,
                                        Child.status == ChildStatus.ACTIVE.value)
            if village is not None:
                query = query.where(Child.village_code == village)
            return list(db.scalars(query))


def _first_child(services: Services, project_id: int, village: str) -> str:
    with services.database.unit_of_work() as db:
        return db.scalars(select(Child.id).where(
            Child.project_id == project_id, Child.village_code == village,
            Child.status == ChildStatus.ACTIVE.value).order_by(Child.number)).first() or ""


def _open(services: Services, child_id: str, codes: list[str]) -> None:
    with services.database.unit_of_work() as db:
        categories.apply_codes(db, child_id, codes, source="import", by="actor:1", now=OPENED)


@pytest.fixture
def registry(services: Services, client: FlaskClient,
             monkeypatch: pytest.MonkeyPatch) -> Registry:
    # Nobody signs in with a password here (bearer tokens): a cheap argon2 for the commune's
    # dozen people saves most of the fixture's time.
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64,
                                                             parallelism=1))
    commune = build_commune(services, households=4)
    xml = consented_xml(services)
    for name in (UNICODE_NAME, FORMULA_NAME):
        submit_variant(services, xml, newborn_named(name))
    sync_pending(services.database.sessions)
    inside = _first_child(services, commune.project_id, INSIDE)
    outside = _first_child(services, commune.project_id, OUTSIDE)
    _open(services, inside, ["HCDB-A", "HCDB-E", "HCDB-DD"])
    _open(services, outside, ["PLAN-HIVAFF", "HCDB-M", "HCDB-D"])
    with services.database.unit_of_work() as db:
        categories.confirm(db, inside, "HCDB-A", by="actor:1", why="Đã xác minh", now=ENDED)
        categories.end(db, outside, "HCDB-D", by="actor:1", why="Hết khuyết tật", now=ENDED)
    return Registry(commune, client, inside, outside)


def _cells(table: list[list[str]]) -> list[str]:
    return [cell for row in table for cell in row]


def _book_cells(book: Any) -> list[str]:
    return [str(cell.value) for sheet in book.worksheets for row in sheet.iter_rows()
            for cell in row if cell.value is not None]


def _rows(table: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(table[0], row, strict=True)) for row in table[1:]]


def _code(child: Child) -> str:
    return format_code(child.number)


def _category_header(code: str) -> str:
    return f"{code} {default_catalogue().get(code).label_vi}"


# --- columns and rows -----------------------------------------------------------------------


def test_one_row_per_current_child_after_a_merge_with_every_column(registry: Registry) -> None:
    commune = registry.commune
    xml = consented_xml(registry.services)
    visits = [submit_variant(registry.services, xml, newborn_named(f"Bé Gộp {n}"))
              for n in (1, 2)]
    sync_pending(registry.services.database.sessions)
    kept, absorbed = (children_of(registry.services, visit)[0] for visit in visits)
    merged = registry.client.post(
        f"/v1/projects/{commune.project_id}/registry/children/{kept}/merge",
        json={"otherId": absorbed}, headers=commune.bearer("cp_officer"))
    assert merged.status_code == 200, merged.get_data(as_text=True)

    table = registry.csv("cp_officer")
    header = table[0]
    assert header[:14] == ["Mã trẻ", "Họ và tên", "Tên thường gọi ở nhà", "Giới tính",
                           "Ngày sinh", "Độ chính xác ngày sinh", "Tuổi (vào ngày xuất)", "Thôn",
                           "Mã thôn", "Chủ hộ", "Họ tên mẹ", "Họ tên cha", "Người giám hộ",
                           "Số định danh cá nhân"]
    # The officer reads every category: one column each, in the catalogue's (the law's) order.
    assert header[14:14 + len(default_catalogue())] == [
        _category_header(c.code) for c in default_catalogue()]
    assert header[-10:] == ["Hình thức chăm sóc", "Đã đăng ký chăm sóc thay thế",
                            "Hỗ trợ đã nhận", "Tình trạng đi học", "Tình trạng",
                            "Lần thăm gần nhất", "Số cảnh báo đang mở", "Loại cảnh báo đang mở",
                            "Báo cáo lần đầu", "Số báo cáo nguồn"]
    current = registry.active_children()
    codes = [row["Mã trẻ"] for row in _rows(table)]
    assert sorted(codes) == sorted(_code(child) for child in current)
    with registry.services.database.unit_of_work() as db:
        pair = [db.get_one(Child, child_id) for child_id in (kept, absorbed)]
        gone = next(child for child in pair if child.status == ChildStatus.MERGED.value)
        survivor = merge.resolve(db, gone.id)
        survivor_code, survivor_reports = format_code(survivor.number), survivor.report_count
    assert format_code(gone.number) not in codes
    row = next(r for r in _rows(table) if r["Mã trẻ"] == survivor_code)
    assert row["Họ và tên"].startswith("Bé Gộp")
    assert row["Số báo cáo nguồn"] == str(survivor_reports) == "2"


def test_category_cells_say_the_status_and_its_days(registry: Registry) -> None:
    rows = {row["Mã trẻ"]: row for row in _rows(registry.csv("cp_officer"))}
    inside, outside = (next(c for c in registry.active_children() if c.id == child)
                       for child in (registry.inside_child, registry.outside_child))
    assert rows[_code(inside)][_category_header("HCDB-A")] == "Xác nhận từ 12/03/2026"
    assert rows[_code(inside)][_category_header("HCDB-E")] == "Tạm thời từ 12/03/2026"
    assert rows[_code(outside)][_category_header("HCDB-D")] == "Đã kết thúc 01/10/2026"
    assert rows[_code(outside)][_category_header("HCDB-B")] == ""
    # The confidential Section F referrals of the commune's visits, for the officer only.
    referred = [row for row in rows.values() if row[_category_header("HCDB-L")]]
    assert referred and all(row[_category_header("HCDB-L")].startswith("Chờ xem xét từ ")
                            for row in referred)
    assert all(REFERRAL_LABEL in row["Loại cảnh báo đang mở"] for row in referred)


# --- who sees what ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["commune_leader", "health_reviewer"])
def test_a_redacted_export_holds_no_sensitive_category_cell_by_cell(
        registry: Registry, who: str) -> None:
    # The health station reads the sensitive health categories on a child's page
    # (docs/access.md), but a redacted file holds no sensitive category at all
    # (docs/reports.md §5); neither role reads confidential Section F referrals.
    hidden = list(SENSITIVE)
    table = registry.csv(who)
    book = registry.xlsx(who)
    for cells in (_cells(table), _book_cells(book)):
        text = "\n".join(cells)
        for category in hidden:
            assert category.code not in text
            assert category.label_vi not in text
        assert REFERRAL_LABEL not in text
    assert len(table) - 1 == len(registry.active_children())  # every child, fewer columns
    about = dict(book["Thông tin"].iter_rows(values_only=True))
    assert about["Mức độ"] == "Đã lược bỏ thông tin nhạy cảm"
    assert _category_header("HCDB-D") in table[0]  # a health category that is not sensitive


def test_the_full_export_holds_the_sensitive_categories(registry: Registry) -> None:
    table = registry.csv("cp_officer")
    book = registry.xlsx("cp_officer")
    for cells in (_cells(table), _book_cells(book)):
        text = "\n".join(cells)
        for code in ("HCDB-E", "HCDB-DD", "PLAN-HIVAFF", "HCDB-M", "HCDB-L"):
            assert _category_header(code) in text
        assert REFERRAL_LABEL in text
    about = dict(book["Thông tin"].iter_rows(values_only=True))
    assert about["Mức độ"] == "Đầy đủ"
    assert about["Người xuất"] == "cp_officer <cp_officer@xa.test>"


def test_an_officer_of_one_village_gets_its_children_only(registry: Registry) -> None:
    expected = sorted(_code(child) for child in registry.active_children(INSIDE))
    table = _rows(registry.csv("cp_officer_t01"))
    assert sorted(row["Mã trẻ"] for row in table) == expected
    assert {row["Mã thôn"] for row in table} == {INSIDE}
    sheet = registry.xlsx("cp_officer_t01")["Trẻ em"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sorted(row[0] for row in rows) == expected
    assert {row[8] for row in rows} == {INSIDE}
    # Its own village in full: the sensitive categories of T01, not those of T05.
    text = "\n".join(_cells(registry.csv("cp_officer_t01")))
    assert "Tạm thời từ 12/03/2026" in text  # HCDB-E of the T01 child
    assert _code(next(c for c in registry.active_children() if c.id == registry.outside_child)
                 ) not in text


# --- filters ----------------------------------------------------------------------------------


def test_filters_narrow_the_rows_as_the_list_does(registry: Registry) -> None:
    def codes(**args: str) -> list[str]:
        return sorted(row["Mã trẻ"] for row in _rows(registry.csv("cp_officer", **args)))

    children = {child.id: child for child in registry.active_children()}
    assert codes(village=OUTSIDE) == sorted(_code(c) for c in children.values()
                                            if c.village_code == OUTSIDE)
    assert codes(category="HCDB-A") == [_code(children[registry.inside_child])]
    assert codes(category="HCDB-D") == []  # ended: not open
    unicode_child = next(c for c in children.values() if c.full_name == UNICODE_NAME)
    assert codes(q="nguyen thi anh hong") == [_code(unicode_child)]

    def vietnam_day(child: Child) -> date | None:
        reported = child.first_reported_at
        return None if reported is None else (reported + timedelta(hours=7)).date()

    day = vietnam_day(unicode_child)
    assert day is not None
    assert codes(reportedFrom=day.isoformat(), reportedTo=day.isoformat()) == sorted(
        _code(c) for c in children.values() if vietnam_day(c) == day)
    assert codes(reportedFrom=(day + timedelta(days=1)).isoformat()) == []
    assert _code(unicode_child) in codes(reportedTo=day.isoformat())
    flagged = codes(flag="true")
    assert flagged and len(flagged) < len(children)


def test_no_rows_gives_the_header_alone(registry: Registry) -> None:
    table = registry.csv("cp_officer", village="T99")
    assert len(table) == 1 and table[0][0] == "Mã trẻ"
    book = registry.xlsx("cp_officer", village="T99")
    assert book.sheetnames == ["Thông tin", "Trẻ em"]
    rows = list(book["Trẻ em"].iter_rows(values_only=True))
    assert len(rows) == 1 and rows[0][0] == "Mã trẻ"
    about = dict(book["Thông tin"].iter_rows(values_only=True))
    assert about["Bộ lọc"] == "village=T99"


@pytest.mark.parametrize(("args", "field"), [
    ({"category": "HCDB-Z"}, "category"), ({"reportedFrom": "12/03/2026"}, "reportedFrom"),
    ({"lang": "fr"}, "lang")])
def test_a_filter_the_list_does_not_know_is_refused(registry: Registry, args: dict[str, str],
                                                   field: str) -> None:
    for extension in ("csv", "xlsx"):
        response = registry.get("cp_officer", extension, **args)
        assert response.status_code == 400
        assert response.json["details"]["field"] == field


def test_the_village_head_may_not_export_and_an_unknown_commune_is_not_found(
        registry: Registry) -> None:
    assert registry.get("viewer", "csv").status_code == 403
    assert registry.client.get("/v1/projects/999/registry/children.xlsx",
                               headers=registry.commune.bearer("cp_officer")).status_code == 404


# --- the files themselves ---------------------------------------------------------------------


def test_every_vietnamese_mark_round_trips_and_a_bom_only_when_asked(registry: Registry) -> None:
    plain = registry.get("cp_officer", "csv")
    assert plain.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert plain.headers["Cache-Control"] == "no-store"
    assert re.search(r'filename="tre-em-[a-z0-9-]+-20[0-9]{6}\.csv"',
                     plain.headers["Content-Disposition"])
    assert not plain.get_data().startswith(BOM)
    assert UNICODE_NAME in plain.get_data().decode("utf-8")
    with_bom = registry.get("cp_officer", "csv", bom="true")
    assert with_bom.get_data().startswith(BOM)
    assert with_bom.get_data()[3:] == plain.get_data()
    names = [row[1] for row in registry.xlsx("cp_officer")["Trẻ em"].iter_rows(values_only=True)]
    assert UNICODE_NAME in names
    english = registry.csv("cp_officer", lang="en")
    assert english[0][:3] == ["Child code", "Full name", "Home name"]


def test_a_formula_for_a_name_stays_text(registry: Registry) -> None:
    names = [row[1] for row in registry.csv("cp_officer")]
    assert "'" + FORMULA_NAME in names and FORMULA_NAME not in names
    raw = [row[1] for row in registry.csv("cp_officer", raw="true")]
    assert FORMULA_NAME in raw
    sheet = registry.xlsx("cp_officer")["Trẻ em"]
    cell = next(row[1] for row in sheet.iter_rows(min_row=2) if row[1].value == FORMULA_NAME)
    assert cell.data_type == "s"


def test_xlsx_dates_are_date_cells_and_numbers_numbers(registry: Registry) -> None:
    book = registry.xlsx("cp_officer")
    sheet = book["Trẻ em"]
    header = [cell.value for cell in sheet[1]]
    inside = next(c for c in registry.active_children() if c.id == registry.inside_child)
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == _code(inside))
    by_name = dict(zip(header, row, strict=True))
    assert by_name[_category_header("HCDB-A")].value == "Xác nhận"
    since = by_name["HCDB-A từ ngày"]
    assert since.is_date and since.value == datetime(2026, 3, 12)
    assert by_name["HCDB-A ngày kết thúc"].value is None
    if inside.dob and len(inside.dob) == 10:
        assert by_name["Ngày sinh"].is_date
        assert by_name["Ngày sinh"].value.date() == date.fromisoformat(inside.dob)
    assert by_name["Báo cáo lần đầu"].is_date
    assert by_name["Số báo cáo nguồn"].data_type == "n"
    assert by_name["Tuổi (vào ngày xuất)"].data_type == "n"
    about = dict(book["Thông tin"].iter_rows(values_only=True))
    assert isinstance(about["Thời điểm xuất (giờ Việt Nam, UTC+7)"], datetime)


def test_each_export_is_audited_with_its_filters_and_rows(registry: Registry) -> None:
    expected = len(registry.active_children(INSIDE))
    registry.csv("health_reviewer", village=INSIDE)
    registry.xlsx("cp_officer", village=INSIDE, q="thi")
    with registry.services.database.unit_of_work() as db:
        rows = list(db.scalars(select(Audit).where(Audit.action == "registry.export")
                               .order_by(Audit.id)))
    assert [(row.actor_id, row.details["format"], row.details["redacted"]) for row in rows] == [
        (registry.commune.actor_ids["health_reviewer"], "csv", True),
        (registry.commune.actor_ids["cp_officer"], "xlsx", False)]
    assert rows[0].details["filters"] == {"village": INSIDE}
    assert rows[0].details["rows"] == expected
    assert rows[1].details["filters"] == {"village": INSIDE, "q": "thi"}
    assert rows[1].actee == f"project:{registry.commune.project_id}"


# --- the CLI ----------------------------------------------------------------------------------


def test_the_cli_writes_the_same_list_in_full_or_redacted_and_logs_it(
        registry: Registry, database_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(registry.services.settings.data_dir))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", database_url)
    monkeypatch.setenv("DIEMTUA_SECRET_KEY", "test-secret")
    project = str(registry.commune.project_id)
    full, redacted, book = tmp_path / "full.csv", tmp_path / "redacted.csv", tmp_path / "b.xlsx"
    runs = [["--format", "csv", "--bom", "--out", full],
            ["--format", "csv", "--redacted", "--out", redacted],
            ["--format", "xlsx", "--village", OUTSIDE, "--out", book]]
    for options in runs:
        result = CliRunner().invoke(main, ["registry", "export", "--project", project,
                                           *map(str, options)])
        assert result.exit_code == 0, result.output
    assert full.read_bytes().startswith(BOM)
    assert _rows(list(csv.reader(io.StringIO(full.read_text("utf-8-sig"))))) == _rows(
        registry.csv("cp_officer"))
    redacted_text = redacted.read_text("utf-8")
    assert all(c.label_vi not in redacted_text for c in SENSITIVE)
    assert not any(tmp_path.glob(".*.partial"))
    sheet = load_workbook(book)["Trẻ em"]
    assert sheet.max_row - 1 == len(registry.active_children(OUTSIDE))
    bad = CliRunner().invoke(main, ["registry", "export", "--project", project, "--format",
                                    "csv", "--reported-from", "hôm qua", "--out", full])
    assert bad.exit_code == 2 and "--reported-from" in bad.output
    with registry.services.database.unit_of_work() as db:
        logged = [(a.actor_id, a.details["via"], a.details["redacted"], a.details["rows"])
                  for a in db.scalars(select(Audit).where(Audit.action == "registry.export")
                                      .order_by(Audit.id)) if a.details["via"] == "cli"]
    everyone = len(registry.active_children())
    assert logged == [(None, "cli", False, everyone), (None, "cli", True, everyone),
                      (None, "cli", False, len(registry.active_children(OUTSIDE)))]


# --- one registry while syncs commit ----------------------------------------------------------


def test_an_export_reads_the_registry_as_it_was_when_it_started(
        registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of two children; after the first page another session adds a child and merges
    two that come later in the list. The export still reads the registry it started on."""
    services, project_id = registry.services, registry.commune.project_id
    xml = consented_xml(services)
    visits = [submit_variant(services, xml, newborn_named(name))
              for name in ("Vừ Thị Ý", "Vừ Thị Yến")]
    sync_pending(services.database.sessions)
    pair = [children_of(services, visit)[0] for visit in visits]
    access = RegistryAccess(*(EVERY_VILLAGE,) * 9)  # a site admin's
    with services.database.unit_of_work() as db:
        before = [child.id for child in db.scalars(children_query(project_id, access,
                                                                  ChildFilters()))]
    assert set(pair) <= set(before) and before.index(pair[0]) > 2
    monkeypatch.setattr(registry_rows, "PAGE_SIZE", 2)
    seen: list[str] = []
    with services.database.read_snapshot() as snapshot:
        for row in registry_rows.iter_child_rows(snapshot, project_id, access):
            seen.append(row.id)
            if len(seen) == 1:
                _change_registry_meanwhile(services, project_id, pair)
    assert seen == before
    with services.database.unit_of_work() as db:  # the changes did land
        assert db.scalar(select(func.count()).select_from(Child).where(
            Child.project_id == project_id, Child.status == "active")) == len(before)


def _change_registry_meanwhile(services: Services, project_id: int, pair: list[str]) -> None:
    with services.database.unit_of_work() as db:
        village = db.scalars(select(Village.code).where(Village.project_id == project_id)
                             ).first()
        db.add(Child(id=str(uuid.uuid4()), project_id=project_id,
                     number=take_numbers(db, project_id)[0], full_name="Zơ Rá Mới",
                     name_folded="zo ra moi", village_code=village or INSIDE))
        merge.merge_children(db, pair[0], pair[1], None)


def test_categories_and_flags_stay_with_their_child_among_namesakes(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows read children, categories and flags as three streams in the list's order;
    namesakes (one folded name, told apart by id) across fetches of two rows each."""
    monkeypatch.setattr(registry_rows, "PAGE_SIZE", 2)
    codes = ["HCDB-A", "", "HCDB-B", "PLAN-POOR", "HCDB-C", ""]
    with services.database.unit_of_work() as db:
        project = create_project(db, "Xã Trùng Tên", commune_code="00009")
        children = [Child(id=str(uuid.uuid4()), project_id=project.id, number=number,
                          full_name="Lò Thị Mai", name_folded="lo thi mai", village_code="T01")
                    for number in take_numbers(db, project.id, len(codes))]
        db.add_all(children)
        db.flush()
        for child, code in zip(children, codes, strict=True):
            if code:
                categories.apply_codes(db, child.id, [code], source="import", by="actor:1",
                                       now=OPENED)
        expected = {child.id: code for child, code in zip(children, codes, strict=True)}
        project_id = project.id
    with services.database.read_snapshot() as snapshot:
        rows = list(registry_rows.iter_child_rows(snapshot, project_id,
                                                  RegistryAccess(*(EVERY_VILLAGE,) * 9)))
    assert sorted(row.id for row in rows) == sorted(expected)  # each child once
    assert {row.id: "".join(e.code for e in row.episodes) for row in rows} == expected
    # Article 10 categories raise a "new child in special circumstances" flag, on that child.
    assert {row.id for row in rows if row.flags} == {
        child for child, code in expected.items() if code.startswith("HCDB")}


def test_each_row_is_shown_for_the_village_the_columns_hold() -> None:
    # Which categories a village-limited caller sees depends on the child's village, read by
    # position from the row: a column added before it must move the position too.
    assert registry_rows._CHILD_COLUMNS[registry_rows._VILLAGE_AT] is Child.village_code
