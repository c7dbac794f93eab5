"""A database or blob-store outage: 503 with Retry-After on every surface, nothing half-stored,
one log line per episode (`server.outages`), and /readyz saying which part failed."""

from __future__ import annotations

import dataclasses
import errno
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.exc import OperationalError as SAOperationalError

import server.storage.local as local_store
from server import create_app
from server.config import load_settings
from server.outages import DATABASE, OUTAGES, STORAGE, outage_of
from server.services import Services
from server.storage import StorageError
from server.storage.local import LocalBlobStore
from tests.conftest import World, new_instance_id
from tests.openrosa.checks import assert_created
from tests.openrosa.conftest import (  # noqa: F401 - fixtures
    Phone,
    app_with,
    snapshot,
    two_photos_phone,
    two_photos_xml,
)
from tests.openrosa.wire import response_message

TOKEN = "A" * 64
VI_NOTHING_SAVED = "chưa lưu gì"
EN_NOTHING_SAVED = "nothing was saved"


@pytest.fixture(autouse=True)
def fresh_outage_state() -> Iterator[None]:
    OUTAGES.reset()
    yield
    OUTAGES.reset()


def outage_records(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "server.outages" and r.levelno == level]


def dead_database_app(tmp_path: Path, url: str) -> FlaskClient:
    settings = load_settings({"DIEMTUA_DATA_DIR": str(tmp_path / "data"),
                              "DIEMTUA_DATABASE_URL": url, "DIEMTUA_SECRET_KEY": "test",
                              "DIEMTUA_RETRY_AFTER_SECONDS": "45"})
    return create_app({"services": Services.from_settings(settings), "TESTING": True}
                      ).test_client()


@pytest.mark.parametrize("url", [
    "postgresql://postgres@127.0.0.1:1/x",  # nothing listens on port 1: PostgreSQL stopped
    "sqlite:///{tmp}/no-such-folder/diemtua.sqlite3",  # unable to open database file
], ids=["postgresql-stopped", "sqlite-unopenable"])
def test_a_dead_database_answers_503_with_retry_after_on_every_surface(
        tmp_path: Path, url: str, caplog: pytest.LogCaptureFixture) -> None:
    client = dead_database_app(tmp_path, url.format(tmp=tmp_path))
    phone = Phone(client, 1, TOKEN)
    caplog.set_level(logging.INFO)

    for attempt in range(3):
        sent = phone.submit(two_photos_xml(new_instance_id(), "Hà Thị Một"),
                            {"front.jpg": b"front-bytes", "back.jpg": b"back-bytes"})
        assert sent.status_code == 503, attempt
        assert sent.headers["Retry-After"] == "45"
        assert sent.headers["Content-Type"] == "text/xml; charset=utf-8"
        assert sent.headers["X-OpenRosa-Version"] == "1.0"
        nature, text = response_message(sent.data)
        assert nature == "error"
        assert VI_NOTHING_SAVED in text and EN_NOTHING_SAVED in text

    api = client.get("/v1/projects", headers={"Authorization": f"Bearer {TOKEN}"})
    assert api.status_code == 503 and api.headers["Retry-After"] == "45"
    assert api.json == {"code": 503.2, "message": api.json["message"],
                        "details": {"unavailable": "database", "retryAfter": 45}}
    assert EN_NOTHING_SAVED in api.json["message"]

    client.set_cookie("session", TOKEN)
    for lang, words in (("vi", VI_NOTHING_SAVED), ("en", EN_NOTHING_SAVED)):
        page = client.get(f"/ui/projects/1/children?lang={lang}")
        assert page.status_code == 503 and page.headers["Retry-After"] == "45"
        assert page.mimetype == "text/html"
        assert words in page.get_data(as_text=True)

    # Eight failing requests, one warning, and no traceback anywhere in the log.
    warnings = outage_records(caplog, logging.WARNING)
    assert len(warnings) == 1 and warnings[0].getMessage().startswith("database unavailable")
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert blob_files_under(tmp_path / "data") == set()


def blob_files_under(folder: Path) -> set[str]:
    return {p.name for p in folder.rglob("*") if p.is_file() and p.name != "secret_key"}


def test_a_full_blob_disk_answers_503_stores_nothing_and_the_retry_completes(
        services: Services, two_photos_phone: Phone, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    instance_id = new_instance_id()
    xml = two_photos_xml(instance_id, "Lò Thị Hai")
    files = {"front.jpg": b"\xff\xd8 front photo", "back.jpg": b"\xff\xd8 back photo"}
    before = snapshot(services)

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patched:
        patched.setattr(local_store.os, "fsync", no_space)
        for _ in range(4):
            sent = two_photos_phone.submit(xml, files)
            assert sent.status_code == 503
            assert sent.headers["Retry-After"] == "60"
            nature, text = response_message(sent.data)
            assert nature == "error" and VI_NOTHING_SAVED in text
        ready = two_photos_phone.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json["checks"]["storage"] == "failed: StorageError"

    # No row, no blob file, no temporary file left behind.
    assert snapshot(services) == before
    warnings = outage_records(caplog, logging.WARNING)
    assert len(warnings) == 1 and warnings[0].getMessage().startswith("storage unavailable")
    assert "No space left on device" in warnings[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]

    assert_created(two_photos_phone.submit(xml, files))
    recovered = outage_records(caplog, logging.INFO)
    assert [r.getMessage().split(" after")[0] for r in recovered] == ["storage recovered"]


def test_an_s3_store_out_of_reach_is_a_storage_outage(services: Services,
                                                      two_photos_phone: Phone) -> None:  # noqa: F811
    class Unreachable(LocalBlobStore):
        def put(self, *args: object, **kwargs: object) -> None:
            try:
                raise EndpointConnectionError(endpoint_url="http://minio:9000/diemtua")
            except EndpointConnectionError as exc:
                raise StorageError("could not store blob in S3") from exc

    broken = create_app({"services": dataclasses.replace(
        services, store=Unreachable(services.settings.data_dir / "blobs")), "TESTING": True})
    before = snapshot(services)
    phone = dataclasses.replace(two_photos_phone, client=broken.test_client())
    sent = phone.submit(two_photos_xml(new_instance_id(), "Vi Văn Ba"),
                        {"front.jpg": b"f", "back.jpg": b"b"})
    assert sent.status_code == 503 and sent.headers["Retry-After"] == "60"
    assert snapshot(services) == before


def test_readiness_fails_below_the_free_space_floor_and_logs_it_once(
        services: Services, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    client = app_with(services, min_free_mb=10**12).test_client()
    for _ in range(3):
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json["checks"]["database"] == "ok"
        assert response.json["checks"]["storage"].startswith("failed: low free space (")
        assert "MB needed)" in response.json["checks"]["storage"]
    assert len(outage_records(caplog, logging.WARNING)) == 1

    assert app_with(services, min_free_mb=0).test_client().get("/readyz").status_code == 200
    assert len(outage_records(caplog, logging.INFO)) == 1


def test_readiness_names_the_dead_database(tmp_path: Path) -> None:
    client = dead_database_app(tmp_path, "postgresql://postgres@127.0.0.1:1/x")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"] == {"database": "failed: OperationalError", "storage": "ok"}


def test_a_committed_write_ends_a_database_episode(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    from server.operations.projects import create_project

    caplog.set_level(logging.INFO)
    OUTAGES.seen(DATABASE, OSError("connection refused"))
    with world.uow() as db:
        db.execute(text("SELECT 1"))  # a read proves nothing
    assert OUTAGES.is_down(DATABASE)
    with world.uow() as db:
        create_project(db, "Xã Tân Lập", commune_code="00002")
    assert not OUTAGES.is_down(DATABASE)
    assert [r.getMessage().split(" after")[0]
            for r in outage_records(caplog, logging.INFO)] == ["database recovered"]


def _sqlite_error(message: str, code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(("exc", "kind"), [
    (SAOperationalError("SELECT 1", {}, _sqlite_error("disk I/O error", 10)), DATABASE),
    (SAOperationalError("INSERT", {}, _sqlite_error("database or disk is full", 13)), DATABASE),
    (SAOperationalError("SELECT 1", {}, _sqlite_error("unable to open database file", 14)),
     DATABASE),
    (SAOperationalError("SELECT 1", {}, _sqlite_error("database is locked", 5)), None),
    (OSError(errno.EROFS, "Read-only file system"), STORAGE),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), STORAGE),
    (OSError(errno.EIO, "Input/output error"), STORAGE),
    (OSError(errno.ENOENT, "No such file"), None),
    (StorageError("blob abc is missing"), None),
    (IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE")), None),
    (ValueError("a bug"), None),
], ids=["sqlite-ioerr", "sqlite-full", "sqlite-cantopen", "sqlite-locked", "erofs", "edquot",
        "eio", "enoent", "missing-blob", "integrity", "bug"])
def test_which_errors_are_outages(exc: BaseException, kind: str | None) -> None:
    assert outage_of(exc) == kind


def test_postgresql_errors_with_a_statement_state_are_not_outages() -> None:
    import psycopg
    from psycopg import errors

    assert outage_of(psycopg.OperationalError("connection failed: Connection refused")) == DATABASE
    assert outage_of(errors.AdminShutdown("terminating connection")) == DATABASE
    assert outage_of(errors.DiskFull("could not extend file")) == DATABASE
    assert outage_of(errors.DeadlockDetected("deadlock detected")) is None
    assert outage_of(errors.QueryCanceled("statement timeout")) is None
