"""No formula runs from what the server offers to open in a spreadsheet (exports/cells.py):
answers a phone sent and rows an officer imported come out with a leading `'` in
`submissions.csv(.zip)`, the datasets API's `entities.csv` and `diemtua registry links` /
`review-queue` — and exactly as stored with `?raw=true` / `--raw`. The phones' own
`children.csv` is data for Collect and stays byte for byte."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
import requests
import xlsxwriter
from click.testing import CliRunner
from openpyxl import load_workbook

from exports.cells import safe_cell, safe_csv, write_text_row
from server.cli import main
from server.demo import DemoSummary, load_demo
from server.registry.importer import Outcome
from server.registry.sync import sync_pending
from server.services import Services
from tests.conftest import LiveServer, World
from tests.hostile_content import FORMULAS, notes_phone, notes_xml, site_admin
from tests.openrosa.wire import collect_headers
from tests.registry.helpers import (
    TODAY,
    consented_xml,
    newborn_named,
    strip_marks,
    submit_variant,
)
from tests.registry.import_helpers import csv_bytes, phone_record, run_import, typed_without_marks

HYPERLINK, CMD, SUM = FORMULAS


@pytest.mark.parametrize("value", [
    *FORMULAS, "-1+2", "-2+3+cmd|' /C calc'!A0", "=1", "+", "-", "@", "\t=1+1", "\r=1+1",
    "+84 912 345 678", "-3 tuổi"])
def test_cells_that_a_spreadsheet_would_evaluate_get_a_quote(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", [
    "-3", "+84912345678", "-105.8542", "0", "1+2", "Nguyễn Thị Hoa", "hoa@example.org",
    "2026-11-20", "uuid:5b1f2a8e-0000-4000-8000-000000000001", "", " =1", "'=1"])
def test_plain_numbers_and_text_stay_as_they_are(value: str) -> None:
    assert safe_cell(value) == value


def test_a_csv_with_nothing_to_neutralise_comes_back_byte_for_byte() -> None:
    clean = 'name,label\na,"Lò Văn A, con ông B"\nb,"hai\ndòng"\nc,-3\n'.encode()
    assert safe_csv(clean) == clean
    assert safe_csv(b'name,label\na,"=1+2"\n') == b"name,label\na,'=1+2\n"


def test_xlsx_cells_are_written_as_text_never_as_formulas() -> None:
    data = io.BytesIO()
    workbook = xlsxwriter.Workbook(data, {"in_memory": True})
    write_text_row(workbook.add_worksheet(), 0, [HYPERLINK, "-3"])
    workbook.close()
    sheet = load_workbook(io.BytesIO(data.getvalue())).active
    assert sheet is not None
    first, second = sheet["A1"], sheet["B1"]
    assert (first.data_type, first.value) == ("s", HYPERLINK)
    assert (second.data_type, second.value) == ("s", "-3")


# --- a phone's answers in submissions.csv(.zip) ----------------------------------------------


def _tables(archive: bytes) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {name: list(csv.DictReader(io.StringIO(opened.read(name).decode("utf-8"))))
                for name in opened.namelist() if name.endswith(".csv")}


def _phone_sent_formulas(live_server: LiveServer, world: World) -> tuple[str, dict[str, str]]:
    phone = notes_phone(world.services, world.project_id, live_server.url)
    phone.submit(notes_xml(HYPERLINK, count="-3", members=(CMD, SUM)))
    base = f"{live_server.url}/v1/projects/{world.project_id}/forms/ghi_chep"
    return base, site_admin(world.services)


def test_a_phones_formulas_come_out_quoted_in_submissions_csv_zip(
        live_server: LiveServer, world: World) -> None:
    base, admin = _phone_sent_formulas(live_server, world)
    response = requests.get(f"{base}/submissions.csv.zip", headers=admin, timeout=30)
    assert response.status_code == 200, response.text
    tables = _tables(response.content)
    [main_row] = tables["ghi_chep.csv"]
    assert main_row["note"] == "'" + HYPERLINK
    assert main_row["count"] == "-3"  # a negative number is data, not a formula
    members = tables["ghi_chep-member.csv"]
    assert [row["member_name"] for row in members] == ["'" + CMD, "'" + SUM]

    plain = requests.get(f"{base}/submissions.csv", headers=admin, timeout=30)
    assert plain.status_code == 200
    [row] = list(csv.DictReader(io.StringIO(plain.content.decode("utf-8"))))
    assert row["note"] == "'" + HYPERLINK


def test_raw_true_gives_machine_clients_centrals_bytes(
        live_server: LiveServer, world: World) -> None:
    """Needs server/api/v1/odata.py to pass `?raw=true` to csv_export as neutralise=False."""
    base, admin = _phone_sent_formulas(live_server, world)
    response = requests.get(f"{base}/submissions.csv.zip", params={"raw": "true"},
                            headers=admin, timeout=30)
    assert response.status_code == 200, response.text
    tables = _tables(response.content)
    assert tables["ghi_chep.csv"][0]["note"] == HYPERLINK
    assert [row["member_name"] for row in tables["ghi_chep-member.csv"]] == [CMD, SUM]
    plain = requests.get(f"{base}/submissions.csv", params={"raw": "true"}, headers=admin,
                         timeout=30)
    assert next(csv.DictReader(io.StringIO(plain.content.decode("utf-8"))))["note"] == HYPERLINK


# --- an imported row in entities.csv, the phones' list and the CLI ---------------------------


HOSTILE_ROW = {"record_id": SUM, "village": "T01", "full_name": HYPERLINK, "sex": "F",
               "dob": "2016-05-04", "mother_name": CMD}


def _registry_with_a_hostile_row(services: Services) -> DemoSummary:
    demo = load_demo(services, households=2, seed=11, today=TODAY, revisits=False,
                     sync_registry=True)
    report = run_import(services, demo.project_id, csv_bytes([HOSTILE_ROW]))
    assert not report.refused, [r.reason for r in report.refused]
    return demo


def _rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"))))


def _hostile(rows: list[dict[str, str]], quote: str) -> dict[str, str]:
    return next(row for row in rows if row["full_name"] == quote + HYPERLINK)


def test_an_imported_rows_formulas_come_out_quoted_in_entities_csv_and_raw_on_request(
        live_server: LiveServer, services: Services) -> None:
    demo = _registry_with_a_hostile_row(services)
    admin = site_admin(services)
    url = f"{live_server.url}/v1/projects/{demo.project_id}/datasets/children/entities.csv"
    safe = requests.get(url, headers=admin, timeout=30)
    assert safe.status_code == 200, safe.text
    row = _hostile(_rows(safe.content), "'")
    assert row["label"] == f"'{HYPERLINK} (2016)" and row["mother_name"] == "'" + CMD
    assert row["__version"].isdigit() and row["dob"] == "2016-05-04"

    raw = requests.get(url, params={"raw": "true"}, headers=admin, timeout=30)
    assert raw.status_code == 200
    raw_row = _hostile(_rows(raw.content), "")
    assert raw_row["mother_name"] == CMD
    assert raw.headers["ETag"] != safe.headers["ETag"]  # two different files, two tags

    # The phone of T01 reads the same child as data, untouched, and its hash stays its md5.
    phone = next(p for p in demo.phones if p.village == "T01")
    media = requests.get(f"{live_server.url}/v1/key/{phone.token}/projects/{demo.project_id}"
                         "/forms/child_followup/attachments/children.csv",
                         headers=collect_headers(), timeout=30)
    assert media.status_code == 200
    assert _hostile(_rows(media.content), "") == raw_row


def test_a_child_a_phone_named_with_a_formula_comes_out_quoted_in_entities_csv(
        live_server: LiveServer, services: Services) -> None:
    demo = load_demo(services, households=4, seed=11, today=TODAY, revisits=False,
                     sync_registry=True)
    submit_variant(services, consented_xml(services), newborn_named(HYPERLINK))
    assert sync_pending(services.database.sessions).failed == 0
    url = f"{live_server.url}/v1/projects/{demo.project_id}/datasets/children/entities.csv"
    safe = requests.get(url, headers=site_admin(services), timeout=30)
    assert _hostile(_rows(safe.content), "'")["label"] == f"'{HYPERLINK} (2026)"


@pytest.fixture
def cli(services: Services, database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", database_url)
    monkeypatch.setenv("DIEMTUA_SECRET_KEY", "test-secret")
    return CliRunner()


def _written(cli: CliRunner, out: Path, *args: object) -> list[dict[str, str]]:
    result = cli.invoke(main, ["registry", *map(str, args), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_registry_links_quote_an_imported_record_id_unless_raw(
        services: Services, cli: CliRunner, tmp_path: Path) -> None:
    demo = _registry_with_a_hostile_row(services)
    out = tmp_path / "links.csv"
    record_ids = {row["record_id"] for row in _written(cli, out, "links", "--project",
                                                       demo.project_id)}
    assert "'" + SUM in record_ids and SUM not in record_ids
    raw_ids = {row["record_id"] for row in _written(cli, out, "links", "--project",
                                                    demo.project_id, "--raw")}
    assert SUM in raw_ids


def test_the_review_queue_file_quotes_formulas_unless_raw(
        services: Services, cli: CliRunner, tmp_path: Path) -> None:
    demo = load_demo(services, households=4, seed=11, today=TODAY, revisits=False,
                     sync_registry=True)
    record = phone_record(services)
    twin = typed_without_marks(record, HYPERLINK, record.village_code)
    given = strip_marks(record.full_name).split()
    twin["full_name"] = " ".join([*given[:-1], "Khang" if given[-1] != "Khang" else "Khoi"])
    report = run_import(services, demo.project_id, csv_bytes([twin]))
    assert report.count(Outcome.QUEUED) == 1
    out = tmp_path / "queue.csv"
    [row] = _written(cli, out, "review-queue", "--project", demo.project_id)
    assert row["record_key"] == "'" + HYPERLINK
    [raw] = _written(cli, out, "review-queue", "--project", demo.project_id, "--raw")
    assert raw["record_key"] == HYPERLINK
