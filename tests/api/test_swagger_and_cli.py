"""The API documents itself, and phones can be set up from the command line too."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from server.cli import main
from server.operations import qrcode
from tests.conftest import World


def test_swagger_lists_the_management_api(client: FlaskClient) -> None:
    spec = client.get("/v1/swagger.json")
    assert spec.status_code == 200
    paths = spec.json["paths"]
    for path in ("/sessions", "/users/current", "/projects/{project_id}",
                 "/projects/{project_id}/forms/{xml_form_id}/draft/publish",
                 "/projects/{project_id}/forms/{xml_form_id}/assignments/{role_id}/{actor_id}",
                 "/projects/{project_id}/app-users/{actor_id}/qr.png", "/roles"):
        assert path in paths, path
    assert client.get("/v1/docs").status_code == 200


@pytest.fixture
def cli_env(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    settings = world.services.settings
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DIEMTUA_SECRET_KEY", "test-secret")
    monkeypatch.setenv("DIEMTUA_PUBLIC_URL", "https://diemtua.xa-hoabinh.gov.vn")
    return world


def test_cli_creates_an_app_user_and_writes_its_qr_code(
    cli_env: World, client: FlaskClient, admin_headers: dict[str, str], tmp_path: Path
) -> None:
    runner = CliRunner()
    created = runner.invoke(main, ["app-user", "create", "--project", str(cli_env.project_id),
                                   "Trưởng thôn 1", "--village", "00001-T01"])
    assert created.exit_code == 0, created.output
    assert "https://diemtua.xa-hoabinh.gov.vn/v1/key/" in created.output
    listed = client.get(f"/v1/projects/{cli_env.project_id}/app-users",
                        headers=admin_headers).json
    assert [(a["displayName"], a["villages"]) for a in listed] == [
        ("Trưởng thôn 1", ["00001-T01"])]
    out = tmp_path / "phone.png"
    written = runner.invoke(main, ["app-user", "qr", str(listed[0]["id"]), "--out", str(out)])
    assert written.exit_code == 0, written.output
    settings = qrcode.collect_settings(
        qrcode.collect_url("https://diemtua.xa-hoabinh.gov.vn", listed[0]["token"],
                           cli_env.project_id), "Xã Hoà Bình", cli_env.project_id,
        username="Trưởng thôn 1")
    assert out.read_bytes() == qrcode.qr_png(qrcode.encode_settings(settings))


def test_cli_refuses_an_unknown_project_or_app_user(cli_env: World, tmp_path: Path) -> None:
    runner = CliRunner()
    unknown = runner.invoke(main, ["app-user", "create", "--project", "99", "Máy"])
    assert unknown.exit_code != 0
    assert "Could not find" in unknown.output
    missing = runner.invoke(main, ["app-user", "qr", "42", "--out", str(tmp_path / "x.png")])
    assert missing.exit_code != 0
    assert "no active app user" in missing.output


def test_http_errors_inside_the_api_keep_centrals_json_shape(
    app: Flask, client: FlaskClient, admin_headers: dict[str, str], world: World
) -> None:
    not_allowed = client.put("/v1/projects", headers=admin_headers)
    assert not_allowed.status_code == 405
    assert not_allowed.json["code"] == 405.0
    app.config["MAX_CONTENT_LENGTH"] = 2_000
    too_big = client.post(f"/v1/projects/{world.project_id}/forms", data=b"<x/>" * 1_000,
                          headers={**admin_headers, "Content-Type": "application/xml"})
    assert too_big.status_code == 413
    assert too_big.json["code"] == 413.1
    unknown = client.get("/v1/projects/1/nothing-here", headers=admin_headers)
    assert unknown.json["code"] == 404.1
