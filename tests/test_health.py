from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient


def test_liveness_answers_without_touching_anything(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_readiness_checks_database_and_storage(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "storage": "ok"}


def test_readiness_fails_with_503_when_storage_is_unusable(
    client: FlaskClient, app: Flask, tmp_path: Path
) -> None:
    # A folder cannot be made under a regular file, even by root.
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    app.extensions["diemtua"].store.root = blocker / "blobs"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["storage"] == "failed: StorageError"


def test_readiness_fails_when_the_database_is_not_migrated(
    app: Flask, client: FlaskClient
) -> None:
    from sqlalchemy import text

    engine = app.extensions["diemtua"].database.engine
    with engine.begin() as connection:
        head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        connection.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    try:
        response = client.get("/readyz")
    finally:
        # PostgreSQL runs share one database per run: put the schema's revision back.
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = :head"),
                               {"head": head})
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "not migrated"
