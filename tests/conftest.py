"""Fixtures shared by every test: a real database per test (SQLite, or PostgreSQL when
DIEMTUA_TEST_DATABASE_URL is set), real blob storage on disk, the app, and people to act.

SQLite: one migrated template file per run, copied for each test (fast, fully isolated).
PostgreSQL: one freshly migrated database per run, every table truncated after each test.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text
from werkzeug.serving import make_server

from server import create_app
from server.config import Settings, load_settings, normalise_database_url
from server.db import Base
from server.migrations import upgrade
from server.services import Services

# Data captured from real ODK clients (tests/fixtures/real-clients/README.md): inside the
# repository, so a clone runs its tests with nothing beside it.
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "real-clients"
ADMIN_PASSWORD = "Mật khẩu quản trị 2026"
PG_URL = os.environ.get("DIEMTUA_TEST_DATABASE_URL")


def _pg_database(url: str) -> str:
    """Create a fresh database for this run next to the one named in the URL."""
    url = normalise_database_url(url)
    base, _, _name = url.rpartition("/")
    run_name = f"diemtua_test_{os.getpid()}"
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{run_name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{run_name}"'))
    admin.dispose()
    return f"{base}/{run_name}"


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if PG_URL:
        url = _pg_database(PG_URL)
        upgrade(url)
        yield url
        base = url.rpartition("/")[0]
        admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" '
                                    "WITH (FORCE)"))
        admin.dispose()
    else:
        template = tmp_path_factory.mktemp("template") / "template.sqlite3"
        upgrade(f"sqlite:///{template}")
        yield str(template)


def _empty_all_tables(url: str) -> None:
    """Empty every table and restart every sequence, as a fresh migrated database would be.

    DELETE, children first, rather than TRUNCATE: on the few rows a test leaves it takes about
    1 ms where TRUNCATE of every table takes about 60 ms (new files for each), which over the
    suite is minutes of CI."""
    engine = create_engine(url)
    with engine.begin() as connection:
        # forms and form_defs point at each other: foreign-key triggers are off for this
        # transaction (the tests' user, postgres, may do that).
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
        sequences = connection.execute(text(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences"
        )).scalars().all()
        if sequences:
            connection.execute(select(*(func.setval(name, 1, False) for name in sequences)))
    engine.dispose()


@contextmanager
def module_services(migrated_database: str, folder: Path) -> Iterator[Services]:
    """Services on a database of a test module's own, for module-scoped fixtures that build a
    commune once (SQLite: a copy of the migrated template; PostgreSQL: the run's database,
    emptied afterwards), with storage on disk in `folder`."""
    if PG_URL:
        url = migrated_database
    else:
        shutil.copyfile(migrated_database, folder / "diemtua.sqlite3")
        url = f"sqlite:///{folder / 'diemtua.sqlite3'}"
    services = Services.from_settings(load_settings({
        "DIEMTUA_DATA_DIR": str(folder / "data"), "DIEMTUA_DATABASE_URL": url,
        "DIEMTUA_SECRET_KEY": "test-secret", "DIEMTUA_WORKERS": "1"}))
    try:
        yield services
    finally:
        services.database.dispose()
        if PG_URL:
            _empty_all_tables(url)


@pytest.fixture
def database_url(migrated_database: str, tmp_path: Path) -> Iterator[str]:
    if PG_URL:
        yield migrated_database
        _empty_all_tables(migrated_database)
    else:
        copy = tmp_path / "diemtua.sqlite3"
        shutil.copyfile(migrated_database, copy)
        yield f"sqlite:///{copy}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    env = {"DIEMTUA_DATA_DIR": str(tmp_path / "data"), "DIEMTUA_DATABASE_URL": database_url,
           "DIEMTUA_SECRET_KEY": "test-secret", "DIEMTUA_WORKERS": "1"}
    return load_settings(env)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    svc = Services.from_settings(settings)
    yield svc
    svc.database.dispose()


@pytest.fixture
def app(services: Services) -> Flask:
    return create_app({"services": services, "TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class World:
    """The people and places most tests need, built through the real operations."""

    services: Services
    admin_id: int
    admin_email: str
    project_id: int

    def uow(self) -> Any:
        return self.services.database.unit_of_work()


@pytest.fixture
def world(services: Services) -> World:
    from server.operations.projects import create_project
    from server.operations.users import create_user

    with services.database.unit_of_work() as session:
        admin = create_user(session, "admin@diemtua.test", ADMIN_PASSWORD, role="admin",
                            display_name="Quản trị viên")
        project = create_project(session, "Xã Hoà Bình", commune_code="00001")
        ids = admin.actor_id, project.id
    return World(services=services, admin_id=ids[0], admin_email="admin@diemtua.test",
                 project_id=ids[1])


@pytest.fixture
def admin_headers(client: FlaskClient, world: World) -> dict[str, str]:
    response = client.post("/v1/sessions", json={"email": world.admin_email,
                                                 "password": ADMIN_PASSWORD})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": f"Bearer {response.json['token']}"}


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The app on a real loopback port, for real HTTP clients (pyodk, requests, Chromium)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app)
    server.shutdown()
    thread.join(timeout=5)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def new_instance_id() -> str:
    return f"uuid:{uuid.uuid4()}"


# S3 over real HTTP (moto server): `s3_endpoint`, `s3_settings`, `s3_services`, `s3_app`,
# `s3_client`; see tests/storage/s3_server.py.
pytest_plugins = ["tests.storage.s3_server"]


# --- Submissions and exports (tests/api/test_submissions*.py, tests/exports/) ---------------
# Forms, people and submissions built through the real operations; the admin logs in with
# `admin_headers` (POST /v1/sessions), other people get a session row from `open_session`.

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SCREENING_VERSION = "2026112801"


@dataclass
class Screening:
    """The published child_screening form and the people who act on it."""

    world: World
    form_id: int
    project_id: int
    xml_form_id: str = "child_screening"

    @property
    def base(self) -> str:
        return f"/v1/projects/{self.project_id}/forms/{self.xml_form_id}"

    def headers_for(self, actor_id: int) -> dict[str, str]:
        from server.auth.principal import open_session
        from server.models import Actor

        with self.world.uow() as db:
            actor = db.get(Actor, actor_id)
            assert actor is not None
            token = open_session(db, actor, 24).token
        return {"Authorization": f"Bearer {token}"}

    def user(self, email: str, role: str | None, project_id: int | None = None,
             display_name: str | None = None) -> int:
        """A web user holding `role` on the project (None: no role at all); its actor id."""
        from server.operations.users import create_user, grant_project_role

        with self.world.uow() as db:
            user = create_user(db, email, "Mật khẩu dài 2026", display_name=display_name)
            if role is not None:
                grant_project_role(db, project_id or self.project_id, user.actor_id, role)
            return user.actor_id

    def app_user(self, name: str = "Điện thoại thôn 1") -> tuple[int, str]:
        """An app user assigned to the form: (actor id, token)."""
        from server.models import FormAssignment
        from server.operations.users import create_app_user

        with self.world.uow() as db:
            app_user = create_app_user(db, self.project_id, name)
            db.add(FormAssignment(form_id=self.form_id, actor_id=app_user.actor_id))
            assert app_user.token is not None
            return app_user.actor_id, app_user.token

    def submit(self, xml: bytes | str, files: dict[str, bytes] | None = None,
               submitter_id: int | None = None, device_id: str | None = None) -> str:
        """Receive a submission as a phone's POST would; its instanceID."""
        import io

        from server.models import Form
        from server.operations.submissions import (
            IncomingFile,
            SubmissionContext,
            receive_submission,
        )
        from sync.instance import parse_instance

        data = xml.encode("utf-8") if isinstance(xml, str) else xml
        incoming = {name: IncomingFile(io.BytesIO(body), "image/png")
                    for name, body in (files or {}).items()}
        with self.world.uow() as db:
            form = db.get(Form, self.form_id)
            assert form is not None
            received = receive_submission(
                db, self.world.services.store, form, parse_instance(data), data, incoming,
                SubmissionContext(submitter_id, device_id, "test-suite/1.0"))
            return received.submission.instance_id


def screening_xml(instance_id: str, household_head: str,
                  children: tuple[tuple[str, int, str], ...] = (),
                  photo: str | None = None, location: str = "21.0285 105.8542 12.0 5.0",
                  deprecated_id: str | None = None, version: str = SCREENING_VERSION) -> str:
    """A child_screening instance as Collect writes it, with Vietnamese names."""
    from xml.sax.saxutils import escape

    kids = "".join(
        f"<child><child_name>{escape(name)}</child_name><child_age>{age}</child_age>"
        f"<orphan>{orphan}</orphan><child_label>{escape(name)} ({age})</child_label>"
        f'<meta><entity dataset="children" create="1" id="{uuid.uuid4()}">'
        f"<label>{escape(name)} ({age})</label></entity></meta></child>"
        for name, age, orphan in children)
    deprecated = f"<deprecatedID>{deprecated_id}</deprecatedID>" if deprecated_id else ""
    return (
        f'<data id="child_screening" version="{version}">'
        "<start>2026-11-28T23:50:59.714+07</start><end>2026-11-28T23:52:00.000+07</end>"
        f"<household_head>{escape(household_head)}</household_head>"
        f"<visit_date>2026-11-20</visit_date><village>thon1</village>"
        f"<location>{location}</location><house_photo>{photo or ''}</house_photo>"
        f"<num_children>{len(children)}</num_children>{kids}"
        f"<child_count>{len(children)}</child_count><summary/>"
        f"<meta>{deprecated}<instanceID>{instance_id}</instanceID>"
        f"<instanceName>{escape(household_head)} 2026-11-20</instanceName></meta></data>"
    )


@pytest.fixture
def screening(world: World) -> Screening:
    from server.operations.forms import create_form

    with world.uow() as db:
        form = create_form(db, world.services.store, world.project_id,
                           fixture_bytes("child_screening.xlsx"), XLSX_TYPE, publish=True,
                           ignore_warnings=True)
        form_id = form.id
    return Screening(world=world, form_id=form_id, project_id=world.project_id)


@pytest.fixture
def admin_bearer(screening: Screening) -> dict[str, str]:
    """The site admin's bearer token (a session row, as `POST /v1/sessions` makes)."""
    return screening.headers_for(screening.world.admin_id)


PNG_BYTES = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
             b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01"
             b"\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
