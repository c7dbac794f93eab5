"""The audit log: `GET /v1/audits` as ODK Central serves it, `diemtua audit export`, and a
database that refuses to change or delete a row once written — on SQLite and PostgreSQL.

Rows of a known moment are added through the model, as every writer adds them; the log is read
back over HTTP (a real port for the access check) and through the CLI as an operator runs it.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from server.cli import main
from server.models import Actor, Audit
from server.operations.users import create_app_user
from tests.api.conftest import Person, upload, xform
from tests.conftest import ADMIN_PASSWORD, LiveServer, World

WINDOW = {"start": "2020-03-01", "end": "2020-03-31"}


def add(world: World, action: str, at: datetime, actee: str | None = None,
        details: dict[str, Any] | None = None, actor_id: int | None = None) -> int:
    with world.uow() as db:
        row = Audit(actor_id=actor_id, action=action, actee=actee, details=details,
                    logged_at=at)
        db.add(row)
        db.flush()
        return row.id


def read(client: FlaskClient, headers: dict[str, str], **query: str) -> list[dict[str, Any]]:
    response = client.get("/v1/audits", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert isinstance(response.json, list)
    return response.json


def actions(rows: list[dict[str, Any]]) -> list[str]:
    return [row["action"] for row in rows]


# --- GET /v1/audits -------------------------------------------------------------------------


def test_only_site_administrators_read_the_audit_log(
        live_server: LiveServer, world: World, person: Callable[..., Person]) -> None:
    url = f"{live_server.url}/v1/audits"
    anonymous = requests.get(url, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == 401.2
    manager = person("quanly@xa.test", "manager")
    refused = requests.get(url, headers=manager.headers, timeout=10)
    assert refused.status_code == 403 and refused.json()["code"] == 403.1
    with world.uow() as db:
        phone = create_app_user(db, world.project_id, "Điện thoại thôn 1", ["T01"])
        token = phone.token
    by_phone = requests.get(f"{live_server.url}/v1/key/{token}/audits", timeout=10)
    assert by_phone.status_code == 403
    session = requests.post(f"{live_server.url}/v1/sessions", timeout=10,
                            json={"email": world.admin_email, "password": ADMIN_PASSWORD})
    admin = {"Authorization": f"Bearer {session.json()['token']}"}
    answer = requests.get(url, headers=admin, timeout=10)
    assert answer.status_code == 200
    assert "user.session.create" in actions(answer.json())


def test_rows_come_newest_first_in_centrals_shape(
        client: FlaskClient, world: World, admin_headers: dict[str, str]) -> None:
    add(world, "project.update", datetime(2020, 3, 2, 8), f"project:{world.project_id}",
        {"data": {"name": "Xã Hoà Bình"}}, world.admin_id)
    second = add(world, "user.create", datetime(2020, 3, 5, 9, 30, 15, 250000), "actor:99",
                 {"data": {"email": "lan@xa.test"}}, world.admin_id)
    same_moment = add(world, "user.delete", datetime(2020, 3, 5, 9, 30, 15, 250000),
                      "actor:99", None, world.admin_id)
    assert same_moment > second
    rows = read(client, admin_headers, **WINDOW)
    assert actions(rows) == ["user.delete", "user.create", "project.update"]
    assert rows[1] == {"actorId": world.admin_id, "action": "user.create",
                       "acteeId": "actor:99", "details": {"data": {"email": "lan@xa.test"}},
                       "loggedAt": "2020-03-05T09:30:15.250Z"}
    assert rows[0]["details"] is None


def test_start_and_end_are_inclusive_and_an_end_date_covers_its_whole_day(
        client: FlaskClient, world: World, admin_headers: dict[str, str]) -> None:
    add(world, "form.create", datetime(2020, 2, 29, 23, 59, 59))
    add(world, "form.update", datetime(2020, 3, 1, 0, 0))
    add(world, "form.delete", datetime(2020, 3, 31, 23, 59, 59, 999000))
    add(world, "form.restore", datetime(2020, 4, 1, 0, 0))
    assert actions(read(client, admin_headers, **WINDOW)) == ["form.delete", "form.update"]
    assert actions(read(client, admin_headers, start="2020-03-01T00:00:00Z",
                        end="2020-03-31T23:59:59.999Z")) == ["form.delete", "form.update"]
    # 07:00 in Hà Nội is midnight UTC: a zone moves the bound.
    assert actions(read(client, admin_headers, start="2020-03-01T06:59:59+07:00",
                        end="2020-03-01T07:00:00+07:00")) == ["form.update", "form.create"]
    assert actions(read(client, admin_headers, start="2020-03-01z", end="2020-03-01z")) == [
        "form.update"]
    assert actions(read(client, admin_headers, end="2020-02-29")) == ["form.create"]
    assert "form.restore" not in actions(read(client, admin_headers, end="2020-03-31"))


def test_a_bound_that_is_not_an_iso_date_is_refused(
        client: FlaskClient, admin_headers: dict[str, str]) -> None:
    for query in ({"start": "yesterday"}, {"end": "31/03/2020"}):
        response = client.get("/v1/audits", headers=admin_headers, query_string=query)
        assert response.status_code == 400 and response.json["code"] == 400.8
    bad_limit = client.get("/v1/audits?limit=-1", headers=admin_headers)
    assert bad_limit.status_code == 400


def test_the_action_filter_takes_one_action_or_centrals_groups_and_ours(
        client: FlaskClient, world: World, admin_headers: dict[str, str]) -> None:
    at = datetime(2020, 3, 10)
    for action in ("user.create", "user.session.create", "user.assignment.create",
                   "field_key.create", "field_key.session.end", "project.update",
                   "form.update.publish", "form.submission.export", "submission.create",
                   "submission.update", "dataset.entity.export", "registry.review.decide",
                   "registry.child.read_sensitive", "registry.links.export", "audit.export"):
        add(world, action, at)

    def filtered(action: str) -> set[str]:
        return set(actions(read(client, admin_headers, action=action, **WINDOW)))

    assert filtered("project.update") == {"project.update"}
    assert filtered("user") == {"user.create", "user.session.create", "user.assignment.create"}
    assert filtered("field_key") == {"field_key.create", "field_key.session.end"}
    assert filtered("form") == {"form.update.publish", "form.submission.export"}
    assert filtered("submission") == {"submission.create", "submission.update"}
    assert filtered("dataset") == {"dataset.entity.export"}
    assert filtered("registry") == {"registry.review.decide", "registry.child.read_sensitive",
                                    "registry.links.export"}
    assert filtered("export") == {"form.submission.export", "dataset.entity.export",
                                  "registry.links.export", "audit.export"}
    nonverbose = filtered("nonverbose")
    assert "submission.create" not in nonverbose and "submission.update" not in nonverbose
    assert {"user.create", "registry.review.decide", "audit.export"} <= nonverbose
    assert filtered("registry.%") == set()  # a pattern is no group: nothing matches


def test_limit_and_offset_page_the_log(client: FlaskClient, world: World,
                                       admin_headers: dict[str, str]) -> None:
    for day in range(1, 8):
        add(world, "project.update", datetime(2020, 3, day), details={"day": day})
    days = [row["details"]["day"] for row in read(client, admin_headers, limit="3",
                                                  offset="2", **WINDOW)]
    assert days == [5, 4, 3]
    assert len(read(client, admin_headers, **WINDOW)) == 7  # no limit: every row, as Central


def test_extended_metadata_adds_the_actor_and_the_actee_but_never_a_childs_name(
        client: FlaskClient, world: World, admin_headers: dict[str, str]) -> None:
    upload(client, admin_headers, world.project_id, xform())
    add(world, "project.update", datetime(2020, 3, 3), f"project:{world.project_id}",
        actor_id=world.admin_id)
    add(world, "registry.child.read_sensitive", datetime(2020, 3, 4),
        "child:6f1c3a52-0a36-4c1e-9a53-8d1b2b0e7c11", {"codes": ["HCDB-L"]}, world.admin_id)
    add(world, "user.update", datetime(2020, 3, 5), f"actor:{world.admin_id}", None, None)
    headers = {**admin_headers, "X-Extended-Metadata": "true"}
    rows = {row["action"]: row for row in read(client, headers, **WINDOW)}
    assert rows["project.update"]["actor"]["displayName"] == "Quản trị viên"
    assert rows["project.update"]["actee"]["name"] == "Xã Hoà Bình"
    child = rows["registry.child.read_sensitive"]
    assert child["actee"] == {"id": "child:6f1c3a52-0a36-4c1e-9a53-8d1b2b0e7c11",
                              "species": "child"}
    assert rows["user.update"]["actor"] is None
    assert rows["user.update"]["actee"]["id"] == world.admin_id
    (created,) = read(client, headers, action="form.create")
    assert created["actee"]["xmlFormId"] == "household"
    assert created["actee"]["name"] == "Hộ gia đình"
    assert created["acteeId"].startswith("form:")
    plain = read(client, admin_headers, action="form.create")[0]
    assert "actor" not in plain and "actee" not in plain


def test_the_audit_log_shows_in_swagger(client: FlaskClient) -> None:
    paths = client.get("/v1/swagger.json").json["paths"]
    documented = {param["name"] for param in paths["/audits"]["get"]["parameters"]}
    assert {"action", "start", "end", "limit", "offset"} <= documented


# --- the database refuses to change the log ----------------------------------------------------


def test_the_database_refuses_to_update_or_delete_an_audit_row(world: World) -> None:
    row_id = add(world, "user.create", datetime(2020, 3, 1), "actor:5", {"data": {}})
    attempts = (update(Audit).where(Audit.id == row_id).values(action="nothing.happened"),
                update(Audit).values(details=None),
                delete(Audit).where(Audit.id == row_id),
                delete(Audit),
                text("DELETE FROM audits"))
    for statement in attempts:
        with pytest.raises(DBAPIError, match="append-only"), world.uow() as db:
            db.execute(statement)
    with world.uow() as db:
        db.delete(db.get_one(Audit, row_id))
        with pytest.raises(DBAPIError, match="append-only"):
            db.flush()
        db.rollback()
    with world.uow() as db:
        kept = db.get_one(Audit, row_id)
        assert (kept.action, kept.details) == ("user.create", {"data": {}})
        # Appending still works.
        db.add(Audit(action="user.update", actee="actor:5"))
    with world.uow() as db:
        assert db.scalar(select(Audit.action).order_by(Audit.id.desc()).limit(1)) == \
            "user.update"


# --- diemtua audit export ------------------------------------------------------------------------


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(tmp_path / "cli-data"))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", database_url)
    monkeypatch.setenv("DIEMTUA_SECRET_KEY", "test-secret")
    return tmp_path


def ledger(world: World) -> None:
    """March 2020 and the moments just outside it; a project name typed as a formula."""
    add(world, "user.create", datetime(2020, 2, 29, 23, 0), "actor:7", actor_id=world.admin_id)
    add(world, "project.update", datetime(2020, 3, 1, 0, 0), f"project:{world.project_id}",
        {"data": {"name": "=HYPERLINK(\"http://evil.example\",\"Xã\")"}}, world.admin_id)
    add(world, "registry.review.decide", datetime(2020, 3, 15, 12), "candidate:3",
        {"decision": "same", "projectId": world.project_id}, world.admin_id)
    add(world, "field_key.create", datetime(2020, 3, 31, 23, 59), "actor:8",
        {"villages": ["T01"]}, None)
    add(world, "form.update", datetime(2020, 4, 1, 0, 0), "form:1", None, world.admin_id)


def test_cli_export_writes_the_period_as_csv_oldest_first_and_formula_safe(
        cli_env: Path, world: World) -> None:
    ledger(world)
    out = cli_env / "audit-2020-03.csv"
    result = CliRunner().invoke(main, ["audit", "export", "--since", "2020-03-01",
                                       "--until", "2020-03-31", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote 3 audit rows to {out}" in result.output
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["action"] for row in rows] == ["project.update", "registry.review.decide",
                                               "field_key.create"]
    first = rows[0]
    assert first["loggedAt"] == "2020-03-01T00:00:00.000Z"
    assert first["actorId"] == str(world.admin_id) and first["actor"] == "Quản trị viên"
    assert first["details"].startswith('{"data"')
    assert rows[2]["actorId"] == "" and rows[2]["acteeId"] == "actor:8"
    assert json.loads(rows[1]["details"]) == {"decision": "same", "projectId": world.project_id}
    assert not out.with_name(f".{out.name}.partial").exists()


def test_cli_export_as_json_lines_with_an_action_group(cli_env: Path, world: World) -> None:
    ledger(world)
    out = cli_env / "registry.jsonl"
    result = CliRunner().invoke(main, ["audit", "export", "--since", "2020-01-01",
                                       "--action", "registry", "--out", str(out)])
    assert result.exit_code == 0, result.output
    (line,) = out.read_text(encoding="utf-8").splitlines()
    row = json.loads(line)
    assert row["action"] == "registry.review.decide" and row["acteeId"] == "candidate:3"
    assert row["actor"] == "Quản trị viên" and row["loggedAt"] == "2020-03-15T12:00:00.000Z"


def test_a_formula_typed_into_the_log_stays_text_in_the_csv(cli_env: Path,
                                                             world: World) -> None:
    with world.uow() as db:
        db.get_one(Actor, world.admin_id).display_name = "=cmd|' /C calc'!A0"
    add(world, "user.update", datetime(2020, 3, 3), "actor:1", {"x": 1}, world.admin_id)
    out = cli_env / "a.csv"
    assert CliRunner().invoke(main, ["audit", "export", "--since", "2020-03-03", "--until",
                                     "2020-03-03", "--out", str(out)]).exit_code == 0
    with out.open(encoding="utf-8", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["actor"] == "'=cmd|' /C calc'!A0"


def test_exporting_the_audit_log_is_itself_audited(cli_env: Path, world: World,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ledger(world)
    monkeypatch.setenv("USER", "quantri")
    monkeypatch.setenv("LOGNAME", "quantri")
    out = cli_env / "march.csv"
    assert CliRunner().invoke(main, ["audit", "export", "--since", "2020-03-01", "--until",
                                     "2020-03-31", "--out", str(out)]).exit_code == 0
    with world.uow() as db:
        (row,) = db.scalars(select(Audit).where(Audit.action == "audit.export")).all()
        assert row.actor_id is None and row.actee is None
        assert row.details == {"since": "2020-03-01", "until": "2020-03-31", "action": None,
                               "rows": 3, "format": "csv", "out": str(out.resolve()),
                               "via": "cli", "systemUser": "quantri"}


def test_cli_export_refuses_an_unknown_extension_or_date_and_writes_nothing(
        cli_env: Path, world: World) -> None:
    runner = CliRunner()
    odd = runner.invoke(main, ["audit", "export", "--since", "2020-03-01",
                               "--out", str(cli_env / "log.xlsx")])
    assert odd.exit_code == 2 and ".csv, .jsonl or .ndjson" in odd.output
    bad = runner.invoke(main, ["audit", "export", "--since", "March",
                               "--out", str(cli_env / "log.csv")])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output
    nowhere = runner.invoke(main, ["audit", "export", "--since", "2020-03-01",
                                   "--out", str(cli_env / "missing" / "log.csv")])
    assert nowhere.exit_code == 2 and "no folder" in nowhere.output
    assert not (cli_env / "log.csv").exists() and not (cli_env / "log.xlsx").exists()
    with world.uow() as db:
        assert db.scalars(select(Audit).where(Audit.action == "audit.export")).all() == []
