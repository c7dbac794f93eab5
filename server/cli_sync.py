"""`diemtua sync run`: catch the registry up with the household submissions not synced yet.

The work is `server.registry.sync.sync_pending`; this module reads the options and prints the
counts, so an operator sees at once whether anything failed.
"""

from __future__ import annotations

import time

import click

from server.config import load_settings
from server.registry.sync import sync_pending
from server.services import Services


@click.group("sync")
def sync_group() -> None:
    """The master registry sync (submissions → children)."""


@sync_group.command("run")
@click.option("--limit", type=click.IntRange(1), default=None,
              help="Sync at most this many submissions (default: all pending).")
def run(limit: int | None) -> None:
    """Match every pending household submission into the registry, oldest first."""
    svc = Services.from_settings(load_settings())
    started = time.perf_counter()
    try:
        summary = sync_pending(svc.database.sessions, limit=limit)
    finally:
        svc.database.dispose()
    seconds = time.perf_counter() - started
    click.echo(f"Synced {summary.submissions} submissions ({summary.failed} failed, "
               f"{summary.superseded} superseded by an edit) in {seconds:.1f} s: "
               f"{summary.records} child records — {summary.linked} linked to an existing "
               f"child, {summary.queued} queued for review, {summary.new} new children.")
    for error in summary.errors:
        click.echo(f"  failed: {error}", err=True)
    if summary.failed:
        raise SystemExit(1)


def register(main: click.Group) -> None:
    main.add_command(sync_group)
