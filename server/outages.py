"""The database or the blob store is down: recognise it, and log it once per episode.

A stopped PostgreSQL, an SQLite file that cannot be opened or written, a full or read-only
blob disk, an unreachable S3 endpoint: every request fails the same way until someone fixes
it. The request is answered 503 with `Retry-After` (README "Limits and headers"), so Collect
keeps the form and tells the person to send again later, and this module writes one WARNING
when the outage is first seen and one INFO once it is over — never a traceback per request.

An episode ends when the part works again: a transaction that wrote something committed
(database), or a blob was written or `/readyz` found the store writable (storage). Reads alone
do not end it, since a full SQLite disk still answers reads. The state is per process, so
each server worker says it once.
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

DATABASE = "database"
STORAGE = "storage"

# Blob writes that fail because of the disk, not because of the data: full, read-only, over
# quota, or broken.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EIO})
# SQLite result codes (the low byte of extended codes): cannot open, I/O error, disk full.
SQLITE_OUTAGE_CODES = frozenset({sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR,
                                 sqlite3.SQLITE_FULL})
SQLITE_OUTAGE_TEXTS = ("unable to open database", "disk i/o error", "database or disk is full")
# PostgreSQL SQLSTATE classes meaning "no usable server", not "bad statement": 08 connection
# exception, 53 insufficient resources (disk full, too many connections), 57P0x shutdown.
PG_OUTAGE_STATES = ("08", "53", "57P01", "57P02", "57P03")


def _sqlite_down(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in SQLITE_OUTAGE_CODES:
        return True
    return str(exc).lower().startswith(SQLITE_OUTAGE_TEXTS)


def _postgres_down(exc: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg ships with the server
        return False
    if not isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return False
    # A failed connection has no SQLSTATE (the server never answered); deadlocks and
    # cancelled statements are OperationalErrors too, but have states of their own.
    state = getattr(exc, "sqlstate", None)
    return state is None or state.startswith(PG_OUTAGE_STATES)


def _s3_down(exc: BaseException) -> bool:
    from botocore.exceptions import ConnectionClosedError, ConnectionError, ReadTimeoutError

    return isinstance(exc, ConnectionError | ConnectionClosedError | ReadTimeoutError)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, what it wraps (`orig` of SQLAlchemy's) and what caused it."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        orig = getattr(current, "orig", None)
        if isinstance(orig, BaseException) and orig not in seen:
            seen.append(orig)
        current = current.__cause__ or current.__context__
    return seen


def outage_of(exc: BaseException) -> str | None:
    """`DATABASE`, `STORAGE`, or None when `exc` is an ordinary error (a bug: 500)."""
    for link in _chain(exc):
        if isinstance(link, DBAPIError) and isinstance(link, OperationalError | InterfaceError):
            if link.connection_invalidated:
                return DATABASE
        if _sqlite_down(link) or _postgres_down(link):
            return DATABASE
        if isinstance(link, OSError) and link.errno in STORAGE_ERRNOS:
            return STORAGE
        if _s3_down(link):
            return STORAGE
    return None


def describe(exc: BaseException) -> str:
    """One line naming the innermost cause; SQLAlchemy's text would add the statement."""
    innermost = _chain(exc)[-1]
    first_line = (str(innermost).strip().splitlines() or [""])[0]
    return f"{type(innermost).__name__}: {first_line}"[:300]


class OutageLog:
    """Which parts are down in this process, so each episode is logged once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down: dict[str, int] = {}

    def seen(self, kind: str, cause: BaseException | str) -> None:
        with self._lock:
            first = kind not in self._down
            self._down[kind] = self._down.get(kind, 0) + 1
        if first:
            why = cause if isinstance(cause, str) else describe(cause)
            log.warning("%s unavailable (%s); answering 503 with Retry-After until it "
                        "recovers", kind, why)

    def works(self, kind: str) -> None:
        with self._lock:
            failures = self._down.pop(kind, None)
        if failures is not None:
            log.info("%s recovered after %d failed request(s) or check(s)", kind, failures)

    def is_down(self, kind: str) -> bool:
        return kind in self._down

    def reset(self) -> None:
        with self._lock:
            self._down.clear()


OUTAGES = OutageLog()


def wrote(session: Session) -> None:
    """Note a write the ORM's flush did not see (the ingest path's Core inserts), so the
    commit still ends a database episode."""
    session.info["outages.wrote"] = True


def _flushed(session: Session, _context: Any) -> None:
    wrote(session)


def _committed(session: Session) -> None:
    if session.info.pop("outages.wrote", False):
        OUTAGES.works(DATABASE)


def _rolled_back(session: Session, _transaction: Any) -> None:
    session.info.pop("outages.wrote", None)


def watch_database() -> None:
    """End a database episode on the first committed write, from any session (idempotent)."""
    if not event.contains(Session, "after_flush", _flushed):
        event.listen(Session, "after_flush", _flushed)
        event.listen(Session, "after_commit", _committed)
        event.listen(Session, "after_soft_rollback", _rolled_back)
