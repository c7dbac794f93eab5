"""The sync worker: keeps the registry caught up with submissions, off the request path.

A phone's submission is stored and answered at once (`receive_submission`); this loop picks it
up from its durable ``sync_state`` a few seconds later. A project (commune) is synced by one
run at a time (two concurrent runs could each match a child without seeing the other's): on
PostgreSQL each run takes the project's advisory lock per transaction
(`server.registry.sync.ProjectLocks`), so several `run_forever` loops — ``diemtua sync worker``
processes — share a province's communes; on SQLite ``BEGIN IMMEDIATE`` already serialises the
transactions. `run_once` (``diemtua sync run``) also holds `sync_lock`, the database-wide lock,
so that two catch-ups by hand do not run at once and ``--no-wait`` can say one is running.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from server.db import utcnow
from server.registry.ageing import open_age_outs
from server.registry.sync import SyncSummary, sync_pending
from sync.matching import MatchModel

log = logging.getLogger(__name__)

# Indochina Time, UTC+7 all year (no daylight saving): no time-zone database needed.
VIETNAM = timezone(timedelta(hours=7))

# pg_advisory_lock key: "diemtua registry sync" (any constant shared by all processes).
SYNC_LOCK_KEY = 0x5D1E7A_5C


class SyncBusy(RuntimeError):
    """Another process is syncing this database right now."""


@contextmanager
def sync_lock(engine: Engine, *, wait: bool = True) -> Iterator[None]:
    """Hold the database's registry-sync lock for the duration of the block.

    With ``wait=False`` raises `SyncBusy` instead of waiting for another run to finish.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        _acquire(connection, wait)
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SYNC_LOCK_KEY})
            connection.commit()


def _acquire(connection: Connection, wait: bool) -> None:
    if wait:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SYNC_LOCK_KEY})
    elif not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                               {"key": SYNC_LOCK_KEY}):
        raise SyncBusy("another registry sync is running on this database")
    connection.commit()  # the lock is held by the session, not the transaction


def run_once(engine: Engine, session_factory: Callable[[], Session], *,
             limit: int | None = None, model: MatchModel | None = None,
             wait: bool = True, exclusive: bool = True) -> SyncSummary:
    """One catch-up pass under the lock (what `diemtua sync run` does), then the children who
    turned 16 since the last pass (`server.registry.ageing`). ``exclusive=False`` (the worker
    loop) takes no database-wide lock: the project locks keep concurrent runs apart."""
    with sync_lock(engine, wait=wait) if exclusive else nullcontext():
        summary = sync_pending(session_factory, limit=limit, model=model)
        # Age-outs are opened by one run at a time, whichever the loop.
        with nullcontext() if exclusive else sync_lock(engine), session_factory() as session, \
                session.begin():
            now = utcnow()
            summary.aged_out = len(open_age_outs(session, today_in_vietnam(), now))
        return summary


def today_in_vietnam() -> date:
    """Birthdays are reached on the commune's calendar, not UTC's."""
    return datetime.now(VIETNAM).date()


def run_forever(engine: Engine, session_factory: Callable[[], Session], *,
                interval: float, stop: threading.Event,
                on_pass: Callable[[SyncSummary], None] | None = None) -> None:
    """Sync, sleep ``interval`` seconds when nothing was pending, repeat until ``stop`` is set.

    A pass that fails as a whole (the database went away) is logged and retried after the
    interval: a worker that dies would silently stop the registry from filling.
    """
    model = MatchModel.load()
    while not stop.is_set():
        try:
            summary = run_once(engine, session_factory, model=model, limit=500,
                               exclusive=False)
        except Exception:  # keep the loop alive; the next pass retries
            log.exception("registry sync pass failed; retrying in %s s", interval)
            stop.wait(interval)
            continue
        if on_pass is not None:
            on_pass(summary)
        if summary.attempted:
            log.info("registry sync: %s submissions, %s records (%s linked, %s queued, "
                     "%s new), %s failed", summary.submissions, summary.records,
                     summary.linked, summary.queued, summary.new, summary.failed)
        if summary.attempted < 500:
            stop.wait(interval)
