"""A site administrator creates a commune from the communes page (docs/pages.md); nobody
else can, and a form without a name makes nothing."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.models import Audit, Project
from server.operations.users import create_user, grant_project_role
from tests.conftest import ADMIN_PASSWORD, World
from tests.web.conftest import PASSWORD, csrf_of, web_login


def _projects(world: World) -> list[str]:
    with world.uow() as db:
        return list(db.scalars(select(Project.name).order_by(Project.id)))


def test_the_site_administrator_creates_a_commune_and_lands_on_it(client: FlaskClient,
                                                                  world: World) -> None:
    web_login(client, world.admin_email, ADMIN_PASSWORD)
    page = client.get("/ui/projects").get_data(as_text=True)
    assert "Tạo xã mới" in page
    response = client.post("/ui/projects", data={
        "csrf": csrf_of(page), "name": "  Xã   Tân  Phú ", "commune_code": "00007"})
    assert response.status_code == 303
    assert _projects(world) == ["Xã Hoà Bình", "Xã Tân Phú"]
    with world.uow() as db:
        made = db.scalars(select(Project).where(Project.name == "Xã Tân Phú")).one()
        assert made.commune_code == "00007"
        assert f"/ui/p/{made.id}/" in response.headers["Location"]
        logged = db.scalars(select(Audit).where(Audit.action == "project.create")).one()
        assert logged.actee == f"project:{made.id}" and logged.actor_id == world.admin_id


def test_a_commune_needs_a_name_and_a_code_of_digits(client: FlaskClient, world: World) -> None:
    csrf = web_login(client, world.admin_email, ADMIN_PASSWORD)
    nameless = client.post("/ui/projects", data={"csrf": csrf, "name": "   "})
    assert nameless.status_code == 400
    assert "Hãy nhập tên xã." in nameless.get_data(as_text=True)
    lettered = client.post("/ui/projects", data={"csrf": csrf, "name": "Xã Mới",
                                                 "commune_code": "ab12"})
    assert lettered.status_code == 400
    assert "Mã xã chỉ gồm chữ số" in lettered.get_data(as_text=True)
    assert _projects(world) == ["Xã Hoà Bình"]


def test_a_commune_manager_neither_sees_the_form_nor_creates_a_commune(client: FlaskClient,
                                                                        world: World) -> None:
    with world.uow() as db:
        manager = create_user(db, "quanly@xa.test", PASSWORD, display_name="Quản lý")
        grant_project_role(db, world.project_id, manager.actor_id, "manager")
    csrf = web_login(client, "quanly@xa.test")
    assert "Tạo xã mới" not in client.get("/ui/projects").get_data(as_text=True)
    refused = client.post("/ui/projects", data={"csrf": csrf, "name": "Xã Của Tôi"})
    assert refused.status_code == 403
    with world.uow() as db:
        assert db.scalar(select(func.count()).select_from(Project)) == 1
