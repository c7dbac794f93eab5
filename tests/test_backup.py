"""Backups (README "Backups and restore"): `diemtua backup create`, `verify` and `restore`,
run as the README runs them, on the test's database (SQLite, or PostgreSQL with
DIEMTUA_TEST_DATABASE_URL) and restored into a new, empty deployment; every row of every
table and every stored file must come back."""

from __future__ import annotations

import hashlib
import os
import tarfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, func, select, text

from server.backup.sealed import MAGIC
from server.cli import main
from server.config import load_settings, normalise_database_url
from server.db import Base
from server.demo import load_demo
from server.models import Audit, Blob, Child
from server.registry.merge import merge_children
from server.services import Services
from server.storage import make_store
from tests.conftest import PG_URL, PNG_BYTES, Screening, new_instance_id, screening_xml

PASSPHRASE = "một câu dài khó đoán 2026"
Run = Callable[..., Result]


@dataclass
class Deployment:
    """The environment of one deployment, as an operator would export it."""

    database_url: str
    data_dir: Path

    def env(self) -> dict[str, str]:
        return {"DIEMTUA_DATABASE_URL": self.database_url, "DIEMTUA_DATA_DIR": str(self.data_dir),
                "DIEMTUA_SECRET_KEY": "test-secret"}

    def services(self) -> Services:
        return Services.from_settings(load_settings(self.env()))


def diemtua(deployment: Deployment, *args: object, **env: str) -> Result:
    """`diemtua ARGS` with the deployment's environment (and `env`) set."""
    runner = CliRunner()
    return runner.invoke(main, [str(arg) for arg in args], env={**deployment.env(), **env})


@pytest.fixture
def running(services: Services) -> Deployment:
    return Deployment(services.settings.database_url, services.settings.data_dir)


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Deployment]:
    with new_deployment(tmp_path) as deployment:
        yield deployment


@contextmanager
def new_deployment(tmp_path: Path) -> Iterator[Deployment]:
    """A new deployment: a database that does not hold a table yet, an empty data folder."""
    folder = tmp_path / "restored"
    folder.mkdir()
    if not PG_URL:
        yield Deployment(f"sqlite:///{folder / 'diemtua.sqlite3'}", folder / "data")
        return
    base = normalise_database_url(PG_URL).rpartition("/")[0]
    name = f"diemtua_backup_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield Deployment(f"{base}/{name}", folder / "data")
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def photos(services: Services, screening: Screening) -> Services:
    """Three submissions with a photo each (PNG_BYTES and one more byte: 0, 1, 2)."""
    for n in range(3):
        photo = f"nha-{n}.png"
        screening.submit(screening_xml(new_instance_id(), f"Hộ số {n}", photo=photo),
                         {photo: PNG_BYTES + bytes([n])})
    return services


@pytest.fixture
def filled(photos: Services, services: Services, screening: Screening) -> Services:
    """A commune with everything a backup must keep: submissions with photos, the synced
    registry's children, a reviewer's decision, audit rows."""
    load_demo(services, households=30, seed=7, sync_registry=True)
    with services.database.unit_of_work() as db:
        first, last = db.scalar(select(func.min(Child.id))), db.scalar(select(func.max(Child.id)))
        assert first and last and first != last, "the demo made no children"
        merge_children(db, first, last, screening.world.admin_id)  # a reviewer's merge
        db.add(Audit(actor_id=screening.world.admin_id, action="test.backup", actee=None,
                     details={"why": "a row the restore must bring back"}))
    return services


def every_row(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Each table's rows, in primary-key order (the alembic revision too)."""
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            rows = {table.name: [tuple(row) for row in connection.execute(
                        table.select().order_by(*table.primary_key.columns))]
                    for table in Base.metadata.sorted_tables}
            rows["alembic_version"] = [tuple(row) for row in connection.execute(
                text("SELECT version_num FROM alembic_version"))]
            return rows
    finally:
        engine.dispose()


def assert_same_files(deployment: Deployment, blobs: list[tuple[str, int]]) -> None:
    store = make_store(load_settings(deployment.env()))
    for sha256, size in blobs:
        data = store.read(sha256)
        assert (hashlib.sha256(data).hexdigest(), len(data)) == (sha256, size)


def stored_blobs(services: Services) -> list[tuple[str, int]]:
    with services.database.sessions() as db:
        return [(sha, size) for sha, size in db.execute(select(Blob.sha256, Blob.size))]


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_a_backup_restores_every_row_and_file_into_an_empty_deployment(
        filled: Services, running: Deployment, empty: Deployment, tmp_path: Path,
        encrypted: bool) -> None:
    archive = tmp_path / "diemtua-backup.tar"
    secret = {"DIEMTUA_BACKUP_PASSPHRASE": PASSPHRASE} if encrypted else {}
    option = ["--passphrase-env", "DIEMTUA_BACKUP_PASSPHRASE"] if encrypted else []

    before = every_row(running.database_url)
    made = diemtua(running, "backup", "create", "--out", archive, *option, **secret)
    assert made.exit_code == 0, made.output
    assert archive.read_bytes().startswith(MAGIC) is encrypted
    checked = diemtua(empty, "backup", "verify", archive, *option, **secret)
    assert checked.exit_code == 0, checked.output
    restored = diemtua(empty, "backup", "restore", archive, *option, **secret)
    assert restored.exit_code == 0, restored.output

    after = every_row(empty.database_url)
    restore_audit = [row for row in after["audits"] if "backup.restore" in row]
    assert len(restore_audit) == 1
    after["audits"].remove(restore_audit[0])
    for table in ("submissions", "submission_attachments", "children", "child_records",
                  "link_edges", "audits", "blobs"):
        assert before[table], f"the filled deployment has no {table} to compare"
    assert after == before
    assert_same_files(empty, stored_blobs(filled))


def test_an_encrypted_backup_needs_its_passphrase(
        photos: Services, running: Deployment, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar"
    diemtua(running, "backup", "create", "--out", archive,
            "--passphrase-env", "PASS", PASS=PASSPHRASE)

    without = diemtua(running, "backup", "verify", archive)
    wrong = diemtua(running, "backup", "verify", archive, "--passphrase-env", "PASS",
                    PASS="not the passphrase at all")

    assert without.exit_code == 1 and "encrypted" in without.output
    assert wrong.exit_code == 1 and "wrong passphrase" in wrong.output
    assert PASSPHRASE.encode() not in archive.read_bytes()


def _flip_byte_of(archive: Path, needle: bytes) -> None:
    data = bytearray(archive.read_bytes())
    at = data.index(needle)
    data[at] ^= 0xFF
    archive.write_bytes(bytes(data))


def test_verify_finds_a_changed_file_and_restore_then_changes_nothing(
        photos: Services, running: Deployment, empty: Deployment, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar"
    assert diemtua(running, "backup", "create", "--out", archive).exit_code == 0
    _flip_byte_of(archive, PNG_BYTES + b"\x01")

    checked = diemtua(empty, "backup", "verify", archive)
    restored = diemtua(empty, "backup", "restore", archive)

    photo = hashlib.sha256(PNG_BYTES + b"\x01").hexdigest()
    assert checked.exit_code == 1 and f"blobs/{photo} does not match" in checked.output
    assert restored.exit_code == 1 and "nothing was restored" in restored.output
    engine = create_engine(normalise_database_url(empty.database_url))
    with engine.connect() as connection:
        assert "submissions" not in connection.dialect.get_table_names(connection)
    engine.dispose()


@pytest.mark.parametrize("cut", ["plain", "encrypted"])
def test_verify_finds_a_backup_cut_short(photos: Services, running: Deployment,
                                         tmp_path: Path, cut: str) -> None:
    archive = tmp_path / "b.tar"
    option = ["--passphrase-env", "PASS"] if cut == "encrypted" else []
    diemtua(running, "backup", "create", "--out", archive, *option, PASS=PASSPHRASE)
    archive.write_bytes(archive.read_bytes()[:archive.stat().st_size // 2])

    checked = diemtua(running, "backup", "verify", archive, *option, PASS=PASSPHRASE)

    assert checked.exit_code == 1, checked.output


def test_restore_refuses_a_database_that_holds_data(
        photos: Services, running: Deployment, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar"
    diemtua(running, "backup", "create", "--out", archive)
    with photos.database.sessions() as db:
        rows = db.scalar(select(func.count()).select_from(Audit))

    refused = diemtua(running, "backup", "restore", archive)

    assert refused.exit_code == 1 and "not empty" in refused.output
    with photos.database.sessions() as db:
        assert db.scalar(select(func.count()).select_from(Audit)) == rows


def test_the_archive_is_a_tar_with_its_manifest_last(
        photos: Services, running: Deployment, tmp_path: Path) -> None:
    import json

    archive = tmp_path / "b.tar"
    diemtua(running, "backup", "create", "--out", archive)

    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert names[0] in ("database.sqlite3", "database.pgdump") and names[-1] == "manifest.json"
    assert sorted(b["sha256"] for b in manifest["blobs"]) == sorted(
        sha for sha, _ in stored_blobs(photos))
    assert manifest["rowCounts"]["submissions"] > 0 and manifest["alembicRevision"]
    assert oct(archive.stat().st_mode & 0o777) == "0o600"


def revision_of(database_url: str) -> str | None:
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT version_num FROM alembic_version"))
    finally:
        engine.dispose()


def test_a_backup_of_an_older_schema_comes_back_upgraded(
        running: Deployment, empty: Deployment, tmp_path: Path) -> None:
    from server.migrations import current_heads, downgrade, upgrade

    archive = tmp_path / "b.tar"
    downgrade(running.database_url, "-1")
    try:
        older = revision_of(running.database_url)
        assert diemtua(running, "backup", "create", "--out", archive).exit_code == 0
    finally:
        upgrade(running.database_url)  # the PostgreSQL run shares this database

    restored = diemtua(empty, "backup", "restore", archive)

    assert restored.exit_code == 0, restored.output
    assert older not in current_heads(empty.database_url)
    assert [revision_of(empty.database_url)] == current_heads(empty.database_url)


def test_restore_with_force_replaces_what_the_database_holds(
        photos: Services, running: Deployment, tmp_path: Path) -> None:
    archive = tmp_path / "b.tar"
    before = every_row(running.database_url)
    diemtua(running, "backup", "create", "--out", archive)
    with photos.database.unit_of_work() as db:
        db.add(Audit(actor_id=None, action="test.after_backup", actee=None, details={}))

    replaced = diemtua(running, "backup", "restore", archive, "--force")

    assert replaced.exit_code == 0, replaced.output
    after = every_row(running.database_url)
    assert [row for row in after["audits"] if "backup.restore" not in row] == before["audits"]
