"""The children CSV written by PostgreSQL (exports/children_csv_sql.py) is the Python path's file,
byte for byte: every caller, filter, option and awkward value below, compared whole.

The registry is built once per module with every case the two paths could read differently:
names with each Vietnamese mark (composed and decomposed), quotes, commas, line breaks, a lone
CR, formula starts and plain numbers; partial, impossible and future dates of birth; unknown
codes in every coded column; episodes tied on their opening time, ended without an end day,
near midnight in Vietnam; flags of unknown or empty kinds; codes past five digits. The
comparisons need PostgreSQL (COPY); the relay's line ends and the age rule are checked on both.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import select

from exports import children_export as export
from exports.children_csv_sql import (
    NAME_SETTING,
    _LineEnds,
    children_csv,
    copies,
    copy_statement,
    without_name_filter,
)
from exports.registry_rows import iter_child_rows
from server.auth.visibility import EVERY_VILLAGE, NO_VILLAGE, VillageScope
from server.models import Child, ChildCategoryEpisode, Flag, Village
from server.operations.projects import create_project
from server.registry import categories
from server.registry.access import RegistryAccess
from server.registry.ageing import earliest_birthday
from server.registry.child_code import format_code
from server.registry.children_query import ChildFilters, parse_filters
from server.services import Services
from tests.conftest import module_services

TODAY = date(2026, 3, 1)  # the day after 28 February in a year without 29 February
OPENED = datetime(2026, 1, 10, 16, 59, 59, 999999)  # 23:59:59 in Vietnam, 10 January
MIDNIGHT = datetime(2026, 1, 10, 17, 0)  # 00:00 in Vietnam, 11 January
VOWELS = ("aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ")
MARKS = VOWELS + VOWELS.upper()
DECOMPOSED = "Nguye\u0302\u0303n Thi\u0323 A\u0301nh"  # NFD, as some keyboards type it
NAMES = [
    f"Nguyễn {MARKS}", DECOMPOSED, 'Lò "Bé" Mai', "Trần, Văn An", "Dòng\nhai", "Dòng\r\nba",
    "Lẻ\rCR", '=HYPERLINK("http://xa.example","Bấm")', "+84912345678", "-3", "-0.5", "+cmd",
    "-", "@SUM(A1)", "\tTab", "\rCR", "\\.", "\\.\n", " cách đầu", "cách cuối ", '"', ",",
    "'", "1.", "-1.", "- 3", "−3", "٣", "NULL", "\\N", "a\x01b", "Bé 👶", "x" * 250,
]
DOBS = ["2015", "2015-03", "2015-03-04", "2016-02-29", "2015-02-30", "abc", "2015-13", "",
        None, "0000", " 2015", "2015-3", "2030-01-01", "2020-03-01", "2020-03-02", "+2015",
        "2015--03", "-2015"]
PRECISIONS = ["day", "month_year", "year_only", "estimated", "weird", "=evil", None, ""]
SEXES = ["M", "F", "U", "X", "="]
CARE = ["both_parents", "grandparent", "social_facility", "alien", "-x", ""]
REGISTERED = ["yes", "no", "dk", "dont_know", "", "maybe"]
SUPPORT = ["monthly_allowance health_insurance_free", "none", "", " ", "unknown_code",
           "=bad monthly_allowance", "monthly_allowance\tnone", "dont_know\u00a0none",
           "health_insurance_free  monthly_allowance"]
SCHOOL = ["in_school", "dropped_out", "", "flying", "@x"]
VITAL = ["active", "moved_away", "died", "zombie"]
VISITS = ["2026-01-02", None, "=1", "-5", ""]
NUMBERS = [7, 99999, 100000, 123456, 123456789, 2147483647]
VILLAGES = {"T01": "Thôn Một", "T02": "=Thôn \"Hai\", xóm", "T03": "-3"}
# T04 has children but no village row: its name cell is empty.
CHILD_VILLAGES = ["T01", "T02", "T03", "T04"]


@dataclass
class Registry:
    services: Services
    project_id: int
    tied: str  # a child whose episodes share their opening time


def _child(project_id: int, number: int, index: int, name: str) -> Child:
    def pick(values: list[Any]) -> Any:
        return values[index % len(values)]

    return Child(
        id=str(uuid.UUID(int=index + 1)), project_id=project_id, number=number,
        full_name=name, home_name=pick(["", "Bắp", *NAMES[7:]]),
        name_folded=("trung ten" if index % 7 == 0 else f"ten {index:03d}"),
        sex=pick(SEXES), dob=pick(DOBS), dob_precision=pick(PRECISIONS),
        village_code=pick(CHILD_VILLAGES), household_head=pick(NAMES[::-1]),
        mother_name=pick(NAMES[3:]), father_name=pick(["", *NAMES]),
        guardian_name=pick(["", "", *NAMES[5:]]), personal_id=pick(["", "-123", "=1", "0912"]),
        vital_status=pick(VITAL), school_status=pick(SCHOOL), support=pick(SUPPORT),
        care_arrangement=pick(CARE), care_registered=pick(REGISTERED),
        last_visit=pick(VISITS), report_count=index % 4,
        first_reported_at=pick([None, OPENED, MIDNIGHT, datetime(2025, 12, 31, 17, 0)]))


def _episode(child_id: str, code: str, status: str, opened: datetime,
             ended: datetime | None = None, confidential: bool = False) -> ChildCategoryEpisode:
    return ChildCategoryEpisode(child_id=child_id, code=code, status=status, opened_at=opened,
                                updated_at=opened, ended_at=ended, confidential=confidential,
                                history=[])


def _flag(project_id: int, child_id: str, code: str, kind: str, raised: datetime,
          status: str = "open", confidential: bool = False,
          deadline: datetime | None = None) -> Flag:
    return Flag(project_id=project_id, child_id=child_id, code=code, kind=kind,
                raised_at=raised, status=status, confidential=confidential, deadline=deadline)


def build_registry(services: Services) -> Registry:
    with services.database.unit_of_work() as db:
        project_id = create_project(db, "Xã Hai Đường", commune_code="00077").id
        for code, name in VILLAGES.items():
            db.add(Village(project_id=project_id, code=code, name=name, name_folded=code))
        children = [_child(project_id, 200 + index, index, name)
                    for index, name in enumerate(NAMES * 2)]
        for child, number in zip(children, NUMBERS, strict=False):
            child.number = number  # past five digits, up to the largest INTEGER
        children[-1].number = 0
        merged = _child(project_id, 999, 998, "Đã gộp")
        merged.status = "merged"
        merged.merged_into = children[0].id
        db.add_all([*children, merged])
        db.flush()
        ids = [child.id for child in children]
        # Through the registry's own functions: provisional, confirmed, ended; flags raised.
        for child_id, codes in ((ids[1], ["HCDB-A", "HCDB-E"]), (ids[2], ["HCDB-DD", "RISK"]),
                                (ids[5], ["PLAN-HIVAFF", "HCDB-D"]), (ids[8], ["HCDB-B"])):
            categories.apply_codes(db, child_id, codes, source="import", by="actor:1",
                                   now=OPENED)
        categories.confirm(db, ids[1], "HCDB-A", by="actor:1", why="Đã xác minh", now=MIDNIGHT)
        categories.end(db, ids[5], "HCDB-D", by="actor:1", why="Hết", now=MIDNIGHT)
        # Written by hand: what the functions never write, but a database may hold.
        tied = ids[10]
        db.add_all([
            _episode(tied, "HCDB-C", "ended", OPENED, MIDNIGHT),
            _episode(tied, "HCDB-C", "ended", OPENED, datetime(2026, 2, 1)),  # later id: shown
            _episode(tied, "HCDB-G", "provisional", OPENED),
            _episode(tied, "HCDB-G", "confirmed", OPENED),  # two open ones: the later id
            _episode(tied, "HCDB-H", "confirmed", datetime(2025, 1, 1)),
            _episode(tied, "HCDB-H", "ended", MIDNIGHT, MIDNIGHT),  # the open one is shown
            _episode(tied, "HCDB-K", "ended", OPENED, None),  # ended with no end day
            _episode(tied, "HCDB-O", "weird", MIDNIGHT),  # an unknown status
            _episode(tied, "HCDB-N", "=evil", OPENED),  # an unknown status, a formula
            _episode(tied, "PLAN-POOR", "", OPENED),  # an empty status
            _episode(tied, "ZZZ-UNKNOWN", "confirmed", OPENED),  # no such column
            _episode(tied, "HCDB-L", "referred", OPENED, confidential=True),
            _episode(ids[11], "HCDB-I", "confirmed", MIDNIGHT),  # sensitive, T04
            _episode(ids[12], "HCDB-A", "provisional", OPENED, confidential=True),
            _episode(ids[13], "AGEOUT-16-22", "confirmed", datetime(1999, 12, 31, 17, 0)),
            _episode(merged.id, "HCDB-A", "confirmed", OPENED),  # a merged child: no row
        ])
        db.add_all([
            _flag(project_id, tied, "HCDB-C", "urgent", OPENED),
            _flag(project_id, tied, "HCDB-C", "urgent", OPENED),  # the same kind: once
            _flag(project_id, tied, "HCDB-G", "", MIDNIGHT),  # an empty kind
            _flag(project_id, tied, "HCDB-G", "=kind", MIDNIGHT),  # unknown, a formula
            _flag(project_id, tied, "HCDB-G", "mystery", OPENED),
            _flag(project_id, tied, "HCDB-L", "referral", OPENED, confidential=True),
            _flag(project_id, tied, "HCDB-I", "urgent", OPENED, deadline=MIDNIGHT),
            _flag(project_id, tied, "HCDB-C", "urgent", OPENED, status="closed"),
            _flag(project_id, ids[14], "", "", OPENED),  # only an empty kind
            _flag(project_id, ids[15], "HCDB-A", "followup_not_applied", OPENED,
                  status="acknowledged"),
            _flag(project_id, ids[16], "HCDB-I", "urgent", OPENED, deadline=MIDNIGHT),
        ])
    return Registry(services, project_id, tied)


@pytest.fixture(scope="module")
def registry(migrated_database: str, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Registry]:
    with module_services(migrated_database, tmp_path_factory.mktemp("csv_sql")) as services:
        yield build_registry(services)


@pytest.fixture
def on_postgresql(registry: Registry) -> Registry:
    if registry.services.database.engine.dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's: SQLite writes the CSV in Python only")
    return registry


def _villages(*codes: str) -> VillageScope:
    return VillageScope(frozenset(codes))


def _access(read: VillageScope, sensitive: VillageScope, health: VillageScope
            ) -> RegistryAccess:
    return RegistryAccess(read=read, sensitive=sensitive, health=health, review=NO_VILLAGE,
                          flag=NO_VILLAGE, flag_close=NO_VILLAGE, flag_urgent=EVERY_VILLAGE,
                          category=NO_VILLAGE, category_health=NO_VILLAGE)


CALLERS = {
    "full": RegistryAccess.operator(),
    "redacted": RegistryAccess.operator(redacted=True),
    "one village": _access(_villages("T01"), _villages("T01"), _villages("T01")),
    "two villages, redacted": _access(_villages("T01", "T02"), _villages("T01"),
                                      _villages("T02")).for_outputs(),
    "village T04 only": _access(_villages("T04"), _villages("T04"), NO_VILLAGE),
    # Not what outputs get (`for_outputs`), but the SQL must read access as Python does.
    "sensitive in T01, health in T02": _access(EVERY_VILLAGE, _villages("T01"),
                                               _villages("T02")),
    "health station": _access(EVERY_VILLAGE, NO_VILLAGE, EVERY_VILLAGE),
    "nobody": _access(NO_VILLAGE, NO_VILLAGE, NO_VILLAGE),
}


def both(registry: Registry, access: RegistryAccess, filters: ChildFilters | None = None, *,
         language: str = "vi", raw: bool = False, bom: bool = False,
         today: date = TODAY) -> tuple[bytes, bytes]:
    """The Python path's file and the database's, each from a snapshot of its own."""
    filters = filters or ChildFilters()
    layout = export.ChildrenLayout.for_caller(access, language, today)
    database = registry.services.database
    with database.read_snapshot() as session:
        python = b"".join(export.csv_chunks(
            iter_child_rows(session, registry.project_id, access, filters, today), layout,
            bom=bom, raw=raw))
    with database.read_snapshot() as session:
        assert copies(session, access)
        sql = b"".join(children_csv(session, registry.project_id, access, filters, layout,
                                    bom=bom, raw=raw))
    return python, sql


def _table(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("caller", list(CALLERS))
@pytest.mark.parametrize("raw", [False, True])
def test_every_caller_gets_the_same_bytes(on_postgresql: Registry, caller: str,
                                          raw: bool) -> None:
    python, sql = both(on_postgresql, CALLERS[caller], raw=raw)
    assert sql == python
    rows = _table(sql)
    if caller == "nobody":
        assert len(rows) == 1
    else:
        assert len(rows) > 5


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("bom", [False, True])
def test_languages_and_the_byte_order_mark(on_postgresql: Registry, language: str,
                                           bom: bool) -> None:
    python, sql = both(on_postgresql, CALLERS["full"], language=language, bom=bom)
    assert sql == python
    assert sql.startswith(export.BOM) == bom


@pytest.mark.parametrize("args", [
    {"village": "T02"}, {"village": "T99"}, {"category": "HCDB-A"}, {"category": "HCDB-D"},
    {"flag": "true"}, {"flag": "urgent"}, {"flag": "mystery"}, {"status": "moved_away"},
    {"q": "nguyen"}, {"q": "ten 01"}, {"q": "%"}, {"q": "_"},
    {"reportedFrom": "2026-01-11"}, {"reportedTo": "2026-01-10"},
    {"reportedFrom": "2026-01-01", "reportedTo": "2026-01-01"}, {"sex": "F"},
    {"ageGroup": "6-11"}, {"ageGroup": "0-6"}, {"support": "yes"}, {"support": "no"},
    {"support": "unknown"}, {"care": "parents"}, {"care": "unknown"}, {"special": "true"},
    {"village": "T01", "sex": "M", "special": "false"},
])
@pytest.mark.parametrize("caller", ["full", "redacted", "two villages, redacted"])
def test_every_filter_keeps_the_same_rows(on_postgresql: Registry, args: dict[str, str],
                                          caller: str) -> None:
    python, sql = both(on_postgresql, CALLERS[caller], parse_filters(args))
    assert sql == python


@pytest.mark.parametrize("today", [date(2028, 2, 28), date(2028, 2, 29), date(2026, 2, 28),
                                   date(2015, 3, 3)])
def test_ages_on_every_export_day(on_postgresql: Registry, today: date) -> None:
    python, sql = both(on_postgresql, CALLERS["full"], today=today, raw=True)
    assert sql == python


def test_the_cells_are_what_a_spreadsheet_should_read(on_postgresql: Registry) -> None:
    """Not only equal: right. Formulas made text, numbers left numbers, line breaks kept in
    their quoted cell, rows ended by CRLF, codes with their check digit."""
    _, sql = both(on_postgresql, CALLERS["full"])
    rows = _table(sql)
    names = {row[1] for row in rows[1:]}
    assert "'" + NAMES[7] in names and NAMES[7] not in names
    assert {"-3", "-0.5", "+84912345678", "'+cmd", "'-", "'@SUM(A1)", "'\tTab", "'\rCR",
            "Dòng\nhai", "Dòng\r\nba", "Lẻ\rCR", "\\.", f"Nguyễn {MARKS}", DECOMPOSED} <= names
    # Every row ends with CRLF, as Python's csv writes the same cells.
    rewritten = io.StringIO()
    csv.writer(rewritten).writerows(rows)
    assert rewritten.getvalue().encode("utf-8") == sql
    with on_postgresql.services.database.read_snapshot() as session:
        numbers = set(session.scalars(select(Child.number).where(
            Child.project_id == on_postgresql.project_id, Child.status == "active")))
    assert {row[0] for row in rows[1:]} == {format_code(number) for number in numbers}
    assert format_code(2147483647) in {row[0] for row in rows[1:]}
    assert "00000-0" in {row[0] for row in rows[1:]}


def test_the_shown_episode_is_the_open_one_else_the_latest_by_creation(
        on_postgresql: Registry) -> None:
    _, sql = both(on_postgresql, CALLERS["full"])
    rows = _table(sql)
    header = rows[0]
    tied = next(row for row in rows[1:]
                if row[0] == format_code(_number(on_postgresql, on_postgresql.tied)))
    cell = dict(zip(header, tied, strict=True))

    def category(code: str) -> str:
        return next(value for name, value in cell.items() if name.startswith(f"{code} "))

    assert category("HCDB-C") == "Đã kết thúc 01/02/2026"  # the later of two ended
    assert category("HCDB-G") == "Xác nhận từ 10/01/2026"  # the later of two open
    assert category("HCDB-H") == "Xác nhận từ 01/01/2025"  # open beats a later ended
    assert category("HCDB-K") == "Đã kết thúc"
    assert category("HCDB-O") == "weird từ 11/01/2026"
    assert category("HCDB-N") == "'=evil từ 10/01/2026"
    assert category("PLAN-POOR") == " từ 10/01/2026"
    # Oldest first, each kind once: three raised at 23:59:59 in Vietnam, two at midnight.
    assert cell["Loại cảnh báo đang mở"] == "Khẩn cấp; mystery; Chuyển cán bộ xem xét; ; '=kind"
    assert cell["Số cảnh báo đang mở"] == "7"


def _number(registry: Registry, child_id: str) -> int:
    with registry.services.database.read_snapshot() as session:
        return session.get_one(Child, child_id).number


def test_sqlite_writes_through_python(registry: Registry) -> None:
    """The one door: on SQLite `children_csv` is the Python path; on PostgreSQL, COPY."""
    database = registry.services.database
    access = CALLERS["full"]
    with database.read_snapshot() as session:
        expected = database.engine.dialect.name == "postgresql"
        assert copies(session, access) is expected
        assert not copies(session, _access(_villages("", "T01"), NO_VILLAGE, NO_VILLAGE))
        counted: list[int] = []
        layout = export.ChildrenLayout.for_caller(access, "vi", TODAY)
        content = b"".join(children_csv(session, registry.project_id, access, ChildFilters(),
                                        layout, on_rows=counted.append))
    rows = _table(content)
    assert counted[-1] == len(rows) - 1 == len(NAMES) * 2


# --- on both databases ----------------------------------------------------------------------


@pytest.mark.parametrize(("chunks", "expected"), [
    ([b"a,b\n", b"c,d\n"], b"a,b\r\nc,d\r\n"),
    ([b'"x\ny",z\n'], b'"x\ny",z\r\n'),
    ([b'"x\n', b'y",z\n', b'"""",q\n'], b'"x\ny",z\r\n"""",q\r\n'),
    ([b'"a""\n""b",c\n'], b'"a""\n""b",c\r\n'),
    ([b'"\r\n",\n'], b'"\r\n",\r\n'),
])
def test_the_relay_ends_rows_with_crlf_and_leaves_quoted_line_breaks(
        chunks: list[bytes], expected: bytes) -> None:
    line_ends = _LineEnds()
    assert b"".join(line_ends(chunk) for chunk in chunks) == expected
    assert line_ends.rows == expected.count(b"\r\n") - expected.count(b'"\r\n"')


@pytest.mark.parametrize(("dob", "born"), [
    ("2015", date(2015, 1, 1)), ("2015-03", date(2015, 3, 1)), ("2016-02-29", date(2016, 2, 29)),
    ("2015-02-30", None), ("abc", None), ("2015--03", None), ("-2015", None), ("0000", None),
    ("", None), (None, None),
])
def test_a_date_of_birth_that_is_no_date_gives_no_age(dob: str | None,
                                                     born: date | None) -> None:
    assert earliest_birthday(dob) == born


def test_the_name_searched_for_never_enters_the_copy_statement(on_postgresql: Registry) -> None:
    """PostgreSQL logs the text of a statement that fails: the `q` filter (part of a child's
    name) travels in a transaction setting instead (exports/children_csv_sql.py)."""
    access = CALLERS["full"]
    filters = parse_filters({"q": "Trâm", "village": "T01"})
    layout = export.ChildrenLayout.for_caller(access, "vi", TODAY)
    with on_postgresql.services.database.read_snapshot() as session:
        statement = copy_statement(session, on_postgresql.project_id, access, filters, layout,
                                   raw=False)
        compiled = statement.compile(dialect=session.get_bind().dialect,
                                     compile_kwargs={"render_postcompile": True})
        assert "%tram%" in compiled.params.values()  # what the plain statement would carry
        query, params = without_name_filter(str(compiled), compiled.params, filters)
    assert "tram" not in query.lower() and "%tram%" not in params.values()
    assert f"current_setting('{NAME_SETTING}')" in query
    assert "T01" in params.values()  # other filters stay parameters
