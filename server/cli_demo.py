"""`diemtua demo`: load the demo commune and say how to log in and connect a phone.

The work is `server.demo.load_demo`; this module reads the options, shows each stage's
progress (the demo takes some 25 s) and prints the summary. The phones' URLs name the server
the demo is for: `--base-url`, else `DIEMTUA_PUBLIC_URL`, else the address a started
`diemtua serve` listens on (`server.serving_address`), else `make serve`'s default address.
The `app-user qr` command it prints works as printed: it carries `--base-url` whenever
`app-user qr` would not find that address by itself.
"""

from __future__ import annotations

import sys
import time
from typing import ClassVar

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from server import problems
from server.auth.passwords import WeakPassword
from server.cli_progress import Counter
from server.config import load_settings
from server.demo import DEFAULT_ADMIN_EMAIL, SUBMIT, SYNC, DemoError, DemoSummary, load_demo
from server.operations import qrcode
from server.services import Services
from server.serving_address import ServerBase, server_base

# `make serve`'s address: right on this machine, never for a phone.
LOCAL_BASE = "http://127.0.0.1:8383"


def phone_base(given: str | None, known: ServerBase | None) -> tuple[str, str]:
    """The address for the phones' URLs, and the `--base-url …` the printed `app-user qr`
    command needs to reach the same address ("" when it finds it by itself)."""
    if given:
        base = given.rstrip("/")
        return base, "" if known is not None and known.url == base else f" --base-url {base}"
    if known is not None:
        return known.url, ""
    return LOCAL_BASE, f" --base-url {LOCAL_BASE}"


def _address_note(base: str, known: ServerBase | None, given: str | None) -> str | None:
    if not given and known is None:
        return (f"  (Chưa biết địa chỉ máy chủ: URL dùng {LOCAL_BASE}, địa chỉ mặc định của "
                "`make serve`. No server address known: the URLs use "
                f"{LOCAL_BASE}, `make serve`'s default; pass --base-url, set "
                "DIEMTUA_PUBLIC_URL, or start `diemtua serve` first.)")
    if ServerBase(base, "given").this_machine_only:
        return (f"  (URL dùng {base}, chỉ truy cập được từ máy này. The URLs use {base}, "
                "reachable from this machine only; a phone needs the address it can reach: "
                "set DIEMTUA_PUBLIC_URL, or serve on 0.0.0.0 (HOST=0.0.0.0 make serve).)")
    return None


def summary_lines(summary: DemoSummary, base: str, qr_base_option: str, seconds: float,
                  note: str | None = None) -> list[str]:
    """What a newcomer needs next: the login, the project, each phone's URL and QR code."""
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
                     f"{phone.village}.png{qr_base_option}   or   GET /v1/projects/{p}/"
                     f"app-users/{phone.actor_id}/qr.png")
    if note:
        lines.append(note)
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
    if summary.registry_pending:
        lines.append(f"  {summary.registry_pending} submissions still wait for the sync: "
                     "`diemtua sync run` finishes them.")
    return lines


class _StageBars:
    """One progress bar per stage on a terminal, and a line as each stage starts (for logs)."""

    STARTS: ClassVar[dict[str, tuple[str, str]]] = {
        SUBMIT: ("Gửi {total} lượt thăm hộ qua đường nhận của điện thoại… (Submitting {total} "
                 "household visits through the phones' ingest path…)", "Gửi lượt thăm hộ"),
        SYNC: ("Đồng bộ sổ trẻ em: {total} lượt gửi, có thể do máy chủ đang chạy… (Registry "
                 "sync of {total} submissions, by this command or a running server…)",
                 "Đồng bộ sổ trẻ em"),
    }

    def __init__(self) -> None:
        self.bars: dict[str, Counter] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not total:  # nothing to do in this stage (a second run): nothing to announce
            return
        if stage not in self.bars:
            for bar in self.bars.values():
                bar.close()
            line, label = self.STARTS.get(stage, (f"{stage}…", stage))
            click.echo(line.format(total=total), err=True)
            self.bars[stage] = Counter(label, unit="lượt")
        self.bars[stage].update(done, total)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


@click.command("demo")
@click.option("--households", default=300, show_default=True, type=click.IntRange(0, 100_000),
              help="Household visits to submit.")
@click.option("--seed", default=2026, show_default=True, type=int,
              help="Same seed, same households (and no duplicates on a second run).")
@click.option("--admin-email", default=DEFAULT_ADMIN_EMAIL, show_default=True,
              help="Site admin to create, or to reuse if it exists.")
@click.option("--admin-password-stdin", is_flag=True,
              help="Read the new admin's password from standard input (default: generate one).")
@click.option("--base-url", default=None,
              help="Address phones use to reach the server, for the printed URLs (default: "
                   "DIEMTUA_PUBLIC_URL, else the address `diemtua serve` listens on).")
def demo(households: int, seed: int, admin_email: str, admin_password_stdin: bool,
         base_url: str | None) -> None:
    """Load a demo commune: admin, project, published form, one phone per village, and
    synthetic household visits. Safe to run again: what exists is reused, nothing doubles."""
    password = sys.stdin.readline().rstrip("\r\n") if admin_password_stdin else None
    settings = load_settings()
    svc = Services.from_settings(settings)
    started = time.perf_counter()
    bars = _StageBars()
    try:
        summary = load_demo(svc, households=households, seed=seed, admin_email=admin_email,
                            admin_password=password, sync_registry=True, on_progress=bars)
    except (DemoError, WeakPassword) as exc:
        raise click.ClickException(str(exc)) from exc
    except problems.Problem as problem:
        raise click.ClickException(problem.message) from problem
    except (OperationalError, ProgrammingError) as exc:
        # Tables missing: the database was never migrated.
        raise click.ClickException("the database is not ready; run `diemtua db upgrade` first "
                                   f"({exc.orig})") from exc
    finally:
        bars.close()
        svc.database.dispose()
    known = server_base(settings)
    base, qr_option = phone_base(base_url, known)
    for line in summary_lines(summary, base, qr_option, time.perf_counter() - started,
                              _address_note(base, known, base_url)):
        click.echo(line)


def register(main: click.Group) -> None:
    main.add_command(demo)
