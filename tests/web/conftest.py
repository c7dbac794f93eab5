"""The demo commune's registry and the people who review it, for the page tests.

The registry is synthetic households sent through the phones' ingest path and synced; a pair
waits in the review queue because one household was visited again with a child's given name
changed; flags are raised by opening categories as a follow-up visit would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from server.db import utcnow
from server.demo import DEMO_PROJECT
from server.models import Child, Flag, MatchCandidate, Project
from server.models.registry import ChildStatus
from server.operations.users import create_user, grant_project_role
from server.registry import categories
from server.registry.child_code import format_code
from server.registry.sync import sync_pending
from server.services import Services
from sync.instance import parse_instance
from tests.conftest import World
from tests.registry.helpers import (
    children_of,
    consented_xml,
    find,
    household_of,
    load_households,
    submit_variant,
)

PASSWORD = "mật khẩu trạm y tế 2026"
HOUSEHOLDS = 8
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Registry:
    services: Services
    project_id: int
    candidate_id: int  # the review-queue row
    original: str  # the child the row proposes
    newcomer: str  # the child the re-report made

    def person(self, role: str, villages: list[str] | None = None) -> str:
        """A web user holding `role` on the demo commune (limited to `villages`); its email."""
        email = f"{role}.{'-'.join(villages or ['all'])}@tram-y-te.test".lower()
        with self.services.database.unit_of_work() as db:
            user = create_user(db, email, PASSWORD, display_name=f"Cán bộ {role}")
            grant = grant_project_role(db, self.project_id, user.actor_id, role)
            grant.villages = list(villages or [])
        return email

    def flag_on(self, child_id: str, code: str) -> int:
        """Open `code` on the child as a follow-up visit naming it would; the flag's id."""
        with self.services.database.unit_of_work() as db:
            raised = categories.apply_codes(db, child_id, [code], source="test", by="sync",
                                            now=utcnow())
            return next(flag.id for flag in raised if flag.code == code)

    def child_in(self, village: str) -> str:
        with self.services.database.unit_of_work() as db:
            return db.scalars(select(Child.id).where(
                Child.project_id == self.project_id, Child.village_code == village,
                Child.status == ChildStatus.ACTIVE.value).order_by(Child.id)).first() or ""

    def any_child(self) -> str:
        return self.child_in(self.villages_with_children()[0])

    def villages_with_children(self) -> list[str]:
        with self.services.database.unit_of_work() as db:
            return list(db.scalars(select(Child.village_code).where(
                Child.project_id == self.project_id, Child.status == ChildStatus.ACTIVE.value)
                .distinct().order_by(Child.village_code)))

    def candidate_status(self) -> str:
        with self.services.database.unit_of_work() as db:
            return db.get_one(MatchCandidate, self.candidate_id).status

    def child_status(self, child_id: str) -> tuple[str, str | None]:
        with self.services.database.unit_of_work() as db:
            child = db.get_one(Child, child_id)
            return child.status, child.merged_into

    def code_of(self, child_id: str) -> str:
        """The code people read for the child (`server.registry.child_code`)."""
        with self.services.database.unit_of_work() as db:
            return format_code(db.get_one(Child, child_id).number)

    def flag_status(self, flag_id: int) -> str:
        with self.services.database.unit_of_work() as db:
            return db.get_one(Flag, flag_id).status


def _renamed(root: Element) -> None:
    """A re-report where the first child's given name differs: the matcher asks a person."""
    household = household_of(root)
    first, *rest = find(household, "child")
    for child in rest:
        household.remove(child)
    for node in find(first, "c_full_name"):
        node.text = " ".join([*(node.text or "").split()[:-1], "Hậu"])


@pytest.fixture
def registry(services: Services, world: World) -> Registry:
    load_households(services, HOUSEHOLDS)
    sync_pending(services.database.sessions)
    xml = consented_xml(services)
    original = children_of(services, parse_instance(xml.encode()).instance_id)[0]
    again = submit_variant(services, xml, _renamed)
    assert sync_pending(services.database.sessions).queued == 1
    newcomer = children_of(services, again)[0]
    with services.database.unit_of_work() as db:
        project_id = db.scalars(select(Project.id).where(Project.name == DEMO_PROJECT)).one()
        row = db.scalars(select(MatchCandidate)).one()
        assert row.child_id == original != newcomer
        candidate_id = row.id
    return Registry(services, project_id, candidate_id, original, newcomer)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def web_login(client: FlaskClient, email: str, password: str = PASSWORD) -> str:
    """Sign in through the form, as a browser does; the session's CSRF token."""
    form = client.get("/ui/login")
    response = client.post("/ui/login", data={"email": email, "password": password,
                                              "csrf": csrf_of(form.get_data(as_text=True))})
    assert response.status_code == 303, response.get_data(as_text=True)
    return csrf_of(client.get("/ui/", follow_redirects=True).get_data(as_text=True))
