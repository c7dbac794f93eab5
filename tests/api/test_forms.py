"""Uploading and managing forms through Central's management API."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from server.models import Audit
from tests.api.conftest import (
    XLSX_TYPE,
    Person,
    create_app_user,
    household_instance,
    submit,
    upload,
    xform,
    xlsform,
)
from tests.conftest import World, fixture_bytes, new_instance_id


def test_an_xform_upload_becomes_a_draft_with_centrals_fields(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    body = xform("household", "2026112801")
    form = upload(client, admin_headers, world.project_id, body, publish=False)
    assert form["xmlFormId"] == "household"
    assert form["projectId"] == world.project_id
    assert form["version"] == "2026112801"
    assert form["name"] == "Hộ gia đình"
    assert form["hash"] == hashlib.md5(body, usedforsecurity=False).hexdigest()
    assert form["sha256"] == hashlib.sha256(body).hexdigest()
    assert form["sha"] == hashlib.sha1(body, usedforsecurity=False).hexdigest()
    assert form["state"] == "open"
    assert form["draftToken"] and form["publishedAt"] is None
    assert form["enketoId"] is None and form["keyId"] is None
    with world.uow() as session:
        assert "form.create" in session.scalars(select(Audit.action)).all()


def test_publish_true_publishes_in_one_step(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    form = upload(client, admin_headers, world.project_id, xform(), publish=True)
    assert form["publishedAt"] is not None
    assert form["draftToken"] is None


def test_the_same_form_id_twice_is_409_3(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    upload(client, admin_headers, world.project_id, xform())
    again = client.post(f"/v1/projects/{world.project_id}/forms", data=xform(version="2"),
                        headers={**admin_headers, "Content-Type": "application/xml"})
    assert again.status_code == 409
    assert again.json["code"] == 409.3


def test_xlsform_warnings_need_ignore_warnings(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    source = fixture_bytes("child_screening.xlsx")
    url = f"/v1/projects/{world.project_id}/forms"
    headers = {**admin_headers, "Content-Type": XLSX_TYPE}
    warned = client.post(url, data=source, headers=headers)
    assert warned.status_code == 400
    assert warned.json["code"] == 400.16
    assert "max-pixels" in warned.json["details"]["warnings"]["xlsFormWarnings"][0]
    accepted = client.post(f"{url}?ignoreWarnings=true&publish=true", data=source,
                           headers=headers)
    assert accepted.status_code == 200
    assert accepted.json["xmlFormId"] == "child_screening"
    kept = client.get(f"{url}/child_screening.xlsx", headers=admin_headers)
    assert kept.status_code == 200
    assert kept.data == source
    assert kept.mimetype == XLSX_TYPE


def test_a_broken_xlsform_reaches_the_client_as_400_15_with_its_row(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    broken = xlsform([["text", "name", "Tên"], ["begin group", "family", "Gia đình"]],
                     {"form_id": "broken", "version": "1"})
    response = client.post(f"/v1/projects/{world.project_id}/forms", data=broken,
                           headers={**admin_headers, "Content-Type": XLSX_TYPE})
    assert response.status_code == 400
    assert response.json["code"] == 400.15
    assert "[row : 3]" in response.json["message"]
    assert "begin_group" in response.json["details"]["error"]


def test_a_form_id_that_would_shadow_a_download_url_is_refused(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    response = client.post(f"/v1/projects/{world.project_id}/forms",
                           data=xform("household.xml"),
                           headers={**admin_headers, "Content-Type": "application/xml"})
    assert response.json["code"] == 400.8
    assert client.get(f"/v1/projects/{world.project_id}/forms",
                      headers=admin_headers).json == []


def test_viewers_see_published_forms_only_and_cannot_create(
    client: FlaskClient, admin_headers: dict[str, str], world: World,
    person: Callable[..., Person],
) -> None:
    upload(client, admin_headers, world.project_id, xform("published"))
    upload(client, admin_headers, world.project_id, xform("draft_only"), publish=False)
    viewer = person("xem@diemtua.test", "viewer")
    manager = person("quanly@diemtua.test", "manager")
    url = f"/v1/projects/{world.project_id}/forms"
    assert [f["xmlFormId"] for f in client.get(url, headers=viewer.headers).json] == [
        "published"]
    assert [f["xmlFormId"] for f in client.get(url, headers=manager.headers).json] == [
        "draft_only", "published"]
    refused = client.post(url, data=xform("mine"),
                          headers={**viewer.headers, "Content-Type": "application/xml"})
    assert refused.status_code == 403
    assert refused.json["code"] == 403.1
    assert client.get(f"{url}/draft_only", headers=viewer.headers).status_code == 403
    created = client.post(url, data=xform("mine"),
                          headers={**manager.headers, "Content-Type": "application/xml"})
    assert created.status_code == 200


def test_a_manager_of_one_commune_cannot_see_anothers_forms(
    client: FlaskClient, admin_headers: dict[str, str], world: World, other_project: int,
    person: Callable[..., Person],
) -> None:
    upload(client, admin_headers, other_project, xform("secret"))
    manager = person("quanly@diemtua.test", "manager")
    for url in (f"/v1/projects/{other_project}/forms",
                f"/v1/projects/{other_project}/forms/secret",
                f"/v1/projects/{other_project}/forms/secret/versions"):
        response = client.get(url, headers=manager.headers)
        assert response.status_code == 403, url


def test_extended_metadata_counts_submissions(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    upload(client, admin_headers, world.project_id, xform())
    submit(world, world.project_id, "household",
           household_instance(new_instance_id(), "Nguyễn Văn An"))
    submit(world, world.project_id, "household",
           household_instance(new_instance_id(), "Trần Thị Bình"))
    url = f"/v1/projects/{world.project_id}/forms"
    listed = client.get(url, headers={**admin_headers, "X-Extended-Metadata": "true"}).json
    assert listed[0]["submissions"] == 2
    assert listed[0]["reviewStates"] == {"received": 2, "hasIssues": 0, "edited": 0}
    assert listed[0]["lastSubmission"].endswith("Z")
    assert listed[0]["excelContentType"] is None
    assert listed[0]["entityRelated"] is False
    assert "submissions" not in client.get(url, headers=admin_headers).json[0]


def test_extended_metadata_knows_xlsforms_and_entity_lists(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    client.post(f"/v1/projects/{world.project_id}/forms?ignoreWarnings=true",
                data=fixture_bytes("child_screening.xlsx"),
                headers={**admin_headers, "Content-Type": XLSX_TYPE})
    form = client.get(f"/v1/projects/{world.project_id}/forms/child_screening",
                      headers={**admin_headers, "X-Extended-Metadata": "true"}).json
    assert form["excelContentType"] == XLSX_TYPE
    assert form["entityRelated"] is True


def test_extended_metadata_names_who_created_the_form(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    upload(client, admin_headers, world.project_id, xform())
    form = client.get(f"/v1/projects/{world.project_id}/forms/household",
                      headers={**admin_headers, "X-Extended-Metadata": "true"}).json
    assert form["createdBy"]["id"] == world.admin_id
    assert form["submissions"] == 0


def test_form_state_changes_and_is_audited(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    upload(client, admin_headers, world.project_id, xform())
    url = f"/v1/projects/{world.project_id}/forms/household"
    closing = client.patch(url, headers=admin_headers, json={"state": "closing"})
    assert closing.json["state"] == "closing"
    assert client.get(url, headers=admin_headers).json["state"] == "closing"
    wrong = client.patch(url, headers=admin_headers, json={"state": "paused"})
    assert wrong.status_code == 400
    assert wrong.json["code"] == 400.8
    with world.uow() as session:
        details = session.scalars(select(Audit.details).where(
            Audit.action == "form.update")).all()
    assert details == [{"data": {"state": "closing"}}]


def test_deleting_a_form_hides_it(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    upload(client, admin_headers, world.project_id, xform())
    url = f"/v1/projects/{world.project_id}/forms/household"
    assert client.delete(url, headers=admin_headers).json == {"success": True}
    assert client.get(url, headers=admin_headers).json["code"] == 404.1
    assert client.get(f"/v1/projects/{world.project_id}/forms",
                      headers=admin_headers).json == []


def test_versions_list_and_serve_each_versions_exact_xml(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    first, second = xform(version="1"), xform(version="2", title="Hộ gia đình (sửa)")
    upload(client, admin_headers, world.project_id, first)
    url = f"/v1/projects/{world.project_id}/forms/household"
    client.post(f"{url}/draft", data=second,
                headers={**admin_headers, "Content-Type": "application/xml"})
    client.post(f"{url}/draft/publish", headers=admin_headers)
    versions = client.get(f"{url}/versions", headers=admin_headers).json
    assert [v["version"] for v in versions] == ["2", "1"]
    old = client.get(f"{url}/versions/1.xml", headers=admin_headers)
    assert old.data == first
    assert old.mimetype == "application/xml"
    assert client.get(f"{url}/versions/1", headers=admin_headers).json["name"] == "Hộ gia đình"
    assert client.get(f"{url}/versions/9.xml", headers=admin_headers).status_code == 404


def test_an_app_user_token_cannot_reach_management_endpoints(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    upload(client, admin_headers, world.project_id, xform())
    token = create_app_user(client, admin_headers, world.project_id,
                            {"displayName": "Máy 1"})["token"]
    base = f"/v1/key/{token}/projects/{world.project_id}"
    for method, url in (("get", f"{base}/forms/household"),
                        ("get", f"/v1/key/{token}/projects"),
                        ("get", f"{base}/app-users"),
                        ("post", f"{base}/app-users")):
        response = getattr(client, method)(url, json={"displayName": "x"})
        assert response.status_code == 403, url
    bearer = client.get("/v1/projects", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 401


def test_data_collectors_see_only_forms_they_can_fill(
    client: FlaskClient, admin_headers: dict[str, str], world: World,
    person: Callable[..., Person],
) -> None:
    upload(client, admin_headers, world.project_id, xform("open_form"))
    upload(client, admin_headers, world.project_id, xform("closed_form"))
    client.patch(f"/v1/projects/{world.project_id}/forms/closed_form", headers=admin_headers,
                 json={"state": "closed"})
    collector = person("ctv@diemtua.test", "formfill")
    url = f"/v1/projects/{world.project_id}/forms"
    assert [f["xmlFormId"] for f in client.get(url, headers=collector.headers).json] == [
        "open_form"]
    assert client.get(f"{url}/open_form", headers=collector.headers).status_code == 200
    assert client.get(f"{url}/closed_form", headers=collector.headers).status_code == 403
    assert client.get(f"{url}/open_form/draft", headers=collector.headers).status_code == 403
