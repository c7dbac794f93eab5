"""`diemtua demo`: load the demo commune and say how to log in and connect a phone.

The work is `server.demo.load_demo`; this module reads the options and prints the summary.
"""

from __future__ import annotations

import sys
import time

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from server import problems
from server.auth.passwords import WeakPassword
from server.config import load_settings
from server.demo import DEFAULT_ADMIN_EMAIL, DemoError, DemoSummary, load_demo
from server.operations import qrcode
from server.services import Services

# `make serve`'s address: right on this machine, never for a phone.
LOCAL_BASE = "http://127.0.0.1:8383"


def summary_lines(summary: DemoSummary, public_base: str | None, seconds: float) -> list[str]:
    """What a newcomer needs next: the login, the project, each phone's URL and QR code."""
    base = public_base or LOCAL_BASE
    p = summary.project_id
    lines = [
        f"Demo commune: {summary.project_name} — project {p} "
        f"({'created' if summary.project_created else 'already there, reused'})",
        f"Admin login: {summary.admin_email} "
        f"({'created' if summary.admin_created else 'existing user, password unchanged'})",
    ]
    if summary.generated_password:
        lines.append(f"  password: {summary.generated_password}   (generated; shown only now)")
    lines += [
        f"Form household_screening version {summary.form_version}, published with "
        "villages.csv.",
        f"Form child_followup version {summary.followup_version}, published with villages.csv "
        "and children.csv (the registry's children of each phone's village).",
        "Phones (one app user per village, assigned to both forms):",
    ]
    for phone in summary.phones:
        lines.append(f"  {phone.display_name} [{phone.village}] — app user {phone.actor_id}, "
                     f"{phone.households} households, device {phone.device_id}")
        if phone.token:
            lines.append(f"    Collect URL: {qrcode.collect_url(base, phone.token, p)}")
        lines.append(f"    QR code: diemtua app-user qr {phone.actor_id} --out "
                     f"{phone.village}.png   or   GET /v1/projects/{p}/app-users/"
                     f"{phone.actor_id}/qr.png")
    if not public_base:
        lines.append(f"  (URLs use {LOCAL_BASE}; a phone needs the address it can reach: set "
                     "DIEMTUA_PUBLIC_URL, or pass --base-url to `app-user qr`.)")
    lines.append(
        f"Submitted {summary.households_submitted} households ({summary.refusals} refusals, "
        f"{summary.children_submitted} children, {summary.children_with_categories} in special "
        f"circumstances on the phone's provisional rules) and {summary.revisits_submitted} second "
        "visits of some of them (names retyped) through the phones' ingest path; "
        f"{summary.households_already_there} were already there. {seconds:.1f} s.")
    if summary.registry is not None:
        lines.append(f"Registry sync: {summary.registry.submissions} submissions, "
                     f"{summary.registry.new} new children, {summary.registry.linked} linked, "
                     f"{summary.registry.queued} for review, {summary.registry.failed} failed.")
    return lines


@click.command("demo")
@click.option("--households", default=300, show_default=True, type=click.IntRange(0, 100_000),
              help="Household visits to submit.")
@click.option("--seed", default=2026, show_default=True, type=int,
              help="Same seed, same households (and no duplicates on a second run).")
@click.option("--admin-email", default=DEFAULT_ADMIN_EMAIL, show_default=True,
              help="Site admin to create, or to reuse if it exists.")
@click.option("--admin-password-stdin", is_flag=True,
              help="Read the new admin's password from standard input (default: generate one).")
def demo(households: int, seed: int, admin_email: str, admin_password_stdin: bool) -> None:
    """Load a demo commune: admin, project, published form, one phone per village, and
    synthetic household visits. Safe to run again: what exists is reused, nothing doubles."""
    password = sys.stdin.readline().rstrip("\r\n") if admin_password_stdin else None
    settings = load_settings()
    svc = Services.from_settings(settings)
    started = time.perf_counter()
    try:
        summary = load_demo(svc, households=households, seed=seed, admin_email=admin_email,
                            admin_password=password, sync_registry=True)
    except (DemoError, WeakPassword) as exc:
        raise click.ClickException(str(exc)) from exc
    except problems.Problem as problem:
        raise click.ClickException(problem.message) from problem
    except (OperationalError, ProgrammingError) as exc:
        # Tables missing: the database was never migrated.
        raise click.ClickException("the database is not ready; run `diemtua db upgrade` first "
                                   f"({exc.orig})") from exc
    finally:
        svc.database.dispose()
    for line in summary_lines(summary, settings.public_url, time.perf_counter() - started):
        click.echo(line)


def register(main: click.Group) -> None:
    main.add_command(demo)
