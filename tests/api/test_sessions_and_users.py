"""Logging in and out, and managing web users, as ODK Central does."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from server.models import Audit
from tests.api.conftest import PASSWORD, Person, login
from tests.conftest import ADMIN_PASSWORD, World


def test_login_returns_centrals_session_shape_and_is_audited(
    client: FlaskClient, world: World
) -> None:
    response = client.post("/v1/sessions", json={"email": "ADMIN@diemtua.test",
                                                 "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    assert set(response.json) == {"token", "csrf", "expiresAt", "createdAt"}
    assert len(response.json["token"]) == 64
    assert response.json["expiresAt"].endswith("Z")
    with world.uow() as session:
        actions = session.scalars(select(Audit.action)).all()
    assert "user.session.create" in actions


def test_wrong_password_is_401_2_and_missing_fields_400_3(
    client: FlaskClient, world: World
) -> None:
    wrong = client.post("/v1/sessions", json={"email": world.admin_email, "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json["code"] == 401.2
    missing = client.post("/v1/sessions", json={})
    assert missing.status_code == 400
    assert missing.json["code"] == 400.3


def test_current_user_answers_pyodks_token_check(
    client: FlaskClient, admin_headers: dict[str, str]
) -> None:
    response = client.get("/v1/users/current", headers=admin_headers)
    assert response.status_code == 200
    assert response.json["type"] == "user"
    assert response.json["displayName"] == "Quản trị viên"
    assert {"id", "email", "createdAt", "updatedAt", "deletedAt"} <= set(response.json)
    extended = client.get("/v1/users/current",
                          headers={**admin_headers, "X-Extended-Metadata": "true"})
    assert "user.create" in extended.json["verbs"]


def test_anonymous_gets_401_with_a_challenge(client: FlaskClient, world: World) -> None:
    response = client.get("/v1/users/current")
    assert response.status_code == 401
    assert response.json["code"] == 401.2
    assert "WWW-Authenticate" in response.headers


def test_logout_ends_the_token(client: FlaskClient, admin_headers: dict[str, str]) -> None:
    token = admin_headers["Authorization"].split()[1]
    assert client.delete(f"/v1/sessions/{token}", headers=admin_headers).json == {
        "success": True}
    assert client.get("/v1/users/current", headers=admin_headers).status_code == 401


def test_logout_of_someone_elses_session_needs_an_admin(
    client: FlaskClient, admin_headers: dict[str, str], person: Callable[..., Person]
) -> None:
    somebody = person("lan@diemtua.test")
    admin_token = admin_headers["Authorization"].split()[1]
    refused = client.delete(f"/v1/sessions/{admin_token}", headers=somebody.headers)
    assert refused.status_code == 403
    unknown = client.delete("/v1/sessions/not-a-token", headers=somebody.headers)
    assert unknown.status_code == 403
    own = client.delete("/v1/sessions/current", headers=somebody.headers)
    assert own.status_code == 200


def test_admin_creates_a_user_who_can_then_log_in(
    client: FlaskClient, admin_headers: dict[str, str]
) -> None:
    created = client.post("/v1/users", headers=admin_headers, json={
        "email": "Hoa@Tramyte.vn", "password": PASSWORD, "displayName": "Chị Hoa"})
    assert created.status_code == 200
    assert created.json["email"] == "hoa@tramyte.vn"
    assert created.json["displayName"] == "Chị Hoa"
    assert login(client, "hoa@tramyte.vn")
    listed = client.get("/v1/users", headers=admin_headers).json
    assert [user["email"] for user in listed] == ["admin@diemtua.test", "hoa@tramyte.vn"]
    again = client.post("/v1/users", headers=admin_headers,
                        json={"email": "hoa@tramyte.vn", "password": PASSWORD})
    assert again.json["code"] == 409.3


def test_short_password_and_bad_email_are_refused(
    client: FlaskClient, admin_headers: dict[str, str]
) -> None:
    short = client.post("/v1/users", headers=admin_headers,
                        json={"email": "a@b.vn", "password": "short"})
    assert short.json["code"] == 400.21
    bad = client.post("/v1/users", headers=admin_headers, json={"email": "not an email"})
    assert bad.json["code"] == 400.8


def test_a_user_cannot_list_or_create_users_but_may_look_up_one_email(
    client: FlaskClient, person: Callable[..., Person]
) -> None:
    lan = person("lan@diemtua.test")
    assert client.get("/v1/users", headers=lan.headers).json == []
    found = client.get("/v1/users?q=admin@diemtua.test", headers=lan.headers).json
    assert [user["email"] for user in found] == ["admin@diemtua.test"]
    refused = client.post("/v1/users", headers=lan.headers, json={"email": "x@y.vn"})
    assert refused.status_code == 403
    assert refused.json["code"] == 403.1


def test_users_edit_themselves_but_not_others(
    client: FlaskClient, person: Callable[..., Person], world: World
) -> None:
    lan = person("lan@diemtua.test")
    renamed = client.patch(f"/v1/users/{lan.id}", headers=lan.headers,
                           json={"displayName": "Chị Lan"})
    assert renamed.json["displayName"] == "Chị Lan"
    assert client.get(f"/v1/users/{world.admin_id}", headers=lan.headers).status_code == 403
    assert client.patch(f"/v1/users/{world.admin_id}", headers=lan.headers,
                        json={"displayName": "x"}).status_code == 403


def test_password_change_needs_the_old_password(
    client: FlaskClient, person: Callable[..., Person]
) -> None:
    lan = person("lan@diemtua.test")
    wrong = client.put(f"/v1/users/{lan.id}/password", headers=lan.headers,
                       json={"old": "wrong password", "new": "một mật khẩu mới"})
    assert wrong.json["code"] == 401.2
    done = client.put(f"/v1/users/{lan.id}/password", headers=lan.headers,
                      json={"old": PASSWORD, "new": "một mật khẩu mới"})
    assert done.json == {"success": True}
    assert login(client, lan.email, "một mật khẩu mới")


def test_deleted_user_can_no_longer_log_in_or_use_old_tokens(
    client: FlaskClient, admin_headers: dict[str, str], person: Callable[..., Person]
) -> None:
    lan = person("lan@diemtua.test", "viewer")
    assert client.delete(f"/v1/users/{lan.id}", headers=admin_headers).status_code == 200
    assert client.get("/v1/users/current", headers=lan.headers).status_code == 401
    assert client.get(f"/v1/users/{lan.id}", headers=admin_headers).status_code == 404
    login_again = client.post("/v1/sessions", json={"email": lan.email, "password": PASSWORD})
    assert login_again.status_code == 401


def test_login_with_an_unknown_email_is_401_2(client: FlaskClient, world: World) -> None:
    response = client.post("/v1/sessions", json={"email": "nobody@diemtua.test",
                                                 "password": PASSWORD})
    assert response.status_code == 401
    assert response.json["code"] == 401.2


def test_site_admin_role_is_granted_and_revoked_through_assignments(
    client: FlaskClient, admin_headers: dict[str, str], person: Callable[..., Person],
    world: World,
) -> None:
    lan = person("lan@diemtua.test")
    assert client.get("/v1/assignments", headers=admin_headers).json == [
        {"actorId": world.admin_id, "roleId": 1}]
    assert client.post(f"/v1/assignments/admin/{lan.id}", headers=admin_headers).json == {
        "success": True}
    assert client.get("/v1/projects", headers=lan.headers).status_code == 200
    assert client.post(f"/v1/assignments/1/{lan.id}",
                       headers=admin_headers).json["code"] == 409.3
    actors = client.get("/v1/assignments/admin", headers=admin_headers).json
    assert {actor["id"] for actor in actors} == {world.admin_id, lan.id}
    assert client.delete(f"/v1/assignments/admin/{lan.id}",
                         headers=admin_headers).status_code == 200
    assert client.get("/v1/assignments", headers=lan.headers).status_code == 403
    with world.uow() as session:
        actions = session.scalars(select(Audit.action)).all()
    assert {"user.assignment.create", "user.assignment.delete"} <= set(actions)


def test_roles_list_centrals_ids(client: FlaskClient) -> None:
    roles = {role["system"]: role["id"] for role in client.get("/v1/roles").json}
    assert roles == {"admin": 1, "app-user": 2, "manager": 5, "viewer": 6, "formfill": 8,
                     "cp_officer": 101, "health_reviewer": 102, "commune_leader": 103}
    assert client.get("/v1/roles/manager").json["id"] == 5
    assert "form.create" in client.get("/v1/roles/5").json["verbs"]
    assert client.get("/v1/roles/nobody").status_code == 404
