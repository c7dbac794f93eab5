"""`diemtua sync run` (catch up once), `diemtua sync worker` (keep caught up),
`diemtua sync retry` (failed submissions back on the pending list) and `diemtua sync status`
(what still waits, what failed).

The work is `server.registry.sync.sync_pending`, under the database's sync lock
(`server.registry.worker`); this module reads the options and prints the counts, so an operator
sees at once whether anything failed.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType

import click

from server.cli_audit import system_user
from server.config import load_settings
from server.registry.sync_status import (
    failed_versions,
    failure_kind,
    retry_failed,
    waiting_count,
)
from server.registry.worker import SyncBusy, run_forever, run_once
from server.services import Services


@click.group("sync")
def sync_group() -> None:
    """The master registry sync (submissions → children)."""


@sync_group.command("run")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Sync at most this many submissions (default: all pending).")
@click.option("--no-wait", is_flag=True,
              help="Exit with an error instead of waiting when another sync is running.")
def run(limit: int | None, no_wait: bool) -> None:
    """Match every pending household submission into the registry, oldest first."""
    svc = Services.from_settings(load_settings())
    started = time.perf_counter()
    try:
        summary = run_once(svc.database.engine, svc.database.sessions, limit=limit,
                           wait=not no_wait)
    except SyncBusy as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        svc.database.dispose()
    seconds = time.perf_counter() - started
    click.echo(f"Synced {summary.submissions} submissions ({summary.failed} failed, "
               f"{summary.superseded} superseded by an edit) in {seconds:.1f} s: "
               f"{summary.records} child records — {summary.linked} linked to an existing "
               f"child, {summary.queued} queued for review, {summary.new} new children.")
    if summary.aged_out:
        click.echo(f"{summary.aged_out} children turned 16 while entitled: AGEOUT-16-22 opened.")
    if summary.not_applied:
        click.echo(f"{summary.not_applied} follow-up visits not applied (a child outside the "
                   "sender's villages): stored as sent, flagged for the officer.")
    for reason in summary.not_applied_reasons:
        click.echo(f"  not applied: {reason}", err=True)
    for error in summary.errors:
        click.echo(f"  failed: {error}", err=True)
    if summary.failed:
        raise SystemExit(1)


@sync_group.command("retry")
@click.argument("version_ids", nargs=-1, type=click.IntRange(1))
@click.option("--all", "every", is_flag=True, help="Retry every failed submission.")
def retry(version_ids: tuple[int, ...], every: bool) -> None:
    """Put failed submissions (by submission version id, as `sync run` prints them) back on
    the pending list; the worker or the next `sync run` syncs them. Without ids or --all,
    lists the failed ones."""
    svc = Services.from_settings(load_settings())
    try:
        with svc.database.unit_of_work() as session:
            failed = failed_versions(session)
            if not version_ids and not every:
                for version in failed:
                    kind = failure_kind(version.sync_error)
                    click.echo(f"{version.id}\t{kind.value}\t{version.sync_error or ''}")
                click.echo(f"{len(failed)} failed; retry them with `diemtua sync retry <id>…` "
                           "or `--all`.", err=True)
                return
            wanted = [version.id for version in failed] if every else list(version_ids)
            retried = retry_failed(session, wanted, actor_id=None, via="cli",
                                   systemUser=system_user())
    finally:
        svc.database.dispose()
    skipped = sorted(set(wanted) - set(retried))
    click.echo(f"{len(retried)} submissions back on the pending list.")
    if skipped:
        click.echo(f"Not failed, left as they are: {', '.join(map(str, skipped))}", err=True)


@sync_group.command("status")
@click.option("--project", "project_id", type=click.IntRange(1), default=None,
              help="Count one project's submissions only.")
def status(project_id: int | None) -> None:
    """How many submissions still wait for the registry sync, and how many failed.

    Submissions of forms the registry does not read never wait (README "The master
    registry"), so once the worker has caught up the first figure is 0."""
    svc = Services.from_settings(load_settings())
    try:
        with svc.database.unit_of_work() as db:
            waiting = waiting_count(db, project_id)
            failed = len(failed_versions(db, project_id))
    finally:
        svc.database.dispose()
    click.echo(f"{waiting} submissions wait for the registry sync; {failed} failed"
               + (" (diemtua sync retry)." if failed else "."))


@sync_group.command("worker")
@click.option("--interval", type=click.IntRange(1), default=None,
              help="Seconds between checks when nothing is pending (DIEMTUA_SYNC_INTERVAL, 5).")
def worker(interval: int | None) -> None:
    """Keep the registry in sync with new submissions until stopped (SIGTERM or Ctrl-C)."""
    settings = load_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    svc = Services.from_settings(settings)
    stop = threading.Event()

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    seconds = interval or settings.sync_interval_seconds
    click.echo(f"registry sync worker: checking every {seconds} s")
    try:
        run_forever(svc.database.engine, svc.database.sessions, interval=seconds, stop=stop)
    finally:
        svc.database.dispose()
    click.echo("registry sync worker stopped")


def register(main: click.Group) -> None:
    main.add_command(sync_group)
