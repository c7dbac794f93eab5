"""Real client code against the server: JavaRosa (ODK Validate) parses every form we serve,
and a session over real HTTP speaks exactly as ODK Collect does, split uploads included."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from server.services import Services
from tests.conftest import (
    PNG_BYTES,
    XLSX_TYPE,
    Screening,
    fixture_bytes,
    new_instance_id,
)
from tests.openrosa.checks import attachments
from tests.openrosa.conftest import (
    TWO_PHOTOS_XFORM,
    VISIT_XFORM,
    app_with,
    assign,
    new_app_user,
    publish_xform,
    serving,
    two_photos_xml,
)
from tests.openrosa.wire import (
    DEVICE_ID,
    collect_headers,
    md5_hash,
    multipart,
    parse_form_list,
    parse_manifest,
    response_message,
    submission_parts,
)


def publish_every_form(screening: Screening) -> str:
    """Every kind of form we have, assigned to one app user; its token."""
    from server.operations.forms import create_form

    world = screening.world
    form_ids = [screening.form_id, publish_xform(world, VISIT_XFORM, {"logo.png": PNG_BYTES}),
                publish_xform(world, TWO_PHOTOS_XFORM)]
    with world.uow() as db:
        followup = create_form(db, world.services.store, world.project_id,
                               fixture_bytes("child_followup.xlsx"), XLSX_TYPE, publish=True,
                               ignore_warnings=True)
        form_ids.append(followup.id)
    actor_id, token = new_app_user(world, world.project_id)
    for form_id in form_ids:
        assign(world, form_id, actor_id)
    return token


def collect_get(session: requests.Session, url: str) -> requests.Response:
    """Collect's GET: `deviceID` appended to whatever query the URL has (C-fetch)."""
    separator = "&" if "?" in url else "?"
    return session.get(f"{url}{separator}deviceID=collect%3AXy7Qk2Lm9Pz4Rt6W",
                       headers=collect_headers(), timeout=10)


def fetch_forms(session: requests.Session, server_url: str) -> dict[str, bytes]:
    """What Collect does on "Get blank form": the list, each form, each manifest and file,
    checked the way its parser and its hash comparisons do."""
    listing = collect_get(session, f"{server_url.rstrip('/')}/formList")
    assert listing.status_code == 200
    assert listing.headers["X-OpenRosa-Version"]
    assert "text/xml" in listing.headers["Content-Type"].lower()
    forms: dict[str, bytes] = {}
    for form in parse_form_list(listing.content):
        download = collect_get(session, form["downloadUrl"] or "")
        assert download.status_code == 200
        assert form["hash"] == md5_hash(download.content), form["formID"]
        forms[form["formID"] or ""] = download.content
        if form["manifestUrl"]:
            manifest = collect_get(session, form["manifestUrl"])
            assert manifest.status_code == 200
            assert "text/xml" in manifest.headers["Content-Type"].lower()
            assert manifest.headers["X-OpenRosa-Version"]
            for media in parse_manifest(manifest.content):
                # children.csv is the registry's entity list; its hash is the md5 of the CSV.
                assert media["type"] in (None, "entityList")
                file = collect_get(session, media["downloadUrl"] or "")
                assert file.status_code == 200
                assert media["hash"] == md5_hash(file.content)
    return forms


@pytest.mark.slow
def test_odk_validate_parses_every_form_the_server_serves(
        services: Services, screening: Screening, tmp_path: Path) -> None:
    from pyxform.validators.odk_validate import check_xform

    token = publish_every_form(screening)
    with serving(app_with(services)) as url:
        with requests.Session() as session:
            forms = fetch_forms(session, f"{url}/v1/key/{token}/projects/{screening.project_id}")
    assert set(forms) == {"child_screening", "household_visit", "two_photos", "child_followup"}
    paths = []
    for form_id, data in forms.items():
        path = tmp_path / f"{form_id}.xml"
        path.write_bytes(data)
        paths.append(str(path))
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(check_xform, paths))  # raises ODKValidateError on any invalid form


def collect_upload(session: requests.Session, submission_url: str, xml: str,
                   files: dict[str, bytes]) -> list[requests.Response]:
    """C-up: HEAD first (204, the size limit), then POSTs split at that limit, each repeating
    the XML, all but the last marked `*isIncomplete*`; stop at the first non-201."""
    url = f"{submission_url}?deviceID=collect%3AXy7Qk2Lm9Pz4Rt6W"
    head = session.head(url, headers=collect_headers(), timeout=10)
    assert head.status_code == 204
    limit = int(head.headers.get("X-OpenRosa-Accept-Content-Length") or 10_000_000)
    batches: list[dict[str, bytes]] = [{}]
    size = len(xml.encode())
    for name, data in files.items():
        if batches[-1] and (size + len(data) > limit or len(batches[-1]) >= 100):
            batches.append({})
            size = len(xml.encode())
        batches[-1][name] = data
        size += len(data)
    responses = []
    for number, batch in enumerate(batches):
        body, content_type = multipart(submission_parts(xml, batch,
                                                        incomplete=number < len(batches) - 1))
        response = session.post(url, data=body, allow_redirects=False, timeout=10,
                                headers={**collect_headers(), "Content-Type": content_type})
        responses.append(response)
        if response.status_code != 201:
            break
    return responses


def test_a_collect_session_over_real_http(services: Services, screening: Screening) -> None:
    from server.models import SubmissionDef

    token = publish_every_form(screening)
    app = app_with(services, max_submission_bytes=8192)
    with serving(app) as url, requests.Session() as session:
        server_url = f"{url}/v1/key/{token}/projects/{screening.project_id}/"
        assert "two_photos" in fetch_forms(session, server_url)
        instance_id = new_instance_id()
        photos = {"front.jpg": b"\x01" * 5000, "back.jpg": b"\x02" * 5000}
        posts = collect_upload(session, f"{server_url.rstrip('/')}/submission",
                               two_photos_xml(instance_id, "Giàng Thị Dợ"), photos)
        fixture = collect_upload(session, f"{server_url.rstrip('/')}/submission",
                                 fixture_bytes("javarosa-submission.xml").decode(),
                                 {"house.png": PNG_BYTES})
    assert [response.status_code for response in posts + fixture] == [201, 201, 201]
    for response in posts + fixture:
        assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
        nature, text = response_message(response.content)
        assert nature == "" and "successful" in text
    assert attachments(services, instance_id) == photos
    with services.database.unit_of_work() as db:
        version = db.scalar(select(SubmissionDef).where(SubmissionDef.instance_id == instance_id))
        assert version is not None and version.device_id == DEVICE_ID
        assert (version.user_agent or "").startswith("org.odk.collect.android/v2026.2.0")
