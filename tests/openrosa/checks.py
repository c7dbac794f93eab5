"""Assertions shared by the OpenRosa tests: what an answer must look like, what was stored."""

from __future__ import annotations

from sqlalchemy import select
from werkzeug.test import TestResponse

from server.models import Blob, Submission, SubmissionAttachment, SubmissionDef
from server.openrosa.messages import VIETNAMESE
from server.services import Services
from tests.openrosa.wire import response_message

OPENROSA_HEADERS = ("X-OpenRosa-Version", "X-OpenRosa-Accept-Content-Length",
                    "Content-Language", "Date")


def assert_openrosa_xml(response: TestResponse) -> None:
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    for name in OPENROSA_HEADERS:
        assert response.headers.get(name), name
    assert response.headers["X-OpenRosa-Version"] == "1.0"


def assert_created(response: TestResponse) -> None:
    assert response.status_code == 201, response.data
    assert_openrosa_xml(response)
    nature, text = response_message(response.data)
    assert nature == ""
    assert "full submission upload was successful!" in text


def assert_refused(response: TestResponse, status: int, code: str) -> str:
    """An OpenRosa error; `code` is checked through the Vietnamese text it puts first."""
    assert response.status_code == status, response.data
    assert_openrosa_xml(response)
    nature, text = response_message(response.data)
    assert nature == "error"
    if code in VIETNAMESE:
        assert text.startswith(VIETNAMESE[code]), (code, text)
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    return text


def versions(services: Services, instance_id: str) -> list[SubmissionDef]:
    with services.database.unit_of_work() as db:
        submission = db.scalar(select(Submission).where(Submission.instance_id == instance_id))
        assert submission is not None
        return list(submission.versions)


def attachments(services: Services, instance_id: str) -> dict[str, bytes | None]:
    """The files of the current version, by name: their bytes, or None while missing."""
    with services.database.unit_of_work() as db:
        version = db.scalar(select(SubmissionDef).where(SubmissionDef.instance_id == instance_id))
        assert version is not None
        found: dict[str, bytes | None] = {}
        for attachment in db.scalars(select(SubmissionAttachment).where(
                SubmissionAttachment.submission_def_id == version.id)):
            blob = db.get(Blob, attachment.blob_id) if attachment.blob_id else None
            found[attachment.name] = services.store.read(blob.sha256) if blob else None
        return found
