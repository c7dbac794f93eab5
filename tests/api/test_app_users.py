"""App users (one per phone): creation with villages, form assignments, revocation, QR codes."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from server.auth.permissions import can_on_form
from server.auth.principal import principal_from_field_key
from server.models import Audit
from server.operations import qrcode
from server.operations.forms import get_form
from tests.api.conftest import Person, create_app_user, upload, xform
from tests.conftest import World


def test_creating_an_app_user_returns_its_token_and_villages(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    app_user = create_app_user(client, admin_headers, world.project_id,
                       {"displayName": "Trưởng thôn 1", "villages": ["00001-T01", "00001-T02",
                                                                     "00001-T01"]})
    assert app_user["type"] == "field_key"
    assert app_user["displayName"] == "Trưởng thôn 1"
    assert len(app_user["token"]) == 64
    assert app_user["projectId"] == world.project_id
    assert app_user["createdBy"] == world.admin_id
    assert app_user["villages"] == ["00001-T01", "00001-T02"]
    assert app_user["deletedAt"] is None
    listed = client.get(f"/v1/projects/{world.project_id}/app-users",
                        headers=admin_headers).json
    assert [a["id"] for a in listed] == [app_user["id"]]
    extended = client.get(f"/v1/projects/{world.project_id}/app-users",
                          headers={**admin_headers, "X-Extended-Metadata": "true"}).json
    assert extended[0]["createdBy"]["displayName"] == "Quản trị viên"
    assert extended[0]["lastUsed"] is None
    with world.uow() as session:
        assert "field_key.create" in session.scalars(select(Audit.action)).all()


def test_bad_app_user_bodies_are_refused(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    url = f"/v1/projects/{world.project_id}/app-users"
    missing = client.post(url, headers=admin_headers, json={"villages": []})
    assert missing.json["code"] == 400.2
    bad_village = client.post(url, headers=admin_headers,
                              json={"displayName": "x", "villages": ["thôn 1/2"]})
    assert bad_village.json["code"] == 400.8
    not_json = client.post(url, headers={**admin_headers, "Content-Type": "application/json"},
                           data=b"{not json")
    assert not_json.json["code"] == 400.1


def test_villages_and_name_can_be_changed(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    app_user = create_app_user(client, admin_headers, world.project_id, {"displayName": "Máy 1"})
    url = f"/v1/projects/{world.project_id}/app-users/{app_user['id']}"
    changed = client.patch(url, headers=admin_headers,
                           json={"villages": ["00001-T03"], "displayName": "Máy thôn 3"})
    assert changed.json["villages"] == ["00001-T03"]
    assert changed.json["displayName"] == "Máy thôn 3"
    assert client.get(url, headers=admin_headers).json["villages"] == ["00001-T03"]


@pytest.fixture
def household(client: FlaskClient, admin_headers: dict[str, str], world: World) -> str:
    """A published form; its URL."""
    upload(client, admin_headers, world.project_id, xform())
    return f"/v1/projects/{world.project_id}/forms/household"


def test_a_form_assignment_is_what_lets_a_phone_use_a_form(
    client: FlaskClient, admin_headers: dict[str, str], world: World, household: str
) -> None:
    app_user = create_app_user(client, admin_headers, world.project_id, {"displayName": "Máy 1"})
    url = f"{household}/assignments/app-user/{app_user['id']}"

    def allowed() -> bool:
        with world.uow() as session:
            phone = principal_from_field_key(session, app_user["token"])
            form = get_form(session, world.project_id, "household")
            return can_on_form(session, phone, "open_form.list", form)

    assert not allowed()
    assert client.post(url, headers=admin_headers).json == {"success": True}
    assert allowed()
    assert client.post(f"{household}/assignments/2/{app_user['id']}",
                       headers=admin_headers).json["code"] == 409.3
    assert client.get(f"{household}/assignments", headers=admin_headers).json == [
        {"actorId": app_user["id"], "roleId": 2}]
    actors = client.get(f"{household}/assignments/app-user", headers=admin_headers).json
    assert [actor["displayName"] for actor in actors] == ["Máy 1"]
    summary = client.get(f"/v1/projects/{world.project_id}/assignments/forms",
                         headers=admin_headers).json
    assert summary == [{"actorId": app_user["id"], "xmlFormId": "household", "roleId": 2}]
    assert client.delete(url, headers=admin_headers).json == {"success": True}
    assert not allowed()
    assert client.delete(url, headers=admin_headers).status_code == 404
    with world.uow() as session:
        actions = set(session.scalars(select(Audit.action)))
    assert {"field_key.assignment.create", "field_key.assignment.delete"} <= actions


def test_only_this_projects_app_users_can_be_assigned_its_forms(
    client: FlaskClient, admin_headers: dict[str, str], world: World, household: str,
    other_project: int,
) -> None:
    stranger = create_app_user(client, admin_headers, other_project, {"displayName": "Máy xã khác"})
    response = client.post(f"{household}/assignments/app-user/{stranger['id']}",
                           headers=admin_headers)
    assert response.status_code == 404
    web_user = client.post(f"{household}/assignments/app-user/{world.admin_id}",
                           headers=admin_headers)
    assert web_user.status_code == 404


def test_deleting_an_app_user_cuts_its_phone_off(
    client: FlaskClient, admin_headers: dict[str, str], world: World, household: str
) -> None:
    app_user = create_app_user(client, admin_headers, world.project_id, {"displayName": "Máy 1"})
    client.post(f"{household}/assignments/app-user/{app_user['id']}", headers=admin_headers)
    key_url = f"/v1/key/{app_user['token']}/users/current"
    assert client.get(key_url).status_code == 403  # a known phone, but not a web user
    url = f"/v1/projects/{world.project_id}/app-users/{app_user['id']}"
    assert client.delete(url, headers=admin_headers).json == {"success": True}
    assert client.get(key_url).status_code == 401
    assert client.get(f"/v1/projects/{world.project_id}/app-users",
                      headers=admin_headers).json == []
    assert client.get(f"{household}/assignments", headers=admin_headers).json == []


def test_revoking_an_app_users_token_keeps_the_account(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    app_user = create_app_user(client, admin_headers, world.project_id, {"displayName": "Máy 1"})
    response = client.delete(f"/v1/sessions/{app_user['token']}", headers=admin_headers)
    assert response.json == {"success": True}
    assert client.get(f"/v1/key/{app_user['token']}/users/current").status_code == 401
    listed = client.get(f"/v1/projects/{world.project_id}/app-users",
                        headers=admin_headers).json
    assert listed[0]["token"] is None
    with world.uow() as session:
        assert "field_key.session.end" in session.scalars(select(Audit.action)).all()


def test_viewers_cannot_see_or_make_app_users(
    client: FlaskClient, world: World, person: Callable[..., Person]
) -> None:
    viewer = person("xem@diemtua.test", "viewer")
    url = f"/v1/projects/{world.project_id}/app-users"
    assert client.get(url, headers=viewer.headers).status_code == 403
    assert client.post(url, headers=viewer.headers,
                       json={"displayName": "x"}).status_code == 403


def test_the_qr_code_carries_collect_settings_for_the_key_url(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    app_user = create_app_user(client, admin_headers, world.project_id, {"displayName": "Máy 1"})
    url = f"/v1/projects/{world.project_id}/app-users/{app_user['id']}/qr"
    answer = client.get(url, headers=admin_headers,
                        base_url="https://diemtua.xa-hoabinh.gov.vn").json
    expected_url = (f"https://diemtua.xa-hoabinh.gov.vn/v1/key/{app_user['token']}"
                    f"/projects/{world.project_id}")
    assert answer["url"] == expected_url
    settings = qrcode.decode_settings(answer["payload"])
    assert settings == answer["settings"]
    assert settings["general"]["server_url"] == expected_url
    assert settings["general"]["form_update_mode"] == "match_exactly"
    assert settings["general"]["autosend"] == "wifi_and_cellular"
    # The phone's forms record who collected them (`username` metadata).
    assert settings["general"]["metadata_username"] == "Máy 1"
    assert settings["admin"] == {"change_server": False}
    assert settings["project"]["name"] == "Xã Hoà Bình"
    assert settings["project"]["icon"] == "H"
    assert settings["project"]["color"].startswith("#")
    png = client.get(f"{url}.png", headers=admin_headers,
                     base_url="https://diemtua.xa-hoabinh.gov.vn")
    assert png.mimetype == "image/png"
    assert png.data.startswith(b"\x89PNG")
    assert png.data == qrcode.qr_png(answer["payload"])
    assert "no-store" in png.headers["Cache-Control"]


def test_a_revoked_app_user_has_no_qr_code(
    client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    app_user = create_app_user(client, admin_headers, world.project_id, {"displayName": "Máy 1"})
    client.delete(f"/v1/sessions/{app_user['token']}", headers=admin_headers)
    response = client.get(f"/v1/projects/{world.project_id}/app-users/{app_user['id']}/qr.png",
                          headers=admin_headers)
    assert response.status_code == 404


def test_settings_payload_round_trips_vietnamese_names() -> None:
    settings = qrcode.collect_settings("https://x.vn/v1/key/abc/projects/3", "Phường Đống Đa",
                                       3)
    assert qrcode.decode_settings(qrcode.encode_settings(settings)) == settings
    assert settings["project"]["icon"] == "Đ"
