"""/readyz with S3 storage: the storage check follows the S3 endpoint."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from flask import Flask

from server import create_app
from server.config import Settings, load_settings
from server.services import Services
from tests.storage.s3_server import s3_env


def test_ready_when_s3_answers(s3_app: Flask) -> None:
    response = s3_app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "checks": {"database": "ok", "storage": "ok"}}


@pytest.fixture
def app_with_dead_s3(settings: Settings) -> Iterator[Flask]:
    """The app as an operator would start it, with S3_SERVER naming a port nobody answers on."""
    with socket.socket() as sock:
        # Bound, never listening: the port refuses connections and stays ours.
        sock.bind(("127.0.0.1", 0))
        dead_endpoint = f"http://127.0.0.1:{sock.getsockname()[1]}"
        env = s3_env(settings, dead_endpoint, "diemtua")
        services = Services.from_settings(load_settings(env))
        yield create_app({"services": services, "TESTING": True})
        services.database.dispose()


def test_not_ready_when_s3_is_down_and_says_only_which_check_failed(
    app_with_dead_s3: Flask,
) -> None:
    started = time.monotonic()
    response = app_with_dead_s3.test_client().get("/readyz")
    # The store's default retries are for uploads; the readiness probe must not wait on them.
    assert time.monotonic() - started < 3
    assert response.status_code == 503
    assert response.json == {
        "status": "unavailable",
        "checks": {"database": "ok", "storage": "failed: StorageError"},
    }
    # Names only: no endpoint, bucket or credential reaches an anonymous caller.
    assert "127.0.0.1" not in response.get_data(as_text=True)
