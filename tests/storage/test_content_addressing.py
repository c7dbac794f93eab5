"""store_blob keeps each distinct content once, in storage and in the database."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from server.models import Blob
from server.operations.blobs import store_blob
from server.services import Services
from server.storage.local import LocalBlobStore
from server.storage.s3 import S3BlobStore
from tests.storage.s3_server import object_keys

PHOTO = b"\xff\xd8\xff\xe0" + "Ảnh hộ gia đình ông Nguyễn Văn Bình".encode() * 50


@pytest.fixture(params=["local", "s3"])
def store_services(request: pytest.FixtureRequest) -> Services:
    name = "services" if request.param == "local" else "s3_services"
    svc: Services = request.getfixturevalue(name)
    return svc


def stored_objects(svc: Services, s3_client: Any) -> list[str]:
    store = svc.store
    if isinstance(store, S3BlobStore):
        return object_keys(s3_client, store.bucket)
    assert isinstance(store, LocalBlobStore)
    # Dot files are temporary (.incoming-*, .ready-*), never blobs.
    return [
        p.name for p in Path(store.root).rglob("*") if p.is_file() and not p.name.startswith(".")
    ]


def blob_rows(svc: Services) -> int:
    with svc.database.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(Blob)) or 0


def test_the_same_bytes_twice_make_one_object_and_one_row(
    store_services: Services, s3_client: Any
) -> None:
    svc = store_services
    with svc.database.unit_of_work() as session:
        first = store_blob(session, svc.store, PHOTO, "image/jpeg")
        again_same_request = store_blob(session, svc.store, io.BytesIO(PHOTO), "image/jpeg")
        first_id = first.id
    assert again_same_request.id == first_id
    with svc.database.unit_of_work() as session:
        # A later upload of the same photo, even announced with another type, is the same blob.
        later = store_blob(session, svc.store, io.BytesIO(PHOTO), "application/octet-stream")
        assert later.id == first_id
    assert blob_rows(svc) == 1
    assert len(stored_objects(svc, s3_client)) == 1
    assert svc.store.read(first.sha256) == PHOTO


def test_different_bytes_make_different_blobs(store_services: Services, s3_client: Any) -> None:
    svc = store_services
    with svc.database.unit_of_work() as session:
        one = store_blob(session, svc.store, PHOTO, "image/jpeg")
        two = store_blob(session, svc.store, PHOTO + b"\x00", "image/jpeg")
        assert one.id != two.id
    assert blob_rows(svc) == 2
    assert len(stored_objects(svc, s3_client)) == 2


def test_bytes_lost_from_storage_are_written_again_on_the_next_upload(
    store_services: Services, s3_client: Any
) -> None:
    svc = store_services
    with svc.database.unit_of_work() as session:
        sha256 = store_blob(session, svc.store, PHOTO, "image/jpeg").sha256
    store = svc.store
    if isinstance(store, S3BlobStore):
        s3_client.delete_object(Bucket=store.bucket, Key=f"blobs/{sha256[:2]}/{sha256}")
    else:
        assert isinstance(store, LocalBlobStore)
        next(Path(store.root).rglob(sha256)).unlink()
    assert not store.exists(sha256)

    with svc.database.unit_of_work() as session:
        store_blob(session, svc.store, PHOTO, "image/jpeg")
    assert store.read(sha256) == PHOTO
    assert blob_rows(svc) == 1
