"""Import files are read as streams within limits (README, "Importing the lists a commune
already has"): a 20 MB CSV, a workbook lying about its size or a row of a million empty cells
raise a worker's memory by less than 150 MB; a file over the row limit, a header wider than 64
columns or a cell longer than Excel allows is refused whole with the reason in Vietnamese and
English, and nothing is stored — over real HTTP, in the CLI, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import select

from server.cli import main
from server.config import Settings
from server.models import Audit, ChildRecord
from server.registry.importer import FileRefused, Outcome
from server.services import Services
from tests.conftest import ADMIN_PASSWORD, LiveServer
from tests.registry.import_helpers import HEADER, csv_bytes, phone_registry, run_import

ROOT = Path(__file__).resolve().parents[2]
MEMORY_BUDGET_MB = 150
ROW_LIMIT = 3  # this module's server (`settings` below); the probes run with the default
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A server that takes at most three rows a file (DIEMTUA_IMPORT_MAX_ROWS=3)."""
    return settings.with_overrides(import_max_rows=ROW_LIMIT)


NAMES = ["Lò Văn Nam", "Quàng Thị Hoa", "Cầm Văn Tú", "Lường Thị Mai", "Tòng Văn Ín"]


def _row(n: int, village: str = "T01") -> dict[str, Any]:
    """A child of a household of its own; rows 0–4 are five different children."""
    return {"record_id": f"R{n}", "village": village, "full_name": NAMES[n % len(NAMES)],
            "dob": f"201{n % 10}-0{n % 9 + 1}-1{n % 10}"}


def _imported(services: Services) -> list[str]:
    with services.database.unit_of_work() as db:
        return list(db.scalars(select(ChildRecord.source_key)
                               .where(ChildRecord.source == "import")))


def _import_audits(services: Services) -> int:
    with services.database.unit_of_work() as db:
        return len(db.scalars(select(Audit).where(Audit.action == "registry.import")).all())


# --- files as a careless or hostile sender makes them ----------------------------------------


def _write_big_csv(path: Path, size: int = 20_000_000) -> Path:
    """A plausible children list of `size` bytes (some 140,000 rows)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        n = 0
        while handle.tell() < size:
            n += 1
            writer.writerow([f"R{n}", "so-2025", f"HO-{n // 3}", "ctv-01", "2025-03-01", "",
                             "Xã Thử", "T01", "Lường Văn Pọm", f"Lường Văn Hưng {n}", "Nam",
                             "2016-05-12", "Lò Thị Mai", "Lường Văn Pọm", "", "", "HCDB-A"])
    return path


def _workbook(rows: list[list[Any]], patch: Callable[[bytes], bytes]) -> bytes:
    """A workbook saved by openpyxl, its first sheet's XML then edited by `patch`."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    saved = io.BytesIO()
    book.save(saved)
    out = io.BytesIO()
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(out, "w",
                                                           zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = patch(data)
            target.writestr(info.filename, data)
    return out.getvalue()


def _claiming_every_column(rows: int) -> bytes:
    """Rows of 17 cells under a ``<dimension>`` claiming Excel's whole grid, A1:XFD1048576
    (openpyxl's read-only mode pads every row to 16,384 cells)."""
    body = [[row.get(name) for name in HEADER] for row in
            (_row(n, village="Thôn Xa") for n in range(rows))]

    def lie(xml: bytes) -> bytes:
        patched = re.sub(rb'<dimension ref="[^"]*" ?/>', b'<dimension ref="A1:XFD1048576"/>',
                         xml)
        assert patched != xml
        return patched

    return _workbook([HEADER, *body], lie)


def _one_row_of_empty_cells(cells: int) -> bytes:
    """One child, then `cells` styled empty cells in its row: 44 KB packed."""
    return _workbook([HEADER, [_row(1).get(name) for name in HEADER]],
                     lambda xml: xml.replace(b"</row></sheetData>",
                                             b'<c s="1"/>' * cells + b"</row></sheetData>"))


# --- memory: a fresh process, as a worker --------------------------------------------------


def _probe(kind: str, file: Path, project_id: int, services: Services,
           *extra: str) -> dict[str, Any]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("DIEMTUA_")}
    env.update(DIEMTUA_DATA_DIR=str(services.settings.data_dir),
               DIEMTUA_DATABASE_URL=services.settings.database_url,
               DIEMTUA_SECRET_KEY="test-secret")
    done = subprocess.run([sys.executable, "-m", "tests.registry.import_probe", kind, str(file),
                           str(project_id), *extra], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return outcome


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_big_csv(tmp_path_factory.mktemp("big") / "danh-sach-tinh.csv")


@pytest.fixture
def proc_peak() -> None:
    if not os.access("/proc/self/clear_refs", os.W_OK):
        pytest.skip("needs Linux's /proc/self/clear_refs to measure a peak")


@pytest.mark.usefixtures("proc_peak")
def test_a_20_mb_csv_over_the_row_limit_is_refused_by_the_cli_in_bounded_memory(
        services: Services, big_csv: Path) -> None:
    project_id = phone_registry(services, 1)
    outcome = _probe("cli", big_csv, project_id, services)
    assert outcome["exit"] == 1
    assert "tệp có hơn 50.000 dòng dữ liệu" in outcome["output"]
    assert "— the file has more than 50,000 rows below the header" in outcome["output"]
    assert outcome["growth_mb"] < MEMORY_BUDGET_MB, outcome
    assert _imported(services) == []


@pytest.mark.usefixtures("proc_peak")
def test_a_20_mb_csv_over_the_row_limit_is_refused_by_the_api_in_bounded_memory(
        services: Services, client: FlaskClient, big_csv: Path) -> None:
    project_id = phone_registry(services, 1)
    token = _manager_token(client, services, project_id)
    outcome = _probe("api", big_csv, project_id, services, token)
    assert outcome["status"] == 400 and outcome["body"]["code"] == 400.1
    assert "more than 50,000 rows" in outcome["body"]["message"]
    assert outcome["growth_mb"] < MEMORY_BUDGET_MB, outcome
    assert _imported(services) == []


@pytest.mark.usefixtures("proc_peak")
@pytest.mark.parametrize(("workbook", "told", "status"), [
    # Every row read, each with its 17 columns (and refused for its unknown village: status 2).
    (lambda: _claiming_every_column(10_000), ["refused 10000", "row 2: không có thôn 'Thôn Xa'"],
     2),
    (lambda: _one_row_of_empty_cells(1_000_000), ["created 1"], 0),
], ids=["dimension-claiming-16384-columns", "a-row-of-a-million-styled-empty-cells"])
def test_a_workbook_lying_about_its_size_is_read_in_bounded_memory(
        services: Services, tmp_path: Path, workbook: Callable[[], bytes],
        told: list[str], status: int) -> None:
    project_id = phone_registry(services, 1)
    file = tmp_path / "danh-sach.xlsx"
    file.write_bytes(workbook())
    outcome = _probe("cli", file, project_id, services)
    assert outcome["exit"] == status, outcome["output"][-2000:]
    assert all(text in outcome["output"] for text in told), outcome["output"][-2000:]
    assert outcome["growth_mb"] < MEMORY_BUDGET_MB, outcome


def _zip_of_empty_parts(path: Path, parts: int) -> Path:
    """An upload-sized archive listing `parts` empty parts (Python's zipfile makes an object
    for each before anything can look inside)."""
    with zipfile.ZipFile(path, "w") as archive:
        for n in range(parts):
            archive.writestr(zipfile.ZipInfo(f"{n:x}"), b"")
    return path


@pytest.mark.usefixtures("proc_peak")
def test_a_workbook_listing_400000_parts_is_refused_in_bounded_memory(
        services: Services, tmp_path: Path) -> None:
    project_id = phone_registry(services, 1)
    file = _zip_of_empty_parts(tmp_path / "danh-sach.xlsx", 400_000)
    outcome = _probe("cli", file, project_id, services)
    assert outcome["exit"] == 1
    assert "its list of parts is over 1,048,576 bytes" in outcome["output"]
    assert outcome["growth_mb"] < MEMORY_BUDGET_MB, outcome


# --- the row limit ---------------------------------------------------------------------------


def _manager_token(client: FlaskClient, services: Services, project_id: int) -> str:
    from server.operations.users import create_user, grant_project_role

    with services.database.unit_of_work() as db:
        user = create_user(db, "quanly@diemtua.test", ADMIN_PASSWORD, display_name="Quản lý")
        grant_project_role(db, project_id, user.actor_id, "manager")
    response = client.post("/v1/sessions", json={"email": "quanly@diemtua.test",
                                                 "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    token: str = response.json["token"]  # type: ignore[index]
    return token


def test_the_row_limit_refuses_a_file_over_http_and_stores_nothing(
        services: Services, client: FlaskClient, live_server: LiveServer) -> None:
    project_id = phone_registry(services, 1)
    headers = {"Authorization": f"Bearer {_manager_token(client, services, project_id)}"}
    url = f"{live_server.url}/v1/projects/{project_id}/registry/imports"
    four = [_row(n) for n in range(ROW_LIMIT + 1)]
    refused = requests.post(url, data=csv_bytes(four), timeout=30,
                            headers={**headers, "Content-Type": "text/csv"})
    assert refused.status_code == 400 and refused.json()["code"] == 400.1
    assert "more than 3 rows below the header" in refused.json()["message"]
    assert "DIEMTUA_IMPORT_MAX_ROWS" in refused.json()["message"]
    assert refused.json()["details"]["reasonVi"].startswith("tệp có hơn 3 dòng dữ liệu")
    as_workbook = requests.post(url, files={"file": ("ds.xlsx", _xlsx(four), XLSX)},
                                headers=headers, timeout=30)
    assert as_workbook.status_code == 400
    assert "more than 3 rows" in as_workbook.json()["message"]
    assert _imported(services) == [] and _import_audits(services) == 0

    blank_rows_do_not_count = csv_bytes(four[:ROW_LIMIT]) + b",,,,\n\n" * 10
    accepted = requests.post(url, data=blank_rows_do_not_count, timeout=30,
                             headers={**headers, "Content-Type": "text/csv"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["counts"]["created"] == ROW_LIMIT


def test_the_row_limit_refuses_a_file_in_the_cli_and_stores_nothing(
        services: Services, database_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    project_id = phone_registry(services, 1)
    for name, value in {"DIEMTUA_DATA_DIR": str(services.settings.data_dir),
                        "DIEMTUA_DATABASE_URL": database_url,
                        "DIEMTUA_SECRET_KEY": "test-secret",
                        "DIEMTUA_IMPORT_MAX_ROWS": str(ROW_LIMIT)}.items():
        monkeypatch.setenv(name, value)
    file = tmp_path / "danh-sach.xlsx"
    file.write_bytes(_xlsx([_row(n) for n in range(ROW_LIMIT + 1)]))
    result = CliRunner().invoke(main, ["registry", "import", str(file), "--project",
                                       str(project_id)])
    assert result.exit_code == 1
    assert ("danh-sach.xlsx: file refused: tệp có hơn 3 dòng dữ liệu, giới hạn của máy chủ "
            "(DIEMTUA_IMPORT_MAX_ROWS)") in result.output
    assert "— the file has more than 3 rows below the header" in result.output
    assert _imported(services) == []


def _xlsx(rows: list[dict[str, Any]], header: list[str] = HEADER) -> bytes:
    return _workbook([header, *[[row.get(name) for name in header] for row in rows]],
                     lambda xml: xml)


# --- columns and cells -----------------------------------------------------------------------


def test_a_header_wider_than_64_columns_is_refused(services: Services) -> None:
    project_id = phone_registry(services, 1)
    notes = [f"ghi chú {n}" for n in range(1, 51)]
    wide = csv_bytes([_row(1)], header=[*HEADER, *notes])  # 67 named columns
    with pytest.raises(FileRefused, match=r"the header runs to column 67; only the first 64 "
                                          r"columns are read \(the template has 17\)"):
        run_import(services, project_id, wide)
    far = ["record_id", "village", "full_name", *[None] * 96, "ghi chú"]  # column 100
    with pytest.raises(FileRefused, match=r"the header runs to column 100") as refused:
        run_import(services, project_id, _workbook([far], lambda xml: xml))
    assert refused.value.vi.startswith("dòng tiêu đề kéo dài đến cột 100; chỉ đọc 64 cột đầu")
    assert _imported(services) == []


def test_cells_right_of_the_header_are_ignored(services: Services) -> None:
    project_id = phone_registry(services, 1)
    row = [_row(1).get(name) or "" for name in HEADER]
    csv_file = ",".join(HEADER).encode() + b"\n" + ",".join(row).encode() + b",x" * 500 + b"\n"
    assert run_import(services, project_id, csv_file).count(Outcome.CREATED) == 1
    other = [_row(2).get(name) or "" for name in HEADER]
    spilled = _workbook([HEADER, [*other, *["x"] * 500]], lambda xml: xml)
    assert run_import(services, project_id, spilled).count(Outcome.CREATED) == 1


def test_a_cell_longer_than_excels_limit_is_refused(services: Services) -> None:
    project_id = phone_registry(services, 1)
    long_note = {**_row(1), "ghi chú": "a" * 40_000}
    with pytest.raises(FileRefused, match=r"row 2, column 18: a cell is longer than 32,767 "
                                          r"characters, Excel's own limit"):
        run_import(services, project_id, csv_bytes([long_note], header=[*HEADER, "ghi chú"]))
    beyond_excel = _workbook(  # openpyxl, like Excel, cuts a cell at the limit: edit the XML
        [[*HEADER, "ghi chú"], [*[_row(1).get(name) for name in HEADER], "NOTE"]],
        lambda xml: xml.replace(b"NOTE", b"a" * 40_000))
    with pytest.raises(FileRefused, match=r"a cell longer than 32,767 characters"):
        run_import(services, project_id, beyond_excel)
    assert _imported(services) == []


def test_an_unclosed_quote_is_refused_with_its_row(services: Services) -> None:
    project_id = phone_registry(services, 1)
    data = (csv_bytes([_row(1)]) + b'R2,,,,,,,T01,,"L\xc3\xb2 V\xc4\x83n\n'
            + b"Lo Van Nam,T01\n" * 20_000)
    with pytest.raises(FileRefused, match=r"row 3 is longer than 131,072 bytes — usually a "
                                          r"quote mark") as refused:
        run_import(services, project_id, data)
    assert "dấu ngoặc kép" in refused.value.vi
    assert _imported(services) == []


def test_xml_tricks_in_a_workbook_are_refused(services: Services) -> None:
    project_id = phone_registry(services, 1)
    rows: list[list[Any]] = [HEADER, [_row(1).get(name) for name in HEADER]]
    entities = _workbook(rows, lambda xml: (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">]>'
        + xml.split(b"?>", 1)[-1]))
    with pytest.raises(FileRefused, match="declares a DTD"):
        run_import(services, project_id, entities)
    endless = _workbook(rows, lambda xml: xml.replace(b"<sheetData>",
                                                      b"<sheetData><!--" + b"<>" * 2_000_000
                                                      + b"-->"))
    with pytest.raises(FileRefused, match="an XML token over 1,048,576 bytes"):
        run_import(services, project_id, endless)
    assert _imported(services) == []
