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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from server import create_app
from server.config import Settings, load_settings, normalise_database_url
from server.db import Base
from server.migrations import upgrade
from server.services import Services

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED / "fixtures" / "real-clients"
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


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(migrated_database: str, tmp_path: Path) -> Iterator[str]:
    if PG_URL:
        yield migrated_database
        _truncate_all(migrated_database)
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
