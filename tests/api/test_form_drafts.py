"""Drafts: replacing a form's definition, its media files, publishing."""

from __future__ import annotations

import hashlib

from flask.testing import FlaskClient
from sqlalchemy import select

from server.models import Audit
from tests.api.conftest import XLSX_TYPE, XML, upload, xform
from tests.conftest import World, fixture_bytes

LOGO = b"\x89PNG\r\n\x1a\n logo of the commune"


def _form_url(world: World, xml_form_id: str = "household") -> str:
    return f"/v1/projects/{world.project_id}/forms/{xml_form_id}"


def test_a_new_draft_leaves_the_published_version_alone_until_published(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    upload(client, admin_headers, world.project_id, xform(version="1"))
    url = _form_url(world)
    new = xform(version="2")
    assert client.post(f"{url}/draft", data=new, headers={**admin_headers, **XML}).json == {
        "success": True}
    draft = client.get(f"{url}/draft", headers=admin_headers).json
    assert draft["version"] == "2" and draft["draftToken"] and draft["publishedAt"] is None
    assert client.get(url, headers=admin_headers).json["version"] == "1"
    assert client.get(f"{url}/draft.xml", headers=admin_headers).data == new
    assert client.post(f"{url}/draft/publish", headers=admin_headers).json == {"success": True}
    assert client.get(url, headers=admin_headers).json["version"] == "2"
    assert client.get(f"{url}/draft", headers=admin_headers).status_code == 404
    with world.uow() as session:
        actions = session.scalars(select(Audit.action)).all()
    assert {"form.update.draft.set", "form.update.publish"} <= set(actions)


def test_publishing_an_already_used_version_is_409_6_unless_version_is_given(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    upload(client, admin_headers, world.project_id, xform(version="1"))
    url = _form_url(world)
    client.post(f"{url}/draft", headers=admin_headers)
    refused = client.post(f"{url}/draft/publish", headers=admin_headers)
    assert refused.status_code == 409
    assert refused.json["code"] == 409.6
    assert client.post(f"{url}/draft/publish?version=1.1", headers=admin_headers).json == {
        "success": True}
    published = client.get(f"{url}/versions/1.1.xml", headers=admin_headers).data
    assert b'version="1.1"' in published
    current = client.get(url, headers=admin_headers).json
    assert current["hash"] == hashlib.md5(published, usedforsecurity=False).hexdigest()


def test_a_bodiless_draft_copies_the_published_xlsform(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    source = fixture_bytes("child_followup.xlsx")
    client.post(f"/v1/projects/{world.project_id}/forms?publish=true", data=source,
                headers={**admin_headers, "Content-Type": XLSX_TYPE})
    url = _form_url(world, "child_followup")
    assert client.post(f"{url}/draft", headers=admin_headers).status_code == 200
    assert client.get(f"{url}/draft.xlsx", headers=admin_headers).data == source


def test_a_draft_for_another_form_id_is_refused(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    upload(client, admin_headers, world.project_id, xform())
    response = client.post(f"{_form_url(world)}/draft", data=xform("other", version="2"),
                           headers={**admin_headers, **XML})
    assert response.json["code"] == 400.8


def test_discarding_a_draft_needs_a_published_version(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    upload(client, admin_headers, world.project_id, xform(), publish=False)
    url = _form_url(world)
    never_published = client.delete(f"{url}/draft", headers=admin_headers)
    assert never_published.status_code == 409
    assert never_published.json["code"] == 409.7
    client.post(f"{url}/draft/publish", headers=admin_headers)
    client.post(f"{url}/draft", data=xform(version="2"), headers={**admin_headers, **XML})
    assert client.delete(f"{url}/draft", headers=admin_headers).json == {"success": True}
    assert client.get(f"{url}/draft", headers=admin_headers).status_code == 404
    assert client.delete(f"{url}/draft", headers=admin_headers).status_code == 404


def test_media_files_are_uploaded_to_the_draft_and_published_with_it(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    upload(client, admin_headers, world.project_id, xform(media=("logo.png",)), publish=False)
    url = _form_url(world)
    expected = client.get(f"{url}/draft/attachments", headers=admin_headers).json
    assert expected == [{"name": "logo.png", "type": "image", "hash": None, "exists": False,
                         "blobExists": False, "datasetExists": False, "updatedAt": None}]
    uploaded = client.post(f"{url}/draft/attachments/logo.png", data=LOGO,
                           headers={**admin_headers, "Content-Type": "image/png"})
    assert uploaded.status_code == 200
    assert uploaded.json["hash"] == hashlib.md5(LOGO, usedforsecurity=False).hexdigest()
    assert uploaded.json["exists"] is True and uploaded.json["blobExists"] is True
    assert uploaded.json["updatedAt"].endswith("Z")
    unknown = client.post(f"{url}/draft/attachments/other.png", data=LOGO,
                          headers=admin_headers)
    assert unknown.status_code == 404
    client.post(f"{url}/draft/publish", headers=admin_headers)
    published = client.get(f"{url}/attachments", headers=admin_headers).json
    assert published[0]["exists"] is True


def test_an_uploaded_media_file_can_be_removed_from_the_draft(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    upload(client, admin_headers, world.project_id, xform(media=("logo.png",)), publish=False)
    url = _form_url(world)
    client.post(f"{url}/draft/attachments/logo.png", data=LOGO, headers=admin_headers)
    assert client.delete(f"{url}/draft/attachments/logo.png",
                         headers=admin_headers).json == {"success": True}
    listed = client.get(f"{url}/draft/attachments", headers=admin_headers).json
    assert listed[0]["exists"] is False
    assert client.delete(f"{url}/draft/attachments/logo.png",
                         headers=admin_headers).status_code == 404
