"""At least one site administrator always remains (docs/access.md, "Site administrators").

Without one, nobody could create accounts, give roles or reset passwords but the operator at
the server's console. An administrator may not delete its own account, and the last
administrator is neither deleted nor demoted — through `DELETE /v1/users/{id}` or
`DELETE /v1/assignments/admin/{id}` — and a refusal changes nothing and audits nothing. Two
administrators deleting each other at the same moment leave one (the rows are locked, so the
second is judged after the first). On SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from server.models import Audit
from server.operations.users import (
    SiteAdministratorNeeded,
    delete_user,
    get_user,
    site_admin_ids,
)
from tests.api.conftest import Person
from tests.conftest import World


def audit_count(world: World) -> int:
    with world.uow() as session:
        return int(session.scalar(select(func.count()).select_from(Audit)) or 0)


def admins(world: World) -> list[int]:
    with world.uow() as session:
        return site_admin_ids(session)


def make_admin(client: FlaskClient, admin_headers: dict[str, str], who: Person) -> None:
    response = client.post(f"/v1/assignments/admin/{who.id}", headers=admin_headers)
    assert response.status_code == 200, response.get_data(as_text=True)


def refused(response: TestResponse, reason: str) -> None:
    assert response.status_code == 409, response.get_data(as_text=True)
    assert response.json["code"] == 409.42
    assert response.json["details"]["reason"] == reason
    assert "site administrator" in response.json["message"]


def test_an_administrator_cannot_delete_its_own_account(
        client: FlaskClient, world: World, admin_headers: dict[str, str],
        person: Callable[..., Person]) -> None:
    before = audit_count(world)
    refused(client.delete(f"/v1/users/{world.admin_id}", headers=admin_headers), "own_account")
    assert audit_count(world) == before
    # Not even when another administrator remains: that one may do it.
    other = person("hai@diemtua.test")
    make_admin(client, admin_headers, other)
    before = audit_count(world)
    refused(client.delete(f"/v1/users/{world.admin_id}", headers=admin_headers), "own_account")
    assert audit_count(world) == before
    assert client.get("/v1/users/current", headers=admin_headers).status_code == 200
    assert admins(world) == [world.admin_id, other.id]


def test_the_last_administrator_cannot_be_demoted_and_nothing_is_audited(
        client: FlaskClient, world: World, admin_headers: dict[str, str]) -> None:
    before = audit_count(world)
    for role in ("admin", "1"):
        refused(client.delete(f"/v1/assignments/{role}/{world.admin_id}",
                              headers=admin_headers), "last_admin")
    assert audit_count(world) == before
    assert admins(world) == [world.admin_id]
    listed = client.get("/v1/assignments/admin", headers=admin_headers).json
    assert [actor["id"] for actor in listed] == [world.admin_id]


def test_with_two_administrators_one_deletes_the_other_then_is_the_last(
        client: FlaskClient, world: World, admin_headers: dict[str, str],
        person: Callable[..., Person]) -> None:
    other = person("hai@diemtua.test")
    make_admin(client, admin_headers, other)
    assert client.delete(f"/v1/users/{other.id}", headers=admin_headers).status_code == 200
    assert admins(world) == [world.admin_id]
    with world.uow() as session:
        deleted = session.scalars(select(Audit.actee).where(Audit.action == "user.delete"))
        assert list(deleted) == [f"actor:{other.id}"]
    refused(client.delete(f"/v1/assignments/admin/{world.admin_id}", headers=admin_headers),
            "last_admin")


def test_an_administrator_may_give_up_its_role_while_another_remains(
        client: FlaskClient, world: World, admin_headers: dict[str, str],
        person: Callable[..., Person]) -> None:
    other = person("hai@diemtua.test")
    make_admin(client, admin_headers, other)
    assert client.delete(f"/v1/assignments/admin/{world.admin_id}",
                         headers=admin_headers).status_code == 200
    assert admins(world) == [other.id]
    refused(client.delete(f"/v1/assignments/admin/{other.id}", headers=other.headers),
            "last_admin")
    refused(client.delete(f"/v1/users/{other.id}", headers=other.headers), "own_account")
    assert admins(world) == [other.id]


def test_the_operator_cannot_delete_the_last_administrator_either(world: World) -> None:
    """The command line acts with no actor (`by=None`); the same rule holds."""
    with pytest.raises(SiteAdministratorNeeded) as caught, world.uow() as session:
        delete_user(session, get_user(session, world.admin_id), by=None)
    assert caught.value.reason == "last_admin"
    assert admins(world) == [world.admin_id]


def test_two_administrators_deleting_each_other_at_once_leave_one(
        client: FlaskClient, world: World, admin_headers: dict[str, str],
        person: Callable[..., Person]) -> None:
    """Two units of work, as two requests would hold: the first deletes the second
    administrator and has not committed yet when the second tries to delete the first. The
    second waits for the first's lock (PostgreSQL `FOR UPDATE`, SQLite's single writer), then
    sees one administrator left and is refused."""
    other = person("hai@diemtua.test")
    make_admin(client, admin_headers, other)
    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            with world.uow() as session:
                delete_user(session, get_user(session, world.admin_id), by=other.id)
            outcome.append(None)
        except BaseException as exc:  # reported to the test's thread
            outcome.append(exc)

    racer = threading.Thread(target=second)
    with world.uow() as session:
        delete_user(session, get_user(session, other.id), by=world.admin_id)
        racer.start()
        racer.join(timeout=1.5)  # without the lock it would finish (and commit) meanwhile
        assert outcome == [], "the second deletion went ahead before the first committed"
    racer.join(timeout=30)
    assert not racer.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], SiteAdministratorNeeded)
    assert outcome[0].reason == "last_admin"
    assert admins(world) == [world.admin_id]
