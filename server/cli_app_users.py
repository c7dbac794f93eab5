"""`diemtua app-user …`: set up phones from the command line, without the web UI.

`create` makes an app user (optionally with villages and forms) and prints its Collect URL;
`qr` writes the QR code a phone scans in ODK Collect (Add project → Scan QR code). Both name
the server by `--base-url`, else `DIEMTUA_PUBLIC_URL`, else the address a started
`diemtua serve` listens on (`server.serving_address`) — never a guess.

The command line acts as the server's operator, who holds the database itself: like a site
administrator it is limited to no village (the village limits of `server.auth.grants` bind
people acting through the API). Village codes are still checked against the project's village
list, so a typo is refused instead of giving a phone no children.
"""

from __future__ import annotations

from pathlib import Path

import click

from server import problems
from server.auth.grants import check_village_codes
from server.cli_audit import cli_audit
from server.config import load_settings
from server.models import AppUser
from server.operations import qrcode
from server.operations.forms import assign_to_form, get_form
from server.operations.projects import get_project
from server.operations.users import create_app_user, normalise_villages
from server.services import Services
from server.serving_address import server_base


def _public_base(given: str | None) -> str:
    """Phones must reach the server by this URL, so it is never guessed."""
    if given:
        return given.rstrip("/")
    known = server_base(load_settings())
    if known is None:
        raise click.ClickException(
            "Không biết địa chỉ máy chủ: đặt DIEMTUA_PUBLIC_URL (địa chỉ điện thoại dùng), "
            "chạy `diemtua serve`, hoặc thêm --base-url. (Unknown server address: set "
            "DIEMTUA_PUBLIC_URL (the address phones use to reach this server), start "
            "`diemtua serve`, or pass --base-url.)")
    if known.this_machine_only:
        click.echo(f"Lưu ý: {known.url} chỉ dùng được trên máy này; điện thoại cần "
                   "DIEMTUA_PUBLIC_URL hoặc HOST=0.0.0.0. (Note: a phone cannot reach "
                   f"{known.url}; set DIEMTUA_PUBLIC_URL or serve on 0.0.0.0.)", err=True)
    return known.url


@click.group("app-user")
def app_user() -> None:
    """App users: one per phone, authenticated by the token in their server URL."""


@app_user.command("create")
@click.option("--project", "project_id", required=True, type=int, help="Project id.")
@click.argument("name")
@click.option("--village", "villages", multiple=True, help="Village (thôn) code; repeatable.")
@click.option("--form", "forms", multiple=True, help="xmlFormId to assign; repeatable.")
def create(project_id: int, name: str, villages: tuple[str, ...], forms: tuple[str, ...]) -> None:
    """Create an app user NAME in a project and print its id and Collect URL."""
    svc = Services.from_settings()
    try:
        with svc.database.unit_of_work() as session:
            get_project(session, project_id)
            codes = normalise_villages(villages)
            check_village_codes(session, project_id, codes, svc.store)
            created = create_app_user(session, project_id, name, codes)
            for xml_form_id in forms:
                assign_to_form(session, get_form(session, project_id, xml_form_id),
                               created.actor_id)
            cli_audit(session, "field_key.create", f"actor:{created.actor_id}",
                      {"projectId": project_id, "villages": codes})
            actor_id, token = created.actor_id, created.token
    except problems.Problem as problem:
        raise click.ClickException(problem.message) from problem
    assert token is not None
    click.echo(f"created app user {name!r} (id {actor_id}) in project {project_id}")
    known = server_base(load_settings())
    if known is not None:
        click.echo(f"Collect URL: {qrcode.collect_url(known.url, token, project_id)}")
        click.echo(f"QR code: diemtua app-user qr {actor_id} --out phone.png")
    else:
        click.echo(f"QR code: diemtua app-user qr {actor_id} --out phone.png --base-url URL "
                   "(URL: the address phones use; or set DIEMTUA_PUBLIC_URL)")


@app_user.command("qr")
@click.argument("actor_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="PNG file to write.")
@click.option("--base-url", default=None,
              help="Server address phones use (default: DIEMTUA_PUBLIC_URL, else the address "
                   "`diemtua serve` listens on).")
def qr(actor_id: int, out: Path, base_url: str | None) -> None:
    """Write the Collect QR code of app user ACTOR_ID to a PNG file."""
    base = _public_base(base_url)
    svc = Services.from_settings()
    with svc.database.unit_of_work() as session:
        found = session.get(AppUser, actor_id)
        if found is None or found.actor.deleted_at is not None or found.token is None:
            raise click.ClickException(f"no active app user with id {actor_id}")
        project = get_project(session, found.project_id)
        url = qrcode.collect_url(base, found.token, project.id)
        settings = qrcode.collect_settings(url, project.name, project.id,
                                            username=found.actor.display_name)
    out.write_bytes(qrcode.qr_png(qrcode.encode_settings(settings)))
    click.echo(f"wrote {out} for {url}")


def register(main: click.Group) -> None:
    main.add_command(app_user)
