"""`diemtua --version`, `user list | reset-password`, `project list | role add | remove | list`:
what an operator needs to run a commune from the command line, through the operations the API
uses (so the API sees what the command did), each change audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import click
from flask.testing import FlaskClient
from sqlalchemy import select

from server.cli import main
from server.migrations import current_heads
from server.models import Audit
from tests.cli.conftest import Run
from tests.conftest import ADMIN_PASSWORD, World

OFFICER = "can.bo@xa-hoabinh.vn"
PASSWORD = "Cầu tre xanh mát bên sông Đà 2026"
NEW_PASSWORD = "Đồng lúa chín vàng ven đê 2027"


def cli_audits(world: World, action: str) -> list[Audit]:
    with world.uow() as db:
        rows = list(db.scalars(select(Audit).where(Audit.action == action)
                               .order_by(Audit.id)))
        db.expunge_all()
    return [row for row in rows if (row.details or {}).get("via") == "cli"]


def officer(cli: Run) -> None:
    made = cli("user", "create", OFFICER, "--name", "Cán bộ Lan", "--password-stdin",
               input=f"{PASSWORD}\n")
    assert made.exit_code == 0, made.output


def test_version_names_the_package_and_the_databases_schema(world: World, cli: Run) -> None:
    result = cli("--version")
    assert result.exit_code == 0, result.output
    (head,) = current_heads(world.services.settings.database_url)
    assert result.output.strip() == (f"diemtua {version('diemtua')} "
                                     f"(database schema {head}, up to date)")


def test_every_option_of_every_command_says_what_it_is_for() -> None:
    def commands(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
        yield path, command
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from commands(sub, f"{path} {name}")

    silent = [f"{path} {option.opts[0]}" for path, command in commands(main, "diemtua")
              for option in command.params
              if isinstance(option, click.Option) and not (option.help or "").strip()]
    assert silent == []


def test_user_list_shows_site_admins_and_project_roles_with_their_villages(
        commune: World, cli: Run) -> None:
    officer(cli)
    p = commune.project_id
    assert cli("project", "role", "add", "--project", p, "--user", OFFICER,
               "--role", "cp_officer", "--villages", "T01, T02").exit_code == 0
    assert cli("project", "role", "add", "--project", p, "--user", OFFICER,
               "--role", "viewer").exit_code == 0
    table = cli("user", "list")
    assert table.exit_code == 0, table.output
    header, *rows = table.output.splitlines()
    assert header.split() == ["id", "email", "name", "site", "project:role[villages]"]
    admin_row = next(row for row in rows if commune.admin_email in row)
    officer_row = next(row for row in rows if OFFICER in row)
    assert "Quản trị viên" in admin_row and " admin" in admin_row
    assert "Cán bộ Lan" in officer_row and " admin" not in officer_row
    assert officer_row.endswith(f"{p}:cp_officer[T01,T02]; {p}:viewer[*]")

    listed = json.loads(cli("user", "list", "--json").output)
    by_email = {user["email"]: user for user in listed}
    assert by_email[commune.admin_email]["siteAdmin"] is True
    assert by_email[commune.admin_email]["roles"] == []
    assert by_email[OFFICER]["siteAdmin"] is False
    assert by_email[OFFICER]["displayName"] == "Cán bộ Lan"
    assert by_email[OFFICER]["roles"] == [
        {"projectId": p, "project": "Xã Hoà Bình", "role": "cp_officer",
         "villages": ["T01", "T02"]},
        {"projectId": p, "project": "Xã Hoà Bình", "role": "viewer", "villages": []}]


def test_resetting_a_password_keeps_the_strength_rule_ends_sessions_and_is_audited(
        world: World, cli: Run, client: FlaskClient) -> None:
    officer(cli)
    signed_in = client.post("/v1/sessions", json={"email": OFFICER, "password": PASSWORD})
    assert signed_in.status_code == 200
    bearer = {"Authorization": f"Bearer {signed_in.json['token']}"}  # type: ignore[index]

    weak = cli("user", "reset-password", OFFICER, "--password-stdin", input="matkhau2026\n")
    assert weak.exit_code == 1 and "Mật khẩu quá dễ đoán" in weak.output
    assert client.get("/v1/users/current", headers=bearer).status_code == 200  # nothing changed

    reset = cli("user", "reset-password", OFFICER.upper(), "--password-stdin",
                input=f"{NEW_PASSWORD}\n")
    assert reset.exit_code == 0, reset.output
    assert "1 phiên đăng nhập đã kết thúc" in reset.output
    assert client.get("/v1/users/current", headers=bearer).status_code == 401
    for password, status in ((PASSWORD, 401), (NEW_PASSWORD, 200)):
        again = client.post("/v1/sessions", json={"email": OFFICER, "password": password})
        assert again.status_code == status
    (row,) = cli_audits(world, "user.update")
    assert row.actee == f"actor:{_actor_id(world, OFFICER)}"
    assert row.details["data"] == {"password": "reset"} and row.details["sessionsEnded"] == 1
    assert NEW_PASSWORD not in json.dumps(row.details, ensure_ascii=False)

    unknown = cli("user", "reset-password", "khong.co@xa.vn", "--password-stdin",
                  input=f"{NEW_PASSWORD}\n")
    assert unknown.exit_code == 1 and "Could not find" in unknown.output


def _actor_id(world: World, email: str) -> int:
    from server.operations.users import user_by_email

    with world.uow() as db:
        return user_by_email(db, email).actor_id


def test_a_role_and_its_villages_are_checked_with_the_lists_to_choose_from(
        commune: World, cli: Run, client: FlaskClient, admin_headers: dict[str, str]) -> None:
    officer(cli)
    p = commune.project_id
    add = ("project", "role", "add", "--project", p, "--user", OFFICER)

    unknown_role = cli(*add, "--role", "officer")
    assert unknown_role.exit_code == 1
    message = unknown_role.output
    assert message.startswith("Error: Không có vai trò 'officer'; các vai trò trong dự án: "
                               "manager, viewer, formfill, cp_officer, health_reviewer, "
                               "commune_leader.")
    assert "(Unexpected role value: unknown role 'officer'" in message

    typo = cli(*add, "--role", "cp_officer", "--villages", "T01,thon1")
    assert typo.exit_code == 1
    assert typo.output.startswith("Error: Mã thôn không có trong xã: thon1. Các thôn của xã: "
                                  "T01 (Thôn Đông), T02 (Thôn Đoài), T03 (Thôn Trung), "
                                  "T04 (Thôn Tân Lập), T05 (Thôn Phú Mỹ), "
                                  "T06 (Tổ dân phố Hòa Bình).")
    assert "the commune's villages are T01, T02, T03, T04, T05, T06" in typo.output
    assert json.loads(cli("project", "role", "list", "--project", p, "--json").output) == []

    added = cli(*add, "--role", "cp_officer", "--villages", "T01,T03")
    assert added.exit_code == 0, added.output
    twice = cli(*add, "--role", "cp_officer")
    assert twice.exit_code == 1 and "already holds the cp_officer role" in twice.output
    # The API reads what the command granted: one rule, one table.
    rows = client.get(f"/v1/projects/{p}/assignments", headers=admin_headers).json
    actor = _actor_id(commune, OFFICER)
    assert {"actorId": actor, "roleId": 101, "villages": ["T01", "T03"]} in rows
    listed = cli("project", "role", "list", "--project", p)
    assert listed.output.splitlines()[1].split() == [OFFICER, "Cán", "bộ", "Lan", "cp_officer",
                                                     "T01,T03"]
    (granted,) = cli_audits(commune, "user.assignment.create")
    assert granted.actee == f"actor:{actor}"
    assert granted.details["villages"] == ["T01", "T03"]
    assert granted.details["acteeId"] == f"project:{p}"

    removed = cli("project", "role", "remove", "--project", p, "--user", OFFICER,
                  "--role", "cp_officer")
    assert removed.exit_code == 0, removed.output
    assert json.loads(cli("project", "role", "list", "--project", p, "--json").output) == []
    (taken,) = cli_audits(commune, "user.assignment.delete")
    assert taken.details["villages"] == ["T01", "T03"]
    again = cli("project", "role", "remove", "--project", p, "--user", OFFICER,
                "--role", "cp_officer")
    assert again.exit_code == 1 and "does not hold the cp_officer role" in again.output
    assert cli(*add[:3], "--project", 999, "--user", OFFICER, "--role",
               "viewer").exit_code == 1


def test_project_list_gives_the_ids_and_village_codes_other_commands_take(
        commune: World, cli: Run) -> None:
    made = cli("project", "create", "Xã Tân Lập", "--commune-code", "00002")
    assert made.exit_code == 0, made.output
    table = cli("project", "list").output.splitlines()
    assert table[0].split() == ["id", "name", "commune", "villages"]
    assert table[1].split() == [str(commune.project_id), "Xã", "Hoà", "Bình", "00001",
                                "T01,T02,T03,T04,T05,T06"]
    listed: list[dict[str, Any]] = json.loads(cli("project", "list", "--json").output)
    assert [(p["name"], p["communeCode"], p["villages"]) for p in listed] == [
        ("Xã Hoà Bình", "00001", [f"T0{n}" for n in range(1, 7)]),
        ("Xã Tân Lập", "00002", [])]
    (created,) = cli_audits(commune, "project.create")
    assert created.actee == f"project:{listed[1]['id']}"


def test_a_user_made_on_the_command_line_is_audited(world: World, cli: Run) -> None:
    officer(cli)
    (row,) = cli_audits(world, "user.create")
    assert row.actee == f"actor:{_actor_id(world, OFFICER)}"
    assert row.details["data"] == {"email": OFFICER, "role": "none"}
    assert ADMIN_PASSWORD not in json.dumps(row.details)
