"""CSV exports over HTTP: Central's zip, plain CSV, media, audit, newest first."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from exports import source
from server.models import Audit
from tests.conftest import PNG_BYTES, Screening, fixture_bytes, new_instance_id, screening_xml

CHILD_HEADER = ["child_name", "child_age", "orphan", "orphan_detail", "child_label",
                "meta-entity-label", "PARENT_KEY", "KEY"]


def read_csv(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def fill(screening: Screening) -> tuple[str, str, str]:
    """Collect's and Web Forms' real instances, then one of ours with a data collector."""
    collector = screening.user("thu@xa.test", "formfill", display_name="Cộng tác viên Thu")
    collect = screening.submit(fixture_bytes("javarosa-submission.xml"), {"house.png": PNG_BYTES},
                               device_id="collect:ABCDEF0123456789")
    web = screening.submit(fixture_bytes("webforms-submission.xml"))
    ours = screening.submit(
        screening_xml(new_instance_id(), "Hà Thị Xuân", (("Hà Văn Tý", 9, "yes"),
                                                         ("Hà Thị Sửu", 4, "no"))),
        submitter_id=collector)
    return collect, web, ours


def test_zip_holds_main_and_repeat_tables_newest_first(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    collect, web, ours = fill(screening)

    response = client.get(f"{screening.base}/submissions.csv.zip", headers=admin_headers)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="child_screening.zip"')
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.namelist() == ["child_screening.csv", "child_screening-child.csv",
                                  "media/house.png"]
    main = read_csv(archive.read("child_screening.csv"))
    assert [r["KEY"] for r in main] == [ours, web, collect]
    assert main[0]["SubmitterName"] == "Cộng tác viên Thu"
    assert main[2]["DeviceID"] == "collect:ABCDEF0123456789"
    assert main[2]["AttachmentsPresent"] == "1" and main[1]["AttachmentsPresent"] == "0"
    assert main[1]["house_photo"] == "1795913459271.png"
    children = read_csv(archive.read("child_screening-child.csv"))
    assert list(children[0]) == CHILD_HEADER
    assert {c["PARENT_KEY"] for c in children} == {ours, web, collect}
    assert [c["KEY"] for c in children if c["PARENT_KEY"] == ours] == [
        f"{ours}/child[1]", f"{ours}/child[2]"]
    assert [c["child_name"] for c in children if c["PARENT_KEY"] == collect] == [
        "Nguyễn Thị Bình", "Nguyễn Văn Cường"]
    assert archive.read("media/house.png") == PNG_BYTES


def test_attachments_false_leaves_media_out(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    fill(screening)

    response = client.get(f"{screening.base}/submissions.csv.zip?attachments=false",
                          headers=admin_headers)

    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert names == ["child_screening.csv", "child_screening-child.csv"]


def test_plain_csv_is_the_main_table(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    collect, web, ours = fill(screening)

    response = client.get(f"{screening.base}/submissions.csv", headers=admin_headers)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = read_csv(response.data)
    assert [r["meta-instanceID"] for r in rows] == [ours, web, collect]
    assert rows[2]["household_head"] == "Nguyễn Văn An"
    assert rows[2]["location-Altitude"] == "12.0"


def test_edits_review_and_deletion_show_in_the_export(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    kept = screening.submit(screening_xml(new_instance_id(), "Giàng A Páo"))
    edit = new_instance_id()
    screening.submit(screening_xml(edit, "Giàng A Pao", deprecated_id=kept))
    dropped = screening.submit(screening_xml(new_instance_id(), "Sùng Thị Mỷ"))
    client.delete(f"{screening.base}/submissions/{dropped}", headers=admin_headers)

    rows = read_csv(client.get(f"{screening.base}/submissions.csv", headers=admin_headers).data)

    assert len(rows) == 1
    assert rows[0]["KEY"] == kept
    assert rows[0]["meta-instanceID"] == edit
    assert rows[0]["household_head"] == "Giàng A Pao"
    assert (rows[0]["Edits"], rows[0]["ReviewState"]) == ("1", "edited")


def test_each_export_is_audited_with_who_what_and_how_many_rows(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    screening.submit(screening_xml(new_instance_id(), "Lò Văn Sinh"))
    client.get(f"{screening.base}/submissions.csv", headers=admin_headers)
    client.get(f"{screening.base}/submissions.csv.zip?attachments=false", headers=admin_headers)

    with screening.world.uow() as db:
        audits = db.scalars(select(Audit).where(Audit.action == "form.submission.export")
                            .order_by(Audit.id)).all()
        assert [a.actor_id for a in audits] == [screening.world.admin_id] * 2
        assert audits[0].details == {"xmlFormId": "child_screening", "output": "csv",
                                     "rows": 1, "filters": {}, "villages": None,
                                     "redacted": False}
        assert audits[1].details is not None
        assert audits[1].details["filters"] == {"attachments": "false"}


def test_export_of_a_form_without_submissions_is_headers_only(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    response = client.get(f"{screening.base}/submissions.csv", headers=admin_headers)

    assert response.data.decode().startswith("SubmissionDate,start,end,household_head,")
    assert response.data.count(b"\n") == 1


def test_many_submissions_stream_across_pages(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source, "PAGE_SIZE", 100)  # three pages
    made = [screening.submit(screening_xml(new_instance_id(), f"Hộ số {n}",
                                           (("Trẻ", n % 15, "no"),)))
            for n in range(230)]

    response = client.get(f"{screening.base}/submissions.csv.zip", headers=admin_headers)

    archive = zipfile.ZipFile(io.BytesIO(response.data))
    main = read_csv(archive.read("child_screening.csv"))
    assert [r["KEY"] for r in main] == made[::-1]
    assert len(read_csv(archive.read("child_screening-child.csv"))) == 230
