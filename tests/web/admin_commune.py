"""A commune for the administration pages' tests (accounts, people and roles, imports), built
once per test module through the same functions users call: a site administrator, a commune
with the villages of the project's own `villages.csv` (T01 Thôn Đông …), a second commune, and
people with a role, some limited to T01. The registry starts empty; imports fill it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

import xlsforms
from server import create_app
from server.models import Audit, Child, ProjectRole, User
from server.operations.projects import create_project
from server.operations.users import create_user, grant_project_role
from server.registry.villages import fill_from_csv
from server.services import Services
from tests.conftest import LiveServer, module_services
from tests.web.conftest import PASSWORD, csrf_of

ADMIN_EMAIL = "quantri@xa-thu.test"
INSIDE, OUTSIDE = "T01", "T05"


@dataclass
class AdminCommune:
    services: Services
    app: Flask
    project_id: int
    other_project_id: int
    _serial: Iterator[int] = field(default_factory=itertools.count)

    def uow(self) -> AbstractContextManager[Session]:
        return self.services.database.unit_of_work()

    def email(self, prefix: str) -> str:
        return f"{prefix}-{next(self._serial)}@xa-thu.test"

    def person(self, role: str | None, villages: list[str] | None = None, *,
               name: str = "Cán bộ xã") -> str:
        """A web user (password `PASSWORD`) holding `role` on the commune; their email."""
        email = self.email(role or "nobody")
        with self.uow() as db:
            user = create_user(db, email, PASSWORD, display_name=name)
            if role is not None:
                grant_project_role(db, self.project_id, user.actor_id,
                                   role).villages = list(villages or [])
        return email

    def actor_id(self, email: str) -> int:
        with self.uow() as db:
            return db.scalars(select(User.actor_id).where(User.email == email)).one()

    def roles(self, email: str) -> dict[str, list[str]]:
        """The person's roles on the commune → their villages."""
        with self.uow() as db:
            return {row.role: list(row.villages or []) for row in db.scalars(
                select(ProjectRole).join(User, User.actor_id == ProjectRole.actor_id).where(
                    User.email == email, ProjectRole.project_id == self.project_id))}

    def audits(self, action: str) -> list[Audit]:
        with self.uow() as db:
            return list(db.scalars(select(Audit).where(Audit.action == action)
                                   .order_by(Audit.id)))

    def children(self) -> dict[str, Child]:
        """The commune's registry children by name."""
        with self.uow() as db:
            found = db.scalars(select(Child).where(Child.project_id == self.project_id))
            return {child.full_name: child for child in found}

    def signed_in(self, email: str, password: str = PASSWORD) -> tuple[FlaskClient, str]:
        """A browser of its own, signed in through the form; its CSRF token."""
        client = self.app.test_client()
        form = client.get("/ui/login")
        response = client.post("/ui/login", data={
            "email": email, "password": password,
            "csrf": csrf_of(form.get_data(as_text=True))})
        assert response.status_code == 303, response.get_data(as_text=True)[:300]
        page = client.get("/ui/projects").get_data(as_text=True)
        return client, csrf_of(page)


@contextmanager
def admin_commune(migrated_database: str, folder: Path) -> Iterator[AdminCommune]:
    with module_services(migrated_database, folder) as services:
        with services.database.unit_of_work() as db:
            create_user(db, ADMIN_EMAIL, PASSWORD, role="admin", display_name="Quản trị viên")
            project = create_project(db, "Xã Thử Nghiệm", commune_code="00001")
            fill_from_csv(db, project.id, xlsforms.VILLAGES_CSV.read_bytes())
            other = create_project(db, "Xã Bên Cạnh", commune_code="00002")
            ids = project.id, other.id
        app = create_app({"services": services, "TESTING": True})
        yield AdminCommune(services, app, *ids)


@contextmanager
def serving(app: Flask) -> Iterator[LiveServer]:
    """The app on a real loopback port for the module (`tests.conftest.live_server` is per
    test)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=5)
