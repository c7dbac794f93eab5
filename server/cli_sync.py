"""`diemtua sync run` (catch up once) and `diemtua sync worker` (keep caught up).

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

from server.config import load_settings
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
