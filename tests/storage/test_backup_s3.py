"""Backups and lost files with blobs in S3 (moto over real HTTP): the archive carries the
objects themselves, so it restores into a new bucket; a lost object is a JSON 404, not a
redirect to S3's own error."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from server.cli import main
from server.config import Settings
from server.services import Services
from tests.conftest import PNG_BYTES, Screening, new_instance_id, screening_xml
from tests.storage.s3_server import object_keys, s3_env
from tests.test_backup import Deployment, every_row, new_deployment


@pytest.fixture
def services(s3_services: Services) -> Services:
    return s3_services


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Deployment]:
    with new_deployment(tmp_path) as deployment:
        yield deployment


@pytest.fixture
def photo(screening: Screening) -> tuple[str, str]:
    instance_id = new_instance_id()
    screening.submit(screening_xml(instance_id, "Hộ S3", photo="nha.png"),
                     {"nha.png": PNG_BYTES})
    return instance_id, hashlib.sha256(PNG_BYTES).hexdigest()


def test_a_backup_of_a_bucket_restores_into_a_new_bucket(
        services: Services, s3_endpoint: str, s3_client: Any, photo: tuple[str, str],
        empty: Deployment, tmp_path: Path) -> None:
    source: Settings = services.settings
    archive = tmp_path / "b.tar"
    runner = CliRunner()
    before = every_row(source.database_url)
    made = runner.invoke(main, ["backup", "create", "--out", str(archive)],
                         env=s3_env(source, s3_endpoint, source.s3.bucket))
    assert made.exit_code == 0, made.output
    target_env = {**s3_env(source, s3_endpoint, "diemtua-restored-" + photo[1][:8]),
                  **empty.env()}

    restored = runner.invoke(main, ["backup", "restore", str(archive)], env=target_env)

    assert restored.exit_code == 0, restored.output
    after = every_row(empty.database_url)
    assert [row for row in after["audits"] if "backup.restore" not in row] == before["audits"]
    assert {table: rows for table, rows in after.items() if table != "audits"} == {
        table: rows for table, rows in before.items() if table != "audits"}
    key = f"blobs/{photo[1][:2]}/{photo[1]}"
    assert key in object_keys(s3_client, target_env["S3_BUCKET_NAME"])
    body = s3_client.get_object(Bucket=target_env["S3_BUCKET_NAME"], Key=key)["Body"].read()
    assert body == PNG_BYTES


def test_a_lost_object_is_a_json_404_and_not_listed_as_existing(
        client: FlaskClient, services: Services, s3_client: Any, screening: Screening,
        photo: tuple[str, str], admin_headers: dict[str, str]) -> None:
    instance_id, sha256 = photo
    s3_client.delete_object(Bucket=services.settings.s3.bucket, Key=f"blobs/{sha256[:2]}/{sha256}")
    base = f"{screening.base}/submissions/{instance_id}/attachments"

    download = client.get(f"{base}/nha.png", headers=admin_headers)
    listed = client.get(base, headers=admin_headers)

    assert download.status_code == 404 and download.is_json
    assert listed.json == [{"name": "nha.png", "exists": False}]
