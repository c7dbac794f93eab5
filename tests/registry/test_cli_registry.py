"""`diemtua registry import | links | review-queue`, as an officer runs them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from server.cli import main
from server.models import Child, ChildRecord
from server.services import Services
from tests.registry.helpers import strip_marks
from tests.registry.import_helpers import (
    child_of_record,
    count,
    csv_bytes,
    phone_record,
    phone_registry,
    typed_without_marks,
    xlsx_bytes,
)


@pytest.fixture
def cli(services: Services, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", database_url)
    monkeypatch.setenv("DIEMTUA_SECRET_KEY", "test-secret")
    return CliRunner()


def _run(cli: CliRunner, *args: object) -> Result:
    return cli.invoke(main, ["registry", *map(str, args)])


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_import_prints_the_counts_and_each_refused_row(
        services: Services, cli: CliRunner, tmp_path: Path) -> None:
    project_id = phone_registry(services, 4)
    record = phone_record(services)
    rows = [typed_without_marks(record, "1", record.village_code),
            {"record_id": "2", "village": "Thôn Đoài", "full_name": "Đinh Thị Gấm", "sex": "F"},
            {"record_id": "3", "village": "Làng Xa", "full_name": "Đinh Văn Tài"},
            {"record_id": "4", "village": "T03", "full_name": "Cầm Văn Quý", "dob": "2015-13"}]
    file = tmp_path / "danh-sach-tre-em.xlsx"
    file.write_bytes(xlsx_bytes(rows))
    result = _run(cli, "import", file, "--project", project_id)
    assert result.exit_code == 2, result.output  # rows refused: the others are imported
    lines = result.output.splitlines()
    assert lines[0] == (f"Imported danh-sach-tre-em.xlsx (project {project_id}): created 2, "
                        "linked 1, queued for review 0, refused 1, already imported 0.")
    # Vietnamese first for the commune officer, then English.
    assert lines[1].startswith("row 4: không có thôn 'Làng Xa' trong xã")
    assert "— unknown village 'Làng Xa'" in lines[1]
    # An unreadable date does not refuse the row: imported without it, and said.
    assert lines[2].startswith("row 5 (nghi sai / doubtful): ngày sinh '2015-13' không phải "
                               "ngày")
    assert "— dob '2015-13' is not a date" in lines[2]
    assert lines[3].startswith("1 dòng đã nhập có trường nghi sai")
    with services.database.unit_of_work() as db:
        keys = set(db.scalars(select(ChildRecord.source_key)
                              .where(ChildRecord.source == "import")))
    assert keys == {"danh-sach-tre-em#1", "danh-sach-tre-em#2", "danh-sach-tre-em#4"}

    again = _run(cli, "import", file, "--project", project_id, "--create-villages")
    assert again.exit_code == 0, again.output
    assert "created 1, linked 0, queued for review 0, refused 0, already imported 3." in (
        again.output)
    assert "Villages added: Làng Xa" in again.output


def test_a_dry_run_says_so_and_keeps_nothing(
        services: Services, cli: CliRunner, tmp_path: Path) -> None:
    project_id = phone_registry(services, 2)
    file = tmp_path / "list.csv"
    file.write_bytes(csv_bytes([{"record_id": "1", "village": "T01",
                                 "full_name": "Vàng Thị Dua"}]))
    before = count(services, ChildRecord)
    result = _run(cli, "import", file, "--project", project_id, "--dry-run",
                  "--source", "ubnd-2024")
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Dry run, nothing saved (project {project_id}): created 1")
    assert count(services, ChildRecord) == before


def test_a_refused_file_exits_1_with_the_reason(
        services: Services, cli: CliRunner, tmp_path: Path) -> None:
    project_id = phone_registry(services, 1)
    file = tmp_path / "list.csv"
    file.write_bytes(b"ho_ten,thon\nLo Van A,T01\n")
    result = _run(cli, "import", file, "--project", project_id)
    assert result.exit_code == 1
    # Vietnamese first for the commune officer, then English, as for refused rows.
    assert "file refused: thiếu cột bắt buộc: record_id, full_name, village" in result.output
    assert "— missing required column(s): record_id, full_name, village" in result.output
    assert _run(cli, "import", file, "--project", 999).exit_code == 1


def test_links_name_every_record_and_its_current_child(
        services: Services, cli: CliRunner, tmp_path: Path) -> None:
    project_id = phone_registry(services, 3)
    record = phone_record(services)
    file = tmp_path / "list.csv"
    file.write_bytes(csv_bytes([typed_without_marks(record, "HB-9", record.village_code),
                                {"record_id": "HB-10", "village": "T02",
                                 "full_name": "Hà Thị Nhàn"}]))
    assert _run(cli, "import", file, "--project", project_id).exit_code == 0
    phone_child = child_of_record(services, record.source_key)
    survivor_id = child_of_record(services, "list#HB-10")
    with services.database.unit_of_work() as db:  # a reviewer merged the two: a redirect
        merged = db.get_one(Child, phone_child)
        merged.status, merged.merged_into = "merged", survivor_id
    out = tmp_path / "links.csv"
    result = _run(cli, "links", "--project", project_id, "--out", out)
    assert result.exit_code == 0, result.output
    links = {row["record_id"]: row["child_id"] for row in _read(out)}
    assert len(links) == count(services, ChildRecord)
    assert links["HB-9"] == links[record.source_key] == survivor_id  # redirect followed
    assert "HB-10" in links and f"Wrote {len(links)} records" in result.output


def test_review_queue_lists_open_pairs_side_by_side(
        services: Services, cli: CliRunner, tmp_path: Path) -> None:
    project_id = phone_registry(services, 4)
    record = phone_record(services)
    twin = typed_without_marks(record, "T-1", record.village_code)
    given = strip_marks(record.full_name).split()
    twin["full_name"] = " ".join([*given[:-1], "Khang" if given[-1] != "Khang" else "Khoi"])
    file = tmp_path / "list.csv"
    file.write_bytes(csv_bytes([twin]))
    assert "queued for review 1" in _run(cli, "import", file, "--project", project_id).output
    out = tmp_path / "queue.csv"
    result = _run(cli, "review-queue", "--project", project_id, "--out", out)
    assert result.exit_code == 0, result.output
    (row,) = _read(out)
    assert (row["record_key"], row["record_name"]) == ("T-1", twin["full_name"])
    assert row["child_id"] == child_of_record(services, record.source_key)
    assert (row["child_name"], row["child_dob"]) == (record.full_name, record.dob)
    assert row["record_dob"] == record.dob and row["record_village"] == record.village_code
    assert float(row["score"]) > 0 and row["reasons"]
    assert _run(cli, "review-queue", "--project", 999, "--out", out).exit_code == 1
