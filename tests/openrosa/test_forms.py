"""What a phone downloads: the XForm, the manifest, media files (docs/openrosa.md §3–§5)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from server import create_app
from server.models import Form
from server.services import Services
from server.storage import BlobStore
from tests.conftest import PNG_BYTES, Screening
from tests.openrosa.checks import assert_openrosa_xml
from tests.openrosa.conftest import (
    Phone,
    assign,
    basic,
    publish_xform,
    set_form_state,
    web_user,
)
from tests.openrosa.wire import MANIFEST_NS, md5_hash, parse_form_list, parse_manifest


@pytest.fixture
def visit_phone(phone: Phone, screening: Screening, visit_form: int) -> Phone:
    assign(screening.world, visit_form, phone.actor_id or 0)
    return phone


def stored_xml(screening: Screening, form_id: int) -> bytes:
    with screening.world.uow() as db:
        form = db.get(Form, form_id)
        assert form is not None and form.current_def is not None
        return form.current_def.xml.encode("utf-8")


def test_form_xml_is_the_stored_bytes_whose_md5_is_listed(phone: Phone, screening: Screening
                                                          ) -> None:
    response = phone.get("/forms/child_screening.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert response.data == stored_xml(screening, screening.form_id)
    [listed] = parse_form_list(phone.get("/formList").data)
    assert listed["hash"] == md5_hash(response.data)


def test_closed_form_stays_downloadable_for_readers_not_for_app_users(
        client: FlaskClient, phone: Phone, screening: Screening) -> None:
    set_form_state(screening.world, screening.form_id, "closed")
    assert phone.get("/forms/child_screening.xml").status_code == 403
    web_user(screening.world, "xem@diemtua.test", "viewer")
    response = client.get(f"/v1/projects/{screening.project_id}/forms/child_screening.xml",
                          headers=basic("xem@diemtua.test"), base_url="https://localhost")
    assert response.status_code == 200
    assert response.data == stored_xml(screening, screening.form_id)


def test_unassigned_app_user_cannot_download(visit_phone: Phone, screening: Screening) -> None:
    from tests.openrosa.conftest import new_app_user

    _actor, token = new_app_user(screening.world, screening.project_id)
    stranger = Phone(visit_phone.client, screening.project_id, token)
    for path in ("/forms/household_visit.xml", "/forms/household_visit/manifest",
                 "/forms/household_visit/attachments/logo.png"):
        assert stranger.get(path).status_code == 403, path
        assert visit_phone.get(path).status_code == 200, path


def test_unknown_and_unpublished_forms_are_404(phone: Phone, screening: Screening) -> None:
    from server.operations.forms import create_form
    from tests.openrosa.test_formlist import VISIT_DRAFT

    with screening.world.uow() as db:
        create_form(db, screening.world.services.store, screening.project_id,
                    VISIT_DRAFT.encode(), "application/xml")
    for path in ("/forms/nothing.xml", "/forms/draft_only.xml", "/forms/draft_only/manifest"):
        response = phone.get(path)
        assert response.status_code == 404, path
        assert_openrosa_xml(response)


def test_manifest_lists_uploaded_media_with_real_md5_and_keyed_urls(visit_phone: Phone
                                                                    ) -> None:
    [listed] = [form for form in parse_form_list(visit_phone.get("/formList").data)
                if form["formID"] == "household_visit"]
    response = visit_phone.get(listed["manifestUrl"] or "")
    assert response.status_code == 200
    assert_openrosa_xml(response)
    assert f'<manifest xmlns="{MANIFEST_NS}">'.encode() in response.data
    # huong-dan.mp3 is expected but not uploaded: not listed (Central lists only `hasSource`).
    [media] = parse_manifest(response.data)
    assert media["filename"] == "logo.png"
    assert media["hash"] == md5_hash(PNG_BYTES)
    assert media["downloadUrl"] == (f"http://localhost/v1/key/{visit_phone.token}/projects/"
                                    f"{visit_phone.project_id}/forms/household_visit/"
                                    "attachments/logo.png")
    download = visit_phone.get(media["downloadUrl"] or "")
    assert download.status_code == 200
    assert download.data == PNG_BYTES
    assert media["hash"] == md5_hash(download.data)


def test_manifest_of_a_form_without_media_is_empty(phone: Phone) -> None:
    response = phone.get("/forms/child_screening/manifest")
    assert response.status_code == 200
    assert parse_manifest(response.data) == []


def test_media_file_has_type_disposition_etag_and_answers_304(visit_phone: Phone) -> None:
    response = visit_phone.get("/forms/household_visit/attachments/logo.png")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="logo.png"')
    etag = response.headers["ETag"]
    assert etag == f'"{md5_hash(PNG_BYTES)[4:]}"'
    cached = visit_phone.get("/forms/household_visit/attachments/logo.png",
                             headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.data == b""
    assert cached.headers["ETag"] == etag
    stale = visit_phone.get("/forms/household_visit/attachments/logo.png",
                            headers={"If-None-Match": '"0000"'})
    assert stale.status_code == 200


def test_media_expected_but_not_uploaded_is_404(visit_phone: Phone) -> None:
    for name in ("huong-dan.mp3", "other.png"):
        response = visit_phone.get(f"/forms/household_visit/attachments/{name}")
        assert response.status_code == 404


class PresigningStore:
    """The real store, but answering downloads with a presigned URL as S3 does."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def put(self, key: str, stream: BinaryIO, size: int, content_type: str) -> None:
        self.inner.put(key, stream, size, content_type)

    def download_url(self, key: str, filename: str, content_type: str) -> str | None:
        return f"https://s3.example.vn/diemtua/blobs/{key}?X-Amz-Signature=abc"


def test_media_on_s3_is_a_307_to_the_presigned_url(services: Services, visit_phone: Phone
                                                   ) -> None:
    store = PresigningStore(services.store)
    app = create_app({"services": dataclasses.replace(services, store=store),
                      "TESTING": True})
    phone = dataclasses.replace(visit_phone, client=app.test_client())
    response = phone.get("/forms/household_visit/attachments/logo.png")
    assert response.status_code == 307
    assert response.headers["Location"].startswith("https://s3.example.vn/diemtua/blobs/")


@pytest.fixture
def s3_phone(s3_services: Services, screening: Screening) -> Iterator[Phone]:
    """The same database, but blobs in a real (moto) S3 bucket."""
    from tests.openrosa.conftest import new_app_user

    world = dataclasses.replace(screening.world, services=s3_services)
    form_id = publish_xform(world, _s3_form(), {"logo.png": PNG_BYTES})
    actor_id, token = new_app_user(world, screening.project_id)
    assign(world, form_id, actor_id)
    app = create_app({"services": s3_services, "TESTING": True})
    yield Phone(app.test_client(), screening.project_id, token, actor_id)


def _s3_form() -> str:
    from tests.openrosa.conftest import VISIT_XFORM

    return VISIT_XFORM.replace('id="household_visit"', 'id="household_visit_s3"')


def test_media_on_real_s3_redirects_to_bytes_a_phone_can_fetch(s3_phone: Phone) -> None:
    response = s3_phone.get("/forms/household_visit_s3/attachments/logo.png")
    assert response.status_code == 307
    location = response.headers["Location"]
    assert urlsplit(location).query  # presigned: carries its own authorisation
    fetched = requests.get(location, timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == PNG_BYTES


def test_every_openrosa_answer_carries_the_openrosa_headers(visit_phone: Phone) -> None:
    """docs/openrosa.md §1: version, date, size limit and language on every answer of the OpenRosa
    surface, errors and non-XML downloads included."""
    from tests.conftest import new_instance_id, screening_xml

    answers = {
        "formList": visit_phone.get("/formList"),
        "form": visit_phone.get("/forms/household_visit.xml"),
        "manifest": visit_phone.get("/forms/household_visit/manifest"),
        "media": visit_phone.get("/forms/household_visit/attachments/logo.png"),
        "missing": visit_phone.get("/forms/nothing/manifest"),
        "head": visit_phone.head_submission(),
        "created": visit_phone.submit(screening_xml(new_instance_id(), "Kim Văn Tài")),
        "refused": visit_phone.submit(b"<broken"),
        "wrong method": visit_phone.client.put(f"{visit_phone.base}/submission"),
    }
    for what, response in answers.items():
        for name in ("X-OpenRosa-Version", "X-OpenRosa-Accept-Content-Length",
                     "Content-Language", "Date"):
            assert response.headers.get(name), (what, name)
    assert answers["wrong method"].status_code == 405
