"""A refused row of `diemtua registry import` (and of the API's import report) names every
problem it has, not only the first, so the officer fixes the row in one pass; a doubtful field
(a sex, date or category code that does not check out) never refuses a row but is said too
(docs/registry.md, "Doubtful fields"); the command's exit status tells a partial import (2)
from a complete one (0) and a refused file (1)."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.models import ChildRecord, Village
from tests.cli.conftest import Run
from tests.conftest import World
from tests.registry.import_helpers import csv_bytes

GOOD = {"record_id": "1", "village": "T01", "full_name": "Nguyễn Thị Hoa", "sex": "nữ",
        "dob": "2016-04-02"}
# Row 3: two things wrong at once, three doubtful fields.
BAD = {"record_id": "2", "village": "thon1", "full_name": "", "sex": "X", "dob": "2015-13",
       "special_circumstances": "HCDB-A;HCDB-Z"}
# Row 4: no record_id and a bad date (doubtful), in a village the file would add with
# --create-villages.
NEW_VILLAGE = {"record_id": "", "village": "Làng Mới", "full_name": "Đỗ Văn An",
               "dob": "31/02/2015"}
# Row 5: row 2's record_id again, and a sex that is neither (doubtful).
REPEATED = {"record_id": "1", "village": "T02", "full_name": "Lò Thị Mai", "sex": "?x"}

BAD_PROBLEMS = [
    ("full_name", "để trống full_name", "empty full_name"),
    ("village", "không có thôn 'thon1' trong xã", "unknown village 'thon1'"),
]
BAD_DOUBTS = [
    ("sex", "giới tính 'X' không phải Nam/Nữ", "sex 'X' is not M/F"),
    ("dob", "ngày sinh '2015-13' không phải ngày", "dob '2015-13' is not a date"),
    ("special_circumstances", "mã hoàn cảnh đặc biệt HCDB-Z không có trong danh mục",
     "special_circumstances code HCDB-Z is not in the catalogue"),
]


def _file(tmp_path: Path) -> Path:
    file = tmp_path / "danh-sach.csv"
    file.write_bytes(csv_bytes([GOOD, BAD, NEW_VILLAGE, REPEATED]))
    return file


def _count(world: World, model: type[ChildRecord] | type[Village]) -> int:
    with world.uow() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def _row_lines(output: str, row: int) -> list[str]:
    return [line for line in output.splitlines() if line.startswith(f"row {row}: ")]


def _doubt_lines(output: str, row: int) -> list[str]:
    return [line.split(": ", 1)[1] for line in output.splitlines()
            if line.startswith(f"row {row} (nghi sai / doubtful): ")]


def test_every_problem_of_every_refused_row_is_printed_and_the_status_is_2(
        commune: World, cli: Run, tmp_path: Path) -> None:
    result = cli("registry", "import", _file(tmp_path), "--project", commune.project_id)
    assert result.exit_code == 2, result.output
    assert "created 1, linked 0, queued for review 0, refused 3" in result.output
    lines = _row_lines(result.output, 3)
    assert len(lines) == len(BAD_PROBLEMS)
    for line, (_column, vi, en) in zip(lines, BAD_PROBLEMS, strict=True):
        assert line.startswith(f"row 3: {vi}") and f" — {en}" in line  # Vietnamese first
    doubts = _doubt_lines(result.output, 3)
    assert len(doubts) == len(BAD_DOUBTS)
    for line, (_column, vi, en) in zip(doubts, BAD_DOUBTS, strict=True):
        assert line.startswith(vi) and f" — {en}" in line
    record_id, village = _row_lines(result.output, 4)
    assert record_id.startswith("row 4: để trống record_id")
    assert "không có thôn 'Làng Mới' trong xã" in village
    (dob,) = _doubt_lines(result.output, 4)
    assert dob.startswith("ngày sinh '31/02/2015' không phải ngày")
    assert [line.split(" — ")[1][:27] for line in _row_lines(result.output, 5)] == [
        "record_id 1 appears again ("]
    assert [line.split(" — ")[1][:27] for line in _doubt_lines(result.output, 5)] == [
        "sex '?x' is not M/F or Nam/"]
    assert "3 dòng bị từ chối" in result.output and "(3 rows refused" in result.output
    assert _count(commune, ChildRecord) == 1  # the good row is in


def test_a_dry_run_with_refused_rows_says_them_all_exits_2_and_adds_no_village(
        commune: World, cli: Run, tmp_path: Path) -> None:
    result = cli("registry", "import", _file(tmp_path), "--project", commune.project_id,
                 "--dry-run", "--create-villages")
    assert result.exit_code == 2, result.output
    assert result.output.startswith("Dry run, nothing saved")
    # Unknown villages would be added were the rows right: not a problem of theirs here, and,
    # the rows being refused for the rest, none is added.
    assert len(_row_lines(result.output, 3)) == len(BAD_PROBLEMS) - 1
    (record_id,) = _row_lines(result.output, 4)
    assert record_id.startswith("row 4: để trống record_id")
    (dob,) = _doubt_lines(result.output, 4)
    assert dob.startswith("ngày sinh '31/02/2015'")
    assert "Villages added" not in result.output
    assert _count(commune, ChildRecord) == 0
    saved = cli("registry", "import", _file(tmp_path), "--project", commune.project_id,
                "--create-villages")
    assert saved.exit_code == 2 and "created 1," in saved.output
    assert "Villages added" not in saved.output and _count(commune, Village) == 6


def test_a_clean_file_exits_0(commune: World, cli: Run, tmp_path: Path) -> None:
    file = tmp_path / "sach.csv"
    file.write_bytes(csv_bytes([GOOD]))
    result = cli("registry", "import", file, "--project", commune.project_id)
    assert result.exit_code == 0, result.output
    assert "row " not in result.output


def test_rows_kept_with_doubtful_fields_are_said_and_the_status_is_0(
        commune: World, cli: Run, tmp_path: Path) -> None:
    file = tmp_path / "nghi-sai.csv"
    file.write_bytes(csv_bytes([
        {**GOOD, "personal_id": "001216000001"},  # a boy's number for a girl born 2016
        {"record_id": "2", "village": "T02", "full_name": "Lò Văn Tám", "dob": "2099-01-01"}]))
    result = cli("registry", "import", file, "--project", commune.project_id)
    assert result.exit_code == 0, result.output
    assert "created 2, linked 0, queued for review 0, refused 0" in result.output
    assert _doubt_lines(result.output, 2) == [
        "mã định danh '001216000001' nghi sai (chữ số giới tính không khớp giới tính): đã giữ "
        "nhưng không dùng để ghép trẻ — personal_id '001216000001' is doubtful (its sex digit "
        "disagrees with the sex): kept, not used for matching"]
    assert [line[:26] for line in _doubt_lines(result.output, 3)] == [
        "ngày sinh 2099-01-01 ở tươ"]
    assert "2 dòng đã nhập có trường nghi sai" in result.output
    assert _count(commune, ChildRecord) == 2


def test_the_api_report_lists_every_problem_with_its_column(
        commune: World, client: FlaskClient, admin_headers: dict[str, str],
        tmp_path: Path) -> None:
    response = client.post(f"/v1/projects/{commune.project_id}/registry/imports",
                           data=_file(tmp_path).read_bytes(), content_type="text/csv",
                           headers=admin_headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    rows = {row["row"]: row for row in response.json["rows"]}  # type: ignore[index]
    bad = rows[3]
    assert [(p["column"], p["vi"][:len(vi)], p["en"][:len(en)]) for p, (_c, vi, en)
            in zip(bad["problems"], BAD_PROBLEMS, strict=True)] == BAD_PROBLEMS
    assert [(d["column"], d["vi"][:len(vi)], d["en"][:len(en)]) for d, (_c, vi, en)
            in zip(bad["doubtful"], BAD_DOUBTS, strict=True)] == BAD_DOUBTS
    assert [(d["field"], d["value"], d["reason"]) for d in bad["doubtful"]] == [
        ("sex", "X", "not_a_sex"), ("dob", "2015-13", "not_a_date"),
        ("special_circumstances", "HCDB-Z", "unknown_code")]
    # The first problem stays where clients of the report read it before.
    assert (bad["reasonVi"], bad["reason"]) == (bad["problems"][0]["vi"],
                                                bad["problems"][0]["en"])
    assert [p["column"] for p in rows[5]["problems"]] == ["record_id"]
    assert [d["column"] for d in rows[5]["doubtful"]] == ["sex"]
    assert rows[2]["outcome"] == "created" and rows[2]["problems"] == []
    assert rows[2]["doubtful"] == [] and response.json["keptWithDoubts"] == 0  # type: ignore[index]
