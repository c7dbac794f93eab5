"""Every action the README's "Audit log" lists leaves its row — who, what, on what, with which
details — through each path a person takes: the API, the web pages and the CLI.

Each test runs a table of steps in order (later steps use what earlier ones made) and checks,
after each, the one new row of that action. The registry is the demo commune's synthetic
households synced through the real path, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.cli import main
from server.db import utcnow
from server.models import Audit, Child, Flag, MatchCandidate
from server.operations.users import create_user, grant_project_role
from server.registry import categories
from server.services import Services
from sync.categories import DerivedCategory, Reason, apply_derived
from tests.api.conftest import PASSWORD, login, upload, xform
from tests.api.test_registry_api import (
    Commune,
    demo_commune,
    open_categories,
    open_with_confidential_reason,
    queued_row,
)
from tests.conftest import World
from tests.registry.import_helpers import csv_bytes
from tests.web.conftest import csrf_of, web_login


@dataclass
class Step:
    """One thing a person does and the audit row it must leave."""

    name: str
    do: Callable[[], Any]
    action: str
    actor: Callable[[], int | None]
    actee: Callable[[], str | None]
    details: Callable[[], dict[str, Any]] = field(default=lambda: {})
    check: Callable[[dict[str, Any]], Any] = field(default=lambda _details: None)


def newest_id(services: Services) -> int:
    with services.database.unit_of_work() as db:
        return db.scalar(select(func.max(Audit.id))) or 0


def run_steps(services: Services, steps: list[Step]) -> None:
    """Do each step and check the row it left: exactly one of its action, by its actor, on its
    actee, with at least its details."""
    for step in steps:
        mark = newest_id(services)
        step.do()
        actor, actee, details = step.actor(), step.actee(), step.details()
        with services.database.unit_of_work() as db:
            rows = db.scalars(select(Audit).where(Audit.id > mark)).all()
            found = [row for row in rows if row.action == step.action]
            assert len(found) == 1, (step.name, [row.action for row in rows])
            row = found[0]
            assert (row.actor_id, row.actee) == (actor, actee), step.name
            assert details.items() <= (row.details or {}).items(), (step.name, row.details)
            step.check(row.details or {})


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json


def actor_of(client: FlaskClient, headers: dict[str, str]) -> int:
    return ok(client.get("/v1/users/current", headers=headers))["id"]


# --- people, roles, app users ---------------------------------------------------------------------


def test_user_role_and_app_user_changes_are_audited(
        client: FlaskClient, world: World, admin_headers: dict[str, str]) -> None:
    admin, project = world.admin_id, world.project_id
    made: dict[str, Any] = {}
    form_id = upload(client, admin_headers, project, xform())["xmlFormId"]

    def create_user_() -> None:
        made["user"] = ok(client.post("/v1/users", headers=admin_headers, json={
            "email": "lan@xa.test", "password": PASSWORD, "displayName": "Lan"}))["id"]

    def sign_in() -> None:
        made["headers"] = login(client, "lan@xa.test")

    def app_user() -> None:
        made["phone"] = ok(client.post(f"/v1/projects/{project}/app-users",
                                       headers=admin_headers,
                                       json={"displayName": "Thôn 1", "villages": ["T01"]}))

    def form_actee() -> str:
        with world.uow() as db:
            return db.scalar(select(Audit.actee).where(Audit.action == "form.create")) or ""

    user = f"/v1/projects/{project}/assignments/cp_officer"
    phone = f"/v1/projects/{project}/app-users"
    phone_form = f"/v1/projects/{project}/forms/{form_id}/assignments/app-user"
    steps = [
        Step("create a user", create_user_, "user.create", lambda: admin,
             lambda: f"actor:{made['user']}",
             lambda: {"data": {"email": "lan@xa.test"}}),
        Step("sign in over the API", sign_in, "user.session.create",
             lambda: made["user"], lambda: f"actor:{made['user']}"),
        Step("rename a user", lambda: ok(client.patch(
            f"/v1/users/{made['user']}", headers=admin_headers, json={"displayName": "Chị Lan"})),
             "user.update", lambda: admin, lambda: f"actor:{made['user']}"),
        Step("change one's password", lambda: ok(client.put(
            f"/v1/users/{made['user']}/password", headers=made["headers"],
            json={"old": PASSWORD, "new": "một mật khẩu mới rất dài"})),
             "user.update", lambda: made["user"], lambda: f"actor:{made['user']}",
             lambda: {"data": {"password": "changed"}}),
        Step("grant a role limited to a village", lambda: ok(client.post(
            f"{user}/{made['user']}", headers=admin_headers, json={"villages": ["T01"]})),
             "user.assignment.create", lambda: admin, lambda: f"actor:{made['user']}",
             lambda: {"roleId": 101, "acteeId": f"project:{project}", "villages": ["T01"]}),
        Step("revoke the role", lambda: ok(client.delete(
            f"{user}/{made['user']}", headers=admin_headers)),
             "user.assignment.delete", lambda: admin, lambda: f"actor:{made['user']}",
             lambda: {"roleId": 101, "acteeId": f"project:{project}"}),
        Step("make a site administrator", lambda: ok(client.post(
            f"/v1/assignments/admin/{made['user']}", headers=admin_headers)),
             "user.assignment.create", lambda: admin, lambda: f"actor:{made['user']}",
             lambda: {"roleId": 1, "acteeId": "*"}),
        Step("take it back", lambda: ok(client.delete(
            f"/v1/assignments/admin/{made['user']}", headers=admin_headers)),
             "user.assignment.delete", lambda: admin, lambda: f"actor:{made['user']}",
             lambda: {"roleId": 1, "acteeId": "*"}),
        Step("create an app user", app_user, "field_key.create", lambda: admin,
             lambda: f"actor:{made['phone']['id']}",
             lambda: {"projectId": project, "villages": ["T01"]}),
        Step("change its villages", lambda: ok(client.patch(
            f"{phone}/{made['phone']['id']}", headers=admin_headers,
            json={"villages": ["T01", "T02"]})),
             "field_key.update", lambda: admin, lambda: f"actor:{made['phone']['id']}",
             lambda: {"projectId": project, "villages": ["T01", "T02"]}),
        Step("give it a form", lambda: ok(client.post(
            f"{phone_form}/{made['phone']['id']}", headers=admin_headers)),
             "field_key.assignment.create", lambda: admin,
             lambda: f"actor:{made['phone']['id']}",
             lambda: {"roleId": 2, "acteeId": form_actee()}),
        Step("take the form back", lambda: ok(client.delete(
            f"{phone_form}/{made['phone']['id']}", headers=admin_headers)),
             "field_key.assignment.delete", lambda: admin,
             lambda: f"actor:{made['phone']['id']}",
             lambda: {"roleId": 2, "acteeId": form_actee()}),
        Step("revoke its token", lambda: ok(client.delete(
            f"/v1/sessions/{made['phone']['token']}", headers=admin_headers)),
             "field_key.session.end", lambda: admin, lambda: f"actor:{made['phone']['id']}"),
        Step("delete the app user", lambda: ok(client.delete(
            f"{phone}/{made['phone']['id']}", headers=admin_headers)),
             "field_key.delete", lambda: admin, lambda: f"actor:{made['phone']['id']}",
             lambda: {"projectId": project}),
        Step("delete the user", lambda: ok(client.delete(
            f"/v1/users/{made['user']}", headers=admin_headers)),
             "user.delete", lambda: admin, lambda: f"actor:{made['user']}"),
    ]
    run_steps(world.services, steps)


def test_signing_in_on_the_pages_is_audited(client: FlaskClient, world: World) -> None:
    with world.uow() as db:
        user_id = create_user(db, "hoa@xa.test", PASSWORD).actor_id
        grant_project_role(db, world.project_id, user_id, "viewer")
    run_steps(world.services, [
        Step("sign in on the page", lambda: web_login(client, "hoa@xa.test", PASSWORD),
             "user.session.create", lambda: user_id, lambda: f"actor:{user_id}",
             lambda: {"via": "web"})])


# --- the registry over the API --------------------------------------------------------------------


@pytest.fixture
def commune(services: Services, client: FlaskClient, world: World,
            admin_headers: dict[str, str]) -> Commune:
    return demo_commune(services, client, admin_headers)


def open_referral(commune: Commune, child_id: str, code: str) -> None:
    """A Section F concern: a confidential referral the officer decides on."""
    derived = DerivedCategory(code, (Reason("f_type", "Nghi bị xâm hại", "Suspected abuse",
                                            confidential=True),), referral=True)
    with commune.services.database.unit_of_work() as db:
        before = categories.episodes(db, child_id)
        categories.save_episodes(db, child_id, apply_derived(before, [derived], by="sync",
                                                             at=utcnow(), source="test"))


def flag_of(commune: Commune, child_id: str) -> int:
    with commune.services.database.unit_of_work() as db:
        return db.scalars(select(Flag.id).where(Flag.child_id == child_id)).one()


def test_registry_decisions_merges_categories_and_sensitive_views_are_audited(
        commune: Commune) -> None:
    client, base, project = commune.client, commune.base, commune.project_id
    officer = commune.person("cp_officer")
    leader = commune.person("commune_leader")
    officer_id, leader_id = actor_of(client, officer), actor_of(client, leader)
    sensitive, plain, referred, flagged = (commune.child_in("T02", 0), commune.child_in("T02", 1),
                                           commune.child_in("T03", 0), commune.child_in("T01", 0))
    open_with_confidential_reason(commune, sensitive, "RISK")
    open_categories(commune, plain, ["PLAN-POOR"])
    open_referral(commune, referred, "HCDB-L")
    open_categories(commune, flagged, ["HCDB-A"])
    queued_row(commune)
    with commune.services.database.unit_of_work() as db:
        row = db.scalars(select(MatchCandidate)).one()
        candidate, proposed = row.id, row.child_id
    seen: dict[str, Any] = {}

    def post(path: str, headers: dict[str, str], body: dict[str, Any] | None = None) -> Any:
        return ok(client.post(f"{base}/{path}", headers=headers, json=body or {}))

    def decide(decision: str) -> Callable[[], Any]:
        def go() -> None:
            seen[decision] = post(f"review-queue/{candidate}/decision", officer,
                                  {"decision": decision})
        return go

    def merge() -> None:
        other = ok(client.get(f"{base}/review-queue/{candidate}", headers=officer))
        seen["other"], seen["record"] = other["record"]["childId"], other["record"]["id"]
        post(f"children/{proposed}/merge", officer, {"otherId": seen["other"]})

    def category(child: str, code: str, verb: str) -> Step:
        return Step(f"{verb} {code}", lambda: post(
            f"children/{child}/categories/{code}/{verb}", officer, {"why": "đã xác minh"}),
            f"registry.category.{verb}", lambda: officer_id, lambda: f"child:{child}",
            lambda: {"projectId": project, "code": code})

    listed = commune.child_in("T04", 0)
    open_categories(commune, listed, ["HCDB-E"])

    def shows_the_childs_sensitive_code(details: dict[str, Any]) -> None:
        assert details["children"][listed] == ["HCDB-E"]
        assert all(codes for codes in details["children"].values())

    steps = [
        Step("open a child with a confidential reason", lambda: commune.get(
            f"children/{sensitive}", officer), "registry.child.read_sensitive",
             lambda: officer_id, lambda: f"child:{sensitive}",
             lambda: {"projectId": project, "codes": ["RISK"]}),
        Step("list children showing a sensitive category", lambda: commune.get(
            "children", officer, category="HCDB-E"), "registry.children.read_sensitive",
             lambda: officer_id, lambda: f"project:{project}", lambda: {"projectId": project},
             shows_the_childs_sensitive_code),
        category(plain, "PLAN-POOR", "confirm"),
        category(plain, "PLAN-POOR", "end"),
        category(referred, "HCDB-L", "accept"),
        Step("acknowledge a flag", lambda: post(f"flags/{flag_of(commune, flagged)}/acknowledge",
                                                leader),
             "registry.flag.acknowledge", lambda: leader_id,
             lambda: f"flag:{flag_of(commune, flagged)}", lambda: {"projectId": project}),
        Step("close it", lambda: post(f"flags/{flag_of(commune, flagged)}/close", leader,
                                      {"reason": "đã hỗ trợ"}),
             "registry.flag.close", lambda: leader_id,
             lambda: f"flag:{flag_of(commune, flagged)}", lambda: {"projectId": project}),
        Step("decide not the same child", decide("not_same"), "registry.review.decide",
             lambda: officer_id, lambda: f"candidate:{candidate}",
             lambda: {"projectId": project, "decision": "not_same"}),
        Step("withdraw that separation", lambda: post(
            f"edges/{seen['not_same']['edgeId']}/revoke", leader), "registry.edge.revoke",
             lambda: leader_id, lambda: f"edge:{seen['not_same']['edgeId']}",
             lambda: {"projectId": project, "reopened": candidate}),
        Step("decide the same child", decide("same"), "registry.review.decide",
             lambda: officer_id, lambda: f"candidate:{candidate}",
             lambda: {"projectId": project, "decision": "same"}),
        Step("undo it", lambda: post(f"review-queue/{candidate}/undo", officer),
             "registry.review.undo", lambda: officer_id, lambda: f"candidate:{candidate}",
             lambda: {"projectId": project}),
        Step("merge two children by hand", merge, "registry.child.merge", lambda: officer_id,
             lambda: f"child:{proposed}",
             lambda: {"projectId": project, "merged": seen["other"]}),
        Step("take the record out again", lambda: post(
            f"children/{proposed}/records/{seen['record']}/unmerge", officer),
             "registry.record.unmerge", lambda: officer_id,
             lambda: f"record:{seen['record']}",
             lambda: {"projectId": project, "from": proposed, "to": seen["other"]}),
        Step("import a list", lambda: ok(client.post(
            f"/v1/projects/{project}/registry/imports?createVillages=true&source=ds-2026",
            data=csv_bytes([{"record_id": "1", "village": "Bản Mới",
                             "full_name": "Sùng A Tủa"}]),
            content_type="text/csv; charset=utf-8", headers=officer)),
             "registry.import", lambda: officer_id, lambda: f"project:{project}",
             lambda: {"source": "ds-2026", "villagesCreated": ["Bản Mới"]}),
    ]
    run_steps(commune.services, steps)
    # A list that shows nothing sensitive (a viewer's) leaves no row.
    mark = newest_id(commune.services)
    commune.get("children", commune.person("viewer"), limit="1000")
    with commune.services.database.unit_of_work() as db:
        assert db.scalars(select(Audit.action).where(Audit.id > mark)).all() == [
            "user.assignment.create", "user.session.create"]


def test_entity_list_downloads_say_who_which_villages_and_how_many_rows(
        commune: Commune) -> None:
    client, project = commune.client, commune.project_id
    limited = commune.person("cp_officer", villages=["T01"])
    limited_id, admin_id = actor_of(client, limited), actor_of(client, commune.admin)
    with commune.services.database.unit_of_work() as db:
        in_t01 = db.scalar(select(func.count()).select_from(Child).where(
            Child.project_id == project, Child.village_code == "T01",
            Child.status == "active")) or 0
        everyone = db.scalar(select(func.count()).select_from(Child).where(
            Child.project_id == project, Child.status == "active")) or 0
    assert 0 < in_t01 < everyone
    dataset = f"/v1/projects/{project}/datasets/children"
    etag: dict[str, str] = {}

    def download(headers: dict[str, str], query: str = "") -> None:
        response = client.get(f"{dataset}/entities.csv{query}", headers=headers)
        assert response.status_code == 200
        etag["value"] = response.headers["ETag"]

    run_steps(commune.services, [
        Step("an officer of T01 downloads entities.csv", lambda: download(limited),
             "dataset.entity.export", lambda: limited_id, lambda: f"project:{project}",
             lambda: {"dataset": "children", "villages": ["T01"], "rows": in_t01,
                      "raw": False}),
        Step("the administrator asks for the raw bytes", lambda: download(
            commune.admin, "?raw=true"), "dataset.entity.export", lambda: admin_id,
             lambda: f"project:{project}",
             lambda: {"villages": None, "rows": everyone, "raw": True}),
        Step("an officer of T01 lists the entities", lambda: ok(client.get(
            f"{dataset}/entities", headers=limited)), "dataset.entity.list",
             lambda: limited_id, lambda: f"project:{project}",
             lambda: {"dataset": "children", "villages": ["T01"], "rows": in_t01}),
    ])
    # A revalidation that sends nothing leaves no row.
    mark = newest_id(commune.services)
    cached = client.get(f"{dataset}/entities.csv?raw=true", headers={
        **commune.admin, "If-None-Match": etag["value"]})
    assert cached.status_code == 304 and newest_id(commune.services) == mark


# --- the web pages --------------------------------------------------------------------------------


def test_the_pages_audit_what_the_api_audits(commune: Commune) -> None:
    client, project = commune.client, commune.project_id
    with commune.services.database.unit_of_work() as db:
        officer_id = create_user(db, "canbo@xa.test", PASSWORD).actor_id
        grant_project_role(db, project, officer_id, "cp_officer")
    sensitive, flagged = commune.child_in("T02", 0), commune.child_in("T01", 0)
    listed = commune.child_in("T04", 0)
    open_with_confidential_reason(commune, sensitive, "RISK")
    open_categories(commune, listed, ["HCDB-E"])
    open_categories(commune, flagged, ["HCDB-A"])
    queued_row(commune)
    with commune.services.database.unit_of_work() as db:
        row = db.scalars(select(MatchCandidate)).one()
        candidate, proposed = row.id, row.child_id
    csrf = web_login(client, "canbo@xa.test", PASSWORD)
    ui = f"/ui/p/{project}"
    flag = flag_of(commune, flagged)
    merged: dict[str, Any] = {}

    def form_post(path: str, data: dict[str, str] | None = None) -> None:
        ok(client.post(f"{ui}/{path}", data={"csrf": csrf, **(data or {})}), 303)

    def page(path: str) -> None:
        response = client.get(f"{ui}/{path}")
        assert response.status_code == 200
        assert csrf_of(response.get_data(as_text=True))

    def merge_then_unmerge() -> None:
        queue_row = ok(client.get(f"{commune.base}/review-queue/{candidate}",
                                  headers=commune.admin))
        merged["other"], merged["record"] = (queue_row["record"]["childId"],
                                             queue_row["record"]["id"])
        ok(client.post(f"{commune.base}/children/{proposed}/merge", headers=commune.admin,
                       json={"otherId": merged["other"]}))
        form_post(f"children/{proposed}/records/{merged['record']}/unmerge")

    run_steps(commune.services, [
        Step("open a child with a confidential reason", lambda: page(f"children/{sensitive}"),
             "registry.child.read_sensitive", lambda: officer_id, lambda: f"child:{sensitive}",
             lambda: {"projectId": project, "codes": ["RISK"], "via": "web"}),
        Step("list children showing a sensitive category", lambda: page(
            "children?category=HCDB-E"), "registry.children.read_sensitive",
             lambda: officer_id, lambda: f"project:{project}",
             lambda: {"projectId": project, "via": "web"},
             lambda details: details["children"][listed] == ["HCDB-E"] or pytest.fail(
                 str(details))),
        Step("decide on the queue page", lambda: form_post(
            f"review/{candidate}/decide", {"decision": "same"}), "registry.review.decide",
             lambda: officer_id, lambda: f"candidate:{candidate}",
             lambda: {"projectId": project, "decision": "same", "via": "web"}),
        Step("undo it", lambda: form_post(f"review/{candidate}/undo"), "registry.review.undo",
             lambda: officer_id, lambda: f"candidate:{candidate}",
             lambda: {"projectId": project, "via": "web"}),
        Step("acknowledge a flag", lambda: form_post(f"flags/{flag}/acknowledge"),
             "registry.flag.acknowledge", lambda: officer_id, lambda: f"flag:{flag}",
             lambda: {"projectId": project, "via": "web"}),
        Step("close it", lambda: form_post(f"flags/{flag}/close", {"reason": "đã hỗ trợ"}),
             "registry.flag.close", lambda: officer_id, lambda: f"flag:{flag}",
             lambda: {"projectId": project, "via": "web"}),
        Step("take a record out of a child", merge_then_unmerge, "registry.record.unmerge",
             lambda: officer_id, lambda: f"record:{merged['record']}",
             lambda: {"projectId": project, "from": proposed, "to": merged["other"],
                      "via": "web"}),
    ])


# --- the CLI --------------------------------------------------------------------------------------


def test_the_registry_commands_audit_their_files_and_imports(
        commune: Commune, database_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(commune.services.settings.data_dir))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", database_url)
    monkeypatch.setenv("DIEMTUA_SECRET_KEY", "test-secret")
    monkeypatch.setenv("USER", "canbo")
    monkeypatch.setenv("LOGNAME", "canbo")
    queued_row(commune)
    project = commune.project_id
    listing = tmp_path / "danh-sach.csv"
    listing.write_bytes(csv_bytes([{"record_id": "1", "village": "T01",
                                    "full_name": "Lò Văn Pọm"}]))
    cli = {"via": "cli", "systemUser": "canbo"}
    with commune.services.database.unit_of_work() as db:
        from server.models import ChildMembership, MatchKey

        records = db.scalar(select(func.count()).select_from(ChildMembership)) or 0
        keys = db.scalar(select(func.count()).select_from(MatchKey)) or 0

    def run(*args: str) -> None:
        result = CliRunner().invoke(main, ["registry", *args, "--project", str(project)])
        assert result.exit_code == 0, result.output

    run_steps(commune.services, [
        Step("registry links", lambda: run("links", "--out", str(tmp_path / "links.csv")),
             "registry.links.export", lambda: None, lambda: f"project:{project}",
             lambda: {**cli, "projectId": project, "rows": records, "raw": False,
                      "out": str(tmp_path / "links.csv")}),
        # The keys a record is stored under are recomputed unchanged.
        Step("registry rebuild-keys", lambda: run("rebuild-keys"), "registry.keys.rebuild",
             lambda: None, lambda: f"project:{project}",
             lambda: {**cli, "projectId": project, "records": records, "keysBefore": keys,
                      "keysAfter": keys}),
        Step("registry review-queue", lambda: run(
            "review-queue", "--raw", "--out", str(tmp_path / "queue.csv")),
             "registry.review_queue.export", lambda: None, lambda: f"project:{project}",
             lambda: {**cli, "rows": 1, "raw": True}),
        Step("registry import", lambda: run("import", str(listing)), "registry.import",
             lambda: None, lambda: f"project:{project}",
             lambda: {**cli, "source": "danh-sach"}),
    ])
    dry_mark = newest_id(commune.services)
    run("import", str(listing), "--dry-run")
    assert newest_id(commune.services) == dry_mark  # nothing saved, nothing to audit
