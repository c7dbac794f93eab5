"""The pattern other test modules use to run on S3: override `services` with `s3_services`.

Every fixture built on `services` (`app`, `client`, `world`, `admin_headers`, `live_server`)
then talks to the moto bucket.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from server.operations.blobs import store_blob
from server.services import Services
from server.storage.s3 import S3BlobStore
from tests.conftest import World
from tests.storage.s3_server import object_keys


@pytest.fixture
def services(s3_services: Services) -> Services:
    return s3_services


def test_the_app_fixture_serves_from_s3(client: FlaskClient, services: Services) -> None:
    assert isinstance(services.store, S3BlobStore)
    assert client.get("/readyz").status_code == 200


def test_world_and_its_blobs_share_the_bucket(world: World, s3_client: Any) -> None:
    store = world.services.store
    assert isinstance(store, S3BlobStore)
    with world.uow() as session:
        blob = store_blob(session, store, "Biên bản họp thôn".encode(), "text/plain")
    assert object_keys(s3_client, store.bucket) == [f"blobs/{blob.sha256[:2]}/{blob.sha256}"]
