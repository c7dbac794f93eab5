"""No escalation, over real HTTP: a manager limited to village T01 grants roles, app users and
form assignments only within T01, never sees another village's phone or its token, and so
never reaches another village's children; an unlimited manager and the site admin can."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from server.cli import main
from server.models import AppUser, ProjectRole
from server.operations.projects import create_project
from server.services import Services
from tests.conftest import LiveServer
from tests.live_commune import LiveCommune
from tests.registry.followup_helpers import load_synced_demo


class Commune(LiveCommune):
    """The demo commune on a real port, with what these tests read back."""

    def role_villages(self, actor_id: int, role: str) -> list[str] | None:
        with self.services.database.unit_of_work() as db:
            row = db.scalar(select(ProjectRole).where(
                ProjectRole.actor_id == actor_id, ProjectRole.role == role,
                ProjectRole.project_id == self.demo.project_id))
            return None if row is None else list(row.villages or [])

    def children_csv_villages(self, token: str) -> set[str]:
        """The villages of the children a phone with this token downloads."""
        return {row["village"] for row in self.children_csv(token)}


@pytest.fixture
def commune(services: Services, live_server: LiveServer) -> Commune:
    return Commune(services, load_synced_demo(services, households=20), live_server.url)


def refused(response: requests.Response, *villages: str) -> None:
    """403 with Central's code and a message naming the villages."""
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["code"] == 403.1
    if villages:  # the village refusal says why, Vietnamese first
        assert body["message"].startswith("Không có quyền"), body["message"]
    for village in villages:
        assert village in body["message"], body["message"]


def test_a_manager_of_t01_cannot_grant_itself_or_others_more_villages(
        commune: Commune) -> None:
    manager = commune.user("truong.thon1@xa.vn", {"manager": ["T01"]})
    other = commune.user("can.bo@xa.vn")
    roles = f"{commune.project}/assignments"
    # Itself, the officer's role without a limit: the finding.
    unlimited = manager.call("POST", f"{roles}/cp_officer/{manager.id}")
    refused(unlimited, "T01")
    assert "every village" in unlimited.json()["message"]
    refused(manager.call("POST", f"{roles}/cp_officer/{manager.id}", {"villages": ["T04"]}),
            "T04")
    refused(manager.call("POST", f"{roles}/manager/{other.id}",
                         {"villages": ["T01", "T04"]}), "T04")
    refused(manager.call("POST", f"{roles}/formfill/{other.id}", {"villages": []}), "T01")
    refused(manager.call("POST", f"/v1/assignments/admin/{manager.id}"))
    assert commune.role_villages(manager.id, "cp_officer") is None
    assert commune.role_villages(other.id, "manager") is None
    # Nothing reached T04: its children stay out of the manager's registry.
    listed = manager.call("GET", f"{commune.project}/registry/children?village=T04")
    assert listed.status_code == 200 and listed.json() == []
    # Within T01 it grants as before.
    assert manager.call("POST", f"{roles}/cp_officer/{other.id}",
                        {"villages": ["T01"]}).status_code == 200
    assert commune.role_villages(other.id, "cp_officer") == ["T01"]


def test_a_manager_of_t01_takes_away_only_roles_within_t01(commune: Commune) -> None:
    manager = commune.user("truong.thon1@xa.vn", {"manager": ["T01"]})
    officer = commune.user("van.hoa@xa.vn", {"cp_officer": [], "viewer": ["T04"],
                                             "commune_leader": ["T01"]})
    roles = f"{commune.project}/assignments"
    refused(manager.call("DELETE", f"{roles}/cp_officer/{officer.id}"), "T01")
    refused(manager.call("DELETE", f"{roles}/viewer/{officer.id}"), "T04")
    assert commune.role_villages(officer.id, "cp_officer") == []
    assert commune.role_villages(officer.id, "viewer") == ["T04"]
    assert manager.call("DELETE",
                        f"{roles}/commune_leader/{officer.id}").status_code == 200
    assert commune.role_villages(officer.id, "commune_leader") is None


def test_a_manager_of_t01_sees_and_changes_only_the_phones_of_t01(commune: Commune) -> None:
    manager = commune.user("truong.thon1@xa.vn", {"manager": ["T01"]})
    phones = f"{commune.project}/app-users"
    t01, t04 = commune.phone_id("T01"), commune.phone_id("T04")
    listed = manager.call("GET", phones)
    assert listed.status_code == 200
    assert [phone["id"] for phone in listed.json()] == [t01]
    for village in ("T02", "T03", "T04", "T05", "T06"):
        assert commune.phone_token(village) not in listed.text
    extended = manager.http.get(f"{commune.url}{phones}", timeout=30,
                                headers={"X-Extended-Metadata": "true"})
    assert [phone["id"] for phone in extended.json()] == [t01]
    for path in (f"{phones}/{t04}", f"{phones}/{t04}/qr", f"{phones}/{t04}/qr.png"):
        response = manager.call("GET", path)
        refused(response, "T04")
        assert commune.phone_token("T04") not in response.text
    refused(manager.call("PATCH", f"{phones}/{t04}", {"displayName": "Máy của tôi"}), "T04")
    refused(manager.call("DELETE", f"{phones}/{t04}"), "T04")
    # A phone for T04, or the T01 phone moved to T04: the other way to T04's children.
    refused(manager.call("POST", phones, {"displayName": "Máy mới", "villages": ["T04"]}),
            "T04")
    refused(manager.call("POST", phones, {"displayName": "Máy mới",
                                          "villages": ["T01", "T04"]}), "T04")
    refused(manager.call("PATCH", f"{phones}/{t01}", {"villages": ["T01", "T04"]}), "T04")
    form = f"{commune.project}/forms/child_followup/assignments/app-user/{t04}"
    refused(manager.call("DELETE", form), "T04")
    refused(manager.call("POST", form), "T04")
    # Every key this manager holds opens T01's children only.
    tokens = [phone["token"] for phone in manager.call("GET", phones).json()]
    assert tokens and all(commune.children_csv_villages(t) == {"T01"} for t in tokens)
    # Within T01 it sets up phones as before.
    made = manager.call("POST", phones, {"displayName": "Máy thôn 1 số 2", "villages": ["T01"]})
    assert made.status_code == 200 and made.json()["token"]
    assert manager.call("GET", f"{phones}/{made.json()['id']}/qr").status_code == 200
    assert manager.call("PATCH", f"{phones}/{t01}",
                        {"displayName": "Máy thôn Đông"}).status_code == 200


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_an_unlimited_manager_and_the_site_admin_grant_anything(
        commune: Commune, who: str) -> None:
    boss = (commune.user("chu.tich@xa.vn", admin=True) if who == "admin"
            else commune.user("pho.chu.tich@xa.vn", {"manager": []}))
    other = commune.user("can.bo@xa.vn", {"viewer": []})
    roles, phones = f"{commune.project}/assignments", f"{commune.project}/app-users"
    assert boss.call("POST", f"{roles}/cp_officer/{other.id}").status_code == 200
    assert commune.role_villages(other.id, "cp_officer") == []
    assert boss.call("DELETE", f"{roles}/viewer/{other.id}").status_code == 200
    made = boss.call("POST", phones, {"displayName": "Máy thôn 4", "villages": ["T04"]})
    assert made.status_code == 200
    listed = boss.call("GET", phones).json()
    assert {phone["token"] for phone in listed} >= {
        commune.phone_token(v) for v in ("T01", "T04")}
    t04 = commune.phone_id("T04")
    assert boss.call("PATCH", f"{phones}/{t04}", {"villages": ["T04", "T05"]}
                     ).status_code == 200
    assert boss.call("GET", f"{phones}/{t04}/qr").status_code == 200


def test_village_codes_must_be_the_projects_own(commune: Commune) -> None:
    admin = commune.user("chu.tich@xa.vn", admin=True)
    other = commune.user("can.bo@xa.vn")
    phones = f"{commune.project}/app-users"

    def unknown(response: requests.Response) -> None:
        assert response.status_code == 400, response.text
        assert response.json()["code"] == 400.8
        assert "khong-co" in response.json()["message"]
        message = response.json()["message"]
        assert message.startswith("Mã thôn không có trong xã: khong-co.")  # Vietnamese first
        # The villages it could have meant, every one of them.
        assert "Các thôn của xã: T01 (" in message and "T06 (" in message
        assert response.json()["details"]["villages"] == [f"T0{n}" for n in range(1, 7)]

    unknown(admin.call("POST", phones, {"displayName": "Máy", "villages": ["khong-co"]}))
    unknown(admin.call("PATCH", f"{phones}/{commune.phone_id('T02')}",
                       {"villages": ["T02", "khong-co"]}))
    unknown(admin.call("POST", f"{commune.project}/assignments/viewer/{other.id}",
                       {"villages": ["T01", "khong-co"]}))
    assert commune.role_villages(other.id, "viewer") is None
    with commune.services.database.unit_of_work() as db:
        t02 = db.get(AppUser, commune.phone_id("T02"))
        assert t02 is not None and t02.villages == ["T02"]
    # A project without a village list takes any well-formed code, as before.
    with commune.services.database.unit_of_work() as db:
        bare = create_project(db, "Xã chưa có danh sách thôn", commune_code="00009").id
    made = admin.call("POST", f"/v1/projects/{bare}/app-users",
                      {"displayName": "Máy", "villages": ["00009-T01"]})
    assert made.status_code == 200 and made.json()["villages"] == ["00009-T01"]


@pytest.fixture
def cli(services: Services, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", database_url)
    monkeypatch.setenv("DIEMTUA_SECRET_KEY", "test-secret")
    runner = CliRunner()
    return lambda *args: runner.invoke(main, [str(arg) for arg in args])


def test_the_command_line_refuses_an_unknown_village(
        commune: Commune, cli: Callable[..., Any]) -> None:
    project = commune.demo.project_id
    typo = cli("app-user", "create", "--project", project, "--village", "khong-co", "Máy")
    assert typo.exit_code != 0 and "khong-co" in typo.output
    good = cli("app-user", "create", "--project", project, "--village", "T03", "Máy thôn 3")
    assert good.exit_code == 0, good.output
