"""`diemtua user …` and `diemtua project …`: web users, communes and who holds which role.

The command line acts as the server's operator, who holds the database itself: like a site
administrator it is limited to no village. It goes through the operations the API uses
(`server.operations.users`, `server.operations.project_roles`), so a role or village the API
refuses is refused here with the same message, and every change leaves its audit row
(`server.cli_audit`, README "Audit log"). Listings print a table on a terminal and JSON with
`--json`, for scripts.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from server import problems
from server.auth.passwords import WeakPassword
from server.cli_audit import cli_audit
from server.config import load_settings
from server.models import User, Village
from server.operations.project_roles import (
    HeldRole,
    RoleAlreadyHeld,
    assign_project_role,
    held_villages,
    project_role_rows,
    remove_project_role,
    roles_by_actor,
)
from server.operations.projects import create_project, get_project, list_projects
from server.operations.users import (
    PROJECT_ROLES,
    active_users,
    create_user,
    normalise_villages,
    reset_password,
    user_by_email,
)
from server.services import Services

T = TypeVar("T")

JSON_HELP = "Print JSON (for scripts) instead of a table."
STDIN_HELP = ("Read the password from the first line of standard input instead of "
                       "asking for it.")


def _in_unit_of_work(work: Callable[[Session, Services], T]) -> T:
    """Run `work` in one unit of work; a refusal of the domain becomes the command's error."""
    svc = Services.from_settings(load_settings())
    try:
        with svc.database.unit_of_work() as session:
            return work(session, svc)
    except WeakPassword as exc:
        raise click.ClickException(str(exc)) from exc
    except RoleAlreadyHeld as exc:
        raise click.ClickException(str(exc)) from exc
    except problems.Problem as problem:
        raise click.ClickException(problem.message) from problem
    finally:
        svc.database.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart, for a terminal."""
    widths = [max([len(header[i]), *(len(row[i]) for row in rows)]) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
            .rstrip() for line in [header, *rows]]


def _echo_table(header: Sequence[str], rows: Sequence[Sequence[str]], empty: str) -> None:
    if not rows:
        click.echo(empty)
        return
    for line in table(header, rows):
        click.echo(line)


def _villages_text(villages: Sequence[str]) -> str:
    return ",".join(villages) if villages else "*"


# --- users -----------------------------------------------------------------------------------


@click.group("user")
def user_group() -> None:
    """Web users (health-station staff, commune officers, administrators)."""


@user_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "none"]), default="none", show_default=True,
              help="Site role: admin (a site administrator) or none (project roles only).")
@click.option("--name", "display_name", default=None, help="Display name.")
@click.option("--password-stdin", is_flag=True, help=STDIN_HELP)
def user_create(email: str, role: str, display_name: str | None, password_stdin: bool) -> None:
    """Create a user; asks for the password unless --password-stdin."""
    password = _read_password(password_stdin)

    def work(session: Session, _svc: Services) -> int:
        created = create_user(session, email, password, role=role, display_name=display_name)
        cli_audit(session, "user.create", f"actor:{created.actor_id}",
                  {"data": {"email": created.email, "role": role}})
        return created.actor_id

    actor_id = _in_unit_of_work(work)
    click.echo(f"created user {email} (id {actor_id}, role {role})")


def _role_json(held: HeldRole) -> dict[str, Any]:
    return {"projectId": held.project_id, "project": held.project_name, "role": held.role,
            "villages": held.villages}


@user_group.command("list")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def user_list(as_json: bool) -> None:
    """Every web user: email, name, site administrator or not, and project roles (villages:
    * for every village)."""

    def work(session: Session, _svc: Services) -> list[dict[str, Any]]:
        users = active_users(session)
        roles = roles_by_actor(session, [user.actor_id for user in users])
        return [{"id": user.actor_id, "email": user.email,
                 "displayName": user.actor.display_name, "siteAdmin": user.role == "admin",
                 "roles": [_role_json(held) for held in roles[user.actor_id]]}
                for user in users]

    users = _in_unit_of_work(work)
    if as_json:
        click.echo(json.dumps(users, ensure_ascii=False, indent=2))
        return
    rows = [[str(user["id"]), user["email"], user["displayName"],
             "admin" if user["siteAdmin"] else "",
             "; ".join(f"{role['projectId']}:{role['role']}[{_villages_text(role['villages'])}]"
                       for role in user["roles"])]
            for user in users]
    _echo_table(["id", "email", "name", "site", "project:role[villages]"], rows,
                "Chưa có người dùng nào. (No users yet: diemtua user create.)")


@user_group.command("reset-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help=STDIN_HELP)
def user_reset_password(email: str, password_stdin: bool) -> None:
    """Give EMAIL a new password (same strength rule as a new account) and sign them out
    everywhere."""
    password = _read_password(password_stdin)

    def work(session: Session, _svc: Services) -> int:
        user = user_by_email(session, email)
        ended = reset_password(session, user, password)
        cli_audit(session, "user.update", f"actor:{user.actor_id}",
                  {"data": {"password": "reset"}, "sessionsEnded": ended})
        return ended

    ended = _in_unit_of_work(work)
    click.echo(f"Đã đặt mật khẩu mới cho {email}; {ended} phiên đăng nhập đã kết thúc. "
               f"(New password set for {email}; {ended} sessions ended.)")


# --- projects ----------------------------------------------------------------------------------


@click.group("project")
def project_group() -> None:
    """Projects (one per commune) and the roles people hold on them."""


@project_group.command("create")
@click.argument("name")
@click.option("--commune-code", default=None, help="The commune's official code (mã xã).")
def project_create(name: str, commune_code: str | None) -> None:
    """Create a project NAME for one commune."""

    def work(session: Session, _svc: Services) -> int:
        created = create_project(session, name, commune_code=commune_code)
        cli_audit(session, "project.create", f"project:{created.id}",
                  {"data": {"name": created.name, "communeCode": commune_code}})
        return created.id

    project_id = _in_unit_of_work(work)
    click.echo(f"created project {name} (id {project_id})")


def _villages_by_project(session: Session) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for project_id, code in session.execute(select(Village.project_id, Village.code)
                                            .order_by(Village.project_id, Village.code)):
        found.setdefault(project_id, []).append(code)
    return found


@project_group.command("list")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def project_list(as_json: bool) -> None:
    """Every project: id (for --project), name, commune code and village codes."""

    def work(session: Session, svc: Services) -> list[dict[str, Any]]:
        villages = _villages_by_project(session)
        return [{"id": project.id, "name": project.name, "communeCode": project.commune_code,
                 "archived": project.archived, "villages": villages.get(project.id, [])}
                for project in list_projects(session)]

    projects = _in_unit_of_work(work)
    if as_json:
        click.echo(json.dumps(projects, ensure_ascii=False, indent=2))
        return
    rows = [[str(p["id"]), p["name"] + (" (archived)" if p["archived"] else ""),
             p["communeCode"] or "", ",".join(p["villages"])] for p in projects]
    _echo_table(["id", "name", "commune", "villages"], rows,
                "Chưa có dự án nào. (No projects yet: diemtua project create, or diemtua demo.)")


@project_group.group("role")
def role_group() -> None:
    """Project roles of web users: manager, viewer, formfill and the registry roles."""


PROJECT_HELP = "Project id (see `diemtua project list`)."
USER_HELP = "The user's email (see `diemtua user list`)."
ROLE_HELP = "Role: " + ", ".join(PROJECT_ROLES) + "."


def _user_on_project(session: Session, project_id: int, email: str) -> User:
    """The project (404 if none) and the user by email (404 if none)."""
    get_project(session, project_id)
    return user_by_email(session, email)


def _audit_role(session: Session, verb: str, user: User, role: str, project_id: int,
                villages: list[str]) -> None:
    """The API's `user.assignment.*` row; the role by name (the CLI knows no Central ids)."""
    cli_audit(session, f"user.assignment.{verb}", f"actor:{user.actor_id}",
              {"role": role, "acteeId": f"project:{project_id}", "villages": villages})


@role_group.command("add")
@click.option("--project", "project_id", type=int, required=True, help=PROJECT_HELP)
@click.option("--user", "email", required=True, help=USER_HELP)
@click.option("--role", required=True, help=ROLE_HELP)
@click.option("--villages", default="",
              help="Village codes the role is limited to, comma-separated (T01,T02); "
                   "none: every village.")
def role_add(project_id: int, email: str, role: str, villages: str) -> None:
    """Give a user a role on a project, optionally limited to villages."""
    codes = normalise_villages(villages.split(","))

    def work(session: Session, svc: Services) -> None:
        user = _user_on_project(session, project_id, email)
        assign_project_role(session, project_id, user, role, codes, svc.store)
        _audit_role(session, "create", user, role, project_id, codes)

    _in_unit_of_work(work)
    click.echo(f"{email}: {role} on project {project_id}, villages {_villages_text(codes)}")


@role_group.command("remove")
@click.option("--project", "project_id", type=int, required=True, help=PROJECT_HELP)
@click.option("--user", "email", required=True, help=USER_HELP)
@click.option("--role", required=True, help=ROLE_HELP)
def role_remove(project_id: int, email: str, role: str) -> None:
    """Take a role on a project away from a user."""

    def work(session: Session, _svc: Services) -> None:
        user = _user_on_project(session, project_id, email)
        held = held_villages(session, project_id, user.actor_id, role)
        if held is None:
            raise click.ClickException(
                f"{email} không có vai trò {role} trong dự án {project_id}. "
                f"({email} does not hold the {role} role on project {project_id}.)")
        remove_project_role(session, project_id, user.actor_id, role)
        _audit_role(session, "delete", user, role, project_id, held)

    _in_unit_of_work(work)
    click.echo(f"{email}: no longer {role} on project {project_id}")


@role_group.command("list")
@click.option("--project", "project_id", type=int, required=True, help=PROJECT_HELP)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def role_list(project_id: int, as_json: bool) -> None:
    """The web users holding a role on a project, with their villages (*: every village)."""

    def work(session: Session, _svc: Services) -> list[dict[str, Any]]:
        get_project(session, project_id)
        people = {user.actor_id: user for user in active_users(session)}
        return [{"actorId": held.actor.id, "email": people[held.actor.id].email,
                 "displayName": held.actor.display_name, "role": held.role,
                 "villages": held.villages}
                for held in project_role_rows(session, project_id) if held.actor.id in people]

    rows = _in_unit_of_work(work)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    _echo_table(["email", "name", "role", "villages"],
                [[r["email"], r["displayName"], r["role"], _villages_text(r["villages"])]
                 for r in rows],
                f"Chưa ai có vai trò trong dự án {project_id}. "
                f"(Nobody holds a role on project {project_id} yet.)")


def register(main: click.Group) -> None:
    main.add_command(user_group)
    main.add_command(project_group)
