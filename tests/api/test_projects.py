"""Projects (one per commune) and who holds which role on them."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from server.models import Audit
from tests.api.conftest import (
    Person,
    create_app_user,
    household_instance,
    submit,
    upload,
    xform,
)
from tests.conftest import World, new_instance_id


def test_admin_creates_a_commune_project_with_centrals_fields(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    response = client.post("/v1/projects", headers=admin_headers,
                           json={"name": "Xã Tân Lập", "communeCode": "00002",
                                 "description": "Huyện miền núi", "acteeId": "ignored"})
    assert response.status_code == 200
    project = response.json
    assert project["name"] == "Xã Tân Lập"
    assert project["communeCode"] == "00002"
    assert project["keyId"] is None and project["deletedAt"] is None
    assert project["archived"] is False
    assert project["createdAt"].endswith("Z")
    with world.uow() as session:
        assert "project.create" in session.scalars(select(Audit.action)).all()
    names = [p["name"] for p in client.get("/v1/projects", headers=admin_headers).json]
    assert names == ["Xã Hoà Bình", "Xã Tân Lập"]


def test_a_project_needs_a_name(client: FlaskClient, admin_headers: dict[str, str]) -> None:
    response = client.post("/v1/projects", headers=admin_headers, json={"description": "x"})
    assert response.status_code == 400
    assert response.json["code"] == 400.2


def test_only_site_admins_create_projects(
    client: FlaskClient, person: Callable[..., Person]
) -> None:
    manager = person("quanly@diemtua.test", "manager")
    response = client.post("/v1/projects", headers=manager.headers, json={"name": "Xã mới"})
    assert response.status_code == 403
    assert response.json["code"] == 403.1


def test_people_see_only_the_communes_they_hold_a_role_in(
    client: FlaskClient, world: World, other_project: int, person: Callable[..., Person]
) -> None:
    manager = person("quanly@diemtua.test", "manager")
    nobody = person("khach@diemtua.test")
    assert [p["id"] for p in client.get("/v1/projects", headers=manager.headers).json] == [
        world.project_id]
    assert client.get("/v1/projects", headers=nobody.headers).json == []
    other = client.get(f"/v1/projects/{other_project}", headers=manager.headers)
    assert other.status_code == 403
    assert client.get("/v1/projects/999", headers=manager.headers).status_code == 404


def test_extended_project_counts_forms_app_users_and_submissions(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    upload(client, admin_headers, world.project_id, xform())
    create_app_user(client, admin_headers, world.project_id, {"displayName": "Máy 1"})
    submit(world, world.project_id, "household",
           household_instance(new_instance_id(), "Lê Văn Cường"))
    headers = {**admin_headers, "X-Extended-Metadata": "true"}
    project = client.get(f"/v1/projects/{world.project_id}", headers=headers).json
    assert project["forms"] == 1
    assert project["appUsers"] == 1
    assert project["lastSubmission"].endswith("Z")
    assert "form.create" in project["verbs"]
    by_query = client.get(f"/v1/projects/{world.project_id}?extended=true",
                          headers=admin_headers).json
    assert by_query["forms"] == 1
    listed = client.get("/v1/projects", headers=headers).json
    assert listed[0]["appUsers"] == 1


def test_managers_update_their_project_and_viewers_cannot(
    client: FlaskClient, world: World, person: Callable[..., Person]
) -> None:
    manager = person("quanly@diemtua.test", "manager")
    viewer = person("xem@diemtua.test", "viewer")
    url = f"/v1/projects/{world.project_id}"
    updated = client.patch(url, headers=manager.headers,
                           json={"description": "Xã vùng cao", "archived": True})
    assert updated.json["description"] == "Xã vùng cao"
    assert updated.json["archived"] is True
    assert updated.json["name"] == "Xã Hoà Bình"
    assert client.patch(url, headers=viewer.headers, json={"name": "x"}).status_code == 403
    with world.uow() as session:
        details = session.scalars(select(Audit.details).where(
            Audit.action == "project.update")).all()
    assert details == [{"data": {"description": "Xã vùng cao", "archived": True}}]


def test_only_site_admins_delete_a_project(
    client: FlaskClient, admin_headers: dict[str, str], world: World,
    person: Callable[..., Person],
) -> None:
    manager = person("quanly@diemtua.test", "manager")
    url = f"/v1/projects/{world.project_id}"
    assert client.delete(url, headers=manager.headers).status_code == 403
    assert client.delete(url, headers=admin_headers).json == {"success": True}
    assert client.get(url, headers=admin_headers).status_code == 404
    assert client.get("/v1/projects", headers=admin_headers).json == []


def test_project_roles_are_assigned_by_centrals_role_names_or_ids(
    client: FlaskClient, admin_headers: dict[str, str], world: World,
    person: Callable[..., Person],
) -> None:
    lan = person("lan@diemtua.test")
    url = f"/v1/projects/{world.project_id}/assignments"
    assert client.post(f"{url}/viewer/{lan.id}", headers=admin_headers).json == {
        "success": True}
    assert client.get(f"/v1/projects/{world.project_id}/forms",
                      headers=lan.headers).status_code == 200
    assert client.post(f"{url}/6/{lan.id}", headers=admin_headers).json["code"] == 409.3
    assert client.post(f"{url}/manager/{lan.id}", headers=admin_headers).status_code == 200
    assert client.get(url, headers=admin_headers).json == [
        {"actorId": lan.id, "roleId": 5}, {"actorId": lan.id, "roleId": 6}]
    extended = client.get(url, headers={**admin_headers, "X-Extended-Metadata": "true"}).json
    assert extended[0]["actor"]["displayName"] == "lan"
    managers = client.get(f"{url}/manager", headers=admin_headers).json
    assert [actor["id"] for actor in managers] == [lan.id]
    assert client.delete(f"{url}/manager/{lan.id}", headers=admin_headers).status_code == 200
    assert client.delete(f"{url}/manager/{lan.id}", headers=admin_headers).status_code == 404
    wrong_scope = client.post(f"{url}/admin/{lan.id}", headers=admin_headers)
    assert wrong_scope.json["code"] == 400.8
    assert client.post(f"{url}/nobody/{lan.id}", headers=admin_headers).status_code == 404


def test_a_viewer_cannot_hand_out_roles(
    client: FlaskClient, world: World, person: Callable[..., Person]
) -> None:
    viewer = person("xem@diemtua.test", "viewer")
    lan = person("lan@diemtua.test")
    response = client.post(f"/v1/projects/{world.project_id}/assignments/manager/{lan.id}",
                           headers=viewer.headers)
    assert response.status_code == 403
