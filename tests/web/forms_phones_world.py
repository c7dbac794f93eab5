"""A commune for the forms and phones pages' tests: one database and app per test module, a new
commune (project) per test, people holding a role there (some limited to T01), signed in
through the sign-in form as a browser is, and the project's own XLSForms and `villages.csv`.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

import xlsforms
from server import create_app
from server.auth.principal import open_session
from server.context import WEB_SESSION_COOKIE
from server.models import Actor, AppUser, Audit
from server.operations.projects import create_project
from server.operations.users import create_user, grant_project_role
from server.registry.villages import fill_from_csv
from server.services import Services
from tests.conftest import module_services
from tests.web.conftest import PASSWORD

SCREENING = "household_screening"
FOLLOWUP = "child_followup"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
INSIDE, OUTSIDE = "T01", "T05"
_serial = itertools.count()


def xlsform(rows: list[tuple[str, ...]], form_id: str = "hong", version: str = "1") -> bytes:
    """A small XLSForm (type, name, label rows) saved with openpyxl, as a spreadsheet program."""
    book = Workbook()
    survey = book.active
    assert survey is not None
    survey.title = "survey"
    survey.append(("type", "name", "label"))
    for row in rows:
        survey.append(row)
    settings = book.create_sheet("settings")
    settings.append(("form_id", "version"))
    settings.append((form_id, version))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# A group opened on row 3 and never closed: pyxform refuses it.
UNCLOSED_GROUP = xlsform([("text", "ten", "Tên"), ("begin_group", "gia_dinh", "Gia đình")])


def file_field(data: bytes, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


@dataclass
class Person:
    """Someone signed in through the sign-in form, posting forms with the session's token."""

    client: FlaskClient
    csrf: str
    email: str
    token: str  # the session cookie's value

    def get_at(self, host_url: str, path: str) -> TestResponse:
        """`path` asked of the server at another address (the cookie sent along)."""
        return self.client.application.test_client(use_cookies=False).get(
            path, base_url=host_url, headers={"Cookie": f"{WEB_SESSION_COOKIE}={self.token}"})

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None) -> TestResponse:
        return self.client.post(path, data={"csrf": self.csrf, **(data or {})},
                                content_type="multipart/form-data")


@dataclass
class Commune:
    services: Services
    app: Flask
    project_id: int
    _people: dict[str, int] = field(default_factory=dict)

    def uow(self) -> AbstractContextManager[Session]:
        return self.services.database.unit_of_work()

    @property
    def ui(self) -> str:
        return f"/ui/p/{self.project_id}"

    def person(self, role: str | None, villages: list[str] | None = None, *,
               password: str | None = PASSWORD) -> str:
        """A web user holding `role` on the commune (limited to `villages`); their email."""
        email = f"{role or 'nobody'}-{next(_serial)}@xa-bieu-mau.test"
        with self.uow() as db:
            user = create_user(db, email, password, display_name=f"Cán bộ {role}")
            if role is not None:
                grant_project_role(db, self.project_id, user.actor_id,
                                   role).villages = list(villages or [])
            self._people[email] = user.actor_id
        return email

    def signed_in(self, role: str | None, villages: list[str] | None = None) -> Person:
        """A person with the session cookie the sign-in form sets (`tests.web.conftest.
        web_login` signs in through the form itself; a password hash per person would make
        these tests slow)."""
        email = self.person(role, villages, password=None)
        with self.uow() as db:
            session = open_session(db, db.get_one(Actor, self._people[email]), 24)
            token, csrf = session.token or "", session.csrf
        client = self.app.test_client()
        client.set_cookie(WEB_SESSION_COOKIE, token)
        return Person(client, csrf, email, token)

    def with_villages(self) -> None:
        """The commune's village list from the project's own `villages.csv` (T01 … T06)."""
        with self.uow() as db:
            fill_from_csv(db, self.project_id, xlsforms.VILLAGES_CSV.read_bytes())

    def audits(self, action: str) -> list[Audit]:
        with self.uow() as db:
            rows = list(db.scalars(select(Audit).where(Audit.action == action)
                                   .order_by(Audit.id)))
            db.expunge_all()
            return rows

    def app_user(self, actor_id: int) -> AppUser:
        with self.uow() as db:
            found = db.get_one(AppUser, actor_id)
            db.expunge_all()
            return found


def form_bytes(form_id: str) -> bytes:
    return xlsforms.form_path(form_id).read_bytes()


def villages_csv() -> bytes:
    return xlsforms.VILLAGES_CSV.read_bytes()


def form_path(form_id: str) -> Path:
    return xlsforms.form_path(form_id)


@pytest.fixture(scope="module", name="pages_app")
def pages_app_fixture(migrated_database: str, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[tuple[Services, Flask]]:
    with module_services(migrated_database, tmp_path_factory.mktemp("forms-phones")
                         ) as services:
        yield services, create_app({"services": services, "TESTING": True})


@pytest.fixture(name="commune")
def commune_fixture(pages_app: tuple[Services, Flask]) -> Commune:
    """A commune of its own for each test (the module's database is shared)."""
    services, app = pages_app
    with services.database.unit_of_work() as db:
        project_id = create_project(db, f"Xã Hoà Bình {next(_serial)}").id
    return Commune(services, app, project_id)
