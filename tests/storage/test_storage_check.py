"""A stored file lost or damaged (README "Backups and restore"): `diemtua storage check` names
the submissions it belongs to, `--repair` marks it as not received so a phone can send it
again, and meanwhile its download is a JSON 404 and the attachment list says `exists: false`
— never gunicorn's HTML 500 after a 200 began."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask.testing import FlaskClient
from sqlalchemy import select

from server.cli import main
from server.models import Audit
from server.services import Services
from tests.conftest import ADMIN_PASSWORD, PNG_BYTES, Screening, new_instance_id, screening_xml


@dataclass
class Photo:
    instance_id: str
    name: str
    data: bytes
    xml: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def blob_file(services: Services, sha256: str) -> Path:
    """Where the local store keeps a blob (server/storage/local.py)."""
    return services.settings.data_dir / "blobs" / sha256[:2] / sha256[2:4] / sha256


@pytest.fixture
def photos(screening: Screening) -> list[Photo]:
    made = []
    for n in range(3):
        instance_id, name = new_instance_id(), f"nha-{n}.png"
        xml = screening_xml(instance_id, f"Nguyễn Văn Hộ {n}", photo=name)
        screening.submit(xml, {name: PNG_BYTES + bytes([n])})
        made.append(Photo(instance_id, name, PNG_BYTES + bytes([n]), xml))
    return made


def storage_check(services: Services, *args: str) -> Result:
    settings = services.settings
    return CliRunner().invoke(main, ["storage", "check", *args], env={
        "DIEMTUA_DATABASE_URL": settings.database_url,
        "DIEMTUA_DATA_DIR": str(settings.data_dir), "DIEMTUA_SECRET_KEY": "test-secret"})


def attachments_of(client: FlaskClient, screening: Screening, headers: dict[str, str],
                   photo: Photo) -> Any:
    response = client.get(f"{screening.base}/submissions/{photo.instance_id}/attachments",
                          headers=headers)
    assert response.status_code == 200
    return response.json


def test_a_lost_file_is_a_json_404_and_not_listed_as_existing(
        client: FlaskClient, screening: Screening, photos: list[Photo],
        admin_headers: dict[str, str]) -> None:
    lost = photos[0]
    blob_file(screening.world.services, lost.sha256).unlink()

    download = client.get(f"{screening.base}/submissions/{lost.instance_id}/attachments/"
                          f"{lost.name}", headers=admin_headers)

    assert download.status_code == 404 and download.is_json
    assert download.json is not None and download.json["code"] == 404.1
    assert lost.name in download.json["message"]
    assert attachments_of(client, screening, admin_headers, lost) == [
        {"name": lost.name, "exists": False}]
    assert attachments_of(client, screening, admin_headers, photos[1]) == [
        {"name": photos[1].name, "exists": True}]


def test_the_submission_page_answers_404_for_a_lost_file(
        client: FlaskClient, screening: Screening, photos: list[Photo]) -> None:
    from tests.web.conftest import web_login

    blob_file(screening.world.services, photos[0].sha256).unlink()
    web_login(client, screening.world.admin_email, ADMIN_PASSWORD)
    page = (f"/ui/p/{screening.project_id}/submissions/{screening.xml_form_id}/"
            f"{photos[0].instance_id}")

    assert client.get(f"{page}/files/{photos[0].name}").status_code == 404
    assert client.get(page.replace(photos[0].instance_id, photos[1].instance_id)
                      + f"/files/{photos[1].name}").data == photos[1].data


def test_storage_check_names_the_submissions_of_a_missing_and_a_corrupt_file(
        screening: Screening, photos: list[Photo]) -> None:
    services = screening.world.services
    missing, corrupt = photos[0], photos[1]
    blob_file(services, missing.sha256).unlink()
    blob_file(services, corrupt.sha256).write_bytes(b"\0" * len(corrupt.data))

    result = storage_check(services)

    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert (f"missing {missing.sha256}: project {screening.project_id}, form child_screening, "
            f"submission {missing.instance_id}, attachment {missing.name}") in lines
    assert (f"corrupt {corrupt.sha256}: project {screening.project_id}, form child_screening, "
            f"submission {corrupt.instance_id}, attachment {corrupt.name}") in lines
    assert photos[2].sha256 not in result.output
    assert "Nguyễn" not in result.output  # never a household's or a child's name


def test_repair_marks_damaged_files_not_received_and_a_resend_restores_them(
        client: FlaskClient, screening: Screening, photos: list[Photo],
        admin_headers: dict[str, str]) -> None:
    services = screening.world.services
    missing, corrupt = photos[0], photos[1]
    blob_file(services, missing.sha256).unlink()
    blob_file(services, corrupt.sha256).write_bytes(b"\0" * len(corrupt.data))

    repaired = storage_check(services, "--repair")

    assert repaired.exit_code == 0, repaired.output
    assert "marked as not received" in repaired.output
    for photo in (missing, corrupt):
        assert attachments_of(client, screening, admin_headers, photo) == [
            {"name": photo.name, "exists": False}]
    quarantined = services.settings.data_dir / "corrupt-blobs" / corrupt.sha256
    assert quarantined.read_bytes() == b"\0" * len(corrupt.data)
    assert not blob_file(services, corrupt.sha256).exists()
    with services.database.sessions() as db:
        audit = db.scalars(select(Audit).where(Audit.action == "storage.repair")).one()
    assert audit.details is not None
    assert {b["problem"] for b in audit.details["blobs"]} == {"missing", "corrupt"}
    assert storage_check(services).exit_code == 0

    # The phone sends the submission again, as Collect does when asked to: the file is back.
    screening.submit(corrupt.xml, {corrupt.name: corrupt.data})
    assert attachments_of(client, screening, admin_headers, corrupt) == [
        {"name": corrupt.name, "exists": True}]
    download = client.get(f"{screening.base}/submissions/{corrupt.instance_id}/attachments/"
                          f"{corrupt.name}", headers=admin_headers)
    assert download.data == corrupt.data


def test_storage_check_of_a_whole_store_says_so(screening: Screening,
                                                photos: list[Photo]) -> None:
    result = storage_check(screening.world.services)

    assert result.exit_code == 0
    assert "are present and whole" in result.output
