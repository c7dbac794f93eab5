"""S3 over real HTTP for any test: moto's S3 server on a loopback port, one bucket per test.

Loaded for the whole suite by `pytest_plugins` in tests/conftest.py. Fixtures:

* `s3_endpoint` – URL of the moto server (one per test session, started in a thread).
* `s3_settings` – the test's `settings`, read again through `load_settings` with Central's
  `S3_*` variables added, and a bucket of its own that does not exist yet.
* `s3_services`, `s3_app`, `s3_client` – Services / app on that bucket, and a plain boto3
  client to look inside the bucket from outside the code under test.

To run a whole module on S3 (so `app`, `client`, `world`, `admin_headers` use it), override
`services` there::

    @pytest.fixture
    def services(s3_services: Services) -> Services:
        return s3_services

No boto3 call is mocked: requests go through botocore's HTTP stack to moto's server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.client import Config
from flask import Flask
from moto.server import ThreadedMotoServer

from server import create_app
from server.config import Settings, load_settings
from server.services import Services

S3_ACCESS_KEY = "diemtua-test"
S3_SECRET_KEY = "diemtua-test-secret"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    # Port 0: the kernel picks a free port, so parallel runs on one machine never collide.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def s3_env(settings: Settings, endpoint: str, bucket: str) -> dict[str, str]:
    """The environment an operator would write for `settings` stored in `bucket` at `endpoint`."""
    return {
        "DIEMTUA_DATA_DIR": str(settings.data_dir),
        "DIEMTUA_DATABASE_URL": settings.database_url,
        "DIEMTUA_SECRET_KEY": settings.secret_key,
        "DIEMTUA_WORKERS": str(settings.workers),
        "S3_SERVER": endpoint,
        "S3_ACCESS_KEY": S3_ACCESS_KEY,
        "S3_SECRET_KEY": S3_SECRET_KEY,
        "S3_BUCKET_NAME": bucket,
    }


@pytest.fixture
def s3_settings(settings: Settings, s3_endpoint: str) -> Settings:
    # A fresh bucket per test isolates tests without resetting the shared server.
    bucket = f"diemtua-test-{uuid.uuid4().hex[:16]}"
    return load_settings(s3_env(settings, s3_endpoint, bucket))


@pytest.fixture
def s3_services(s3_settings: Settings) -> Iterator[Services]:
    svc = Services.from_settings(s3_settings)
    yield svc
    svc.database.dispose()


@pytest.fixture
def s3_app(s3_services: Services) -> Flask:
    return create_app({"services": s3_services, "TESTING": True})


@pytest.fixture
def s3_client(s3_endpoint: str) -> Any:
    """boto3 client independent of the store under test, for looking inside buckets."""
    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name="us-east-1",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def object_keys(client: Any, bucket: str) -> list[str]:
    """Every key in `bucket` (test buckets stay far below one listing page)."""
    listing = client.list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listing.get("Contents", [])]
