"""Database engine, sessions and the declarative base shared by every model.

Plain SQLAlchemy 2 (no Flask-SQLAlchemy) so that the CLI, the sync worker and the benchmarks use
the very same models and units of work as the HTTP layer.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

log = logging.getLogger(__name__)

# Named constraints let Alembic's batch mode (SQLite) and PostgreSQL agree on every name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Execution option of a read-only snapshot transaction (`Database.read_snapshot`).
READ_SNAPSHOT = "diemtua_read_snapshot"


def utcnow() -> datetime:
    """Naive UTC timestamps: SQLite keeps no zone, so every timestamp is UTC by convention."""
    return datetime.now(UTC).replace(tzinfo=None)


def plan_for_whole_results(session: Session) -> None:
    """Tell PostgreSQL, for this transaction, that every row of its cursors will be read.

    A server-side cursor (`yield_per`) is planned for its first rows (cursor_tuple_fraction
    0.1): a join becomes one index look-up per row instead of one hash join, several times
    slower when an export or a report reads all 500,000 children (docs/reports.md §5).
    Nothing to do on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL cursor_tuple_fraction = 1"))


# SQLite has one writer at a time: a writer waits this long for the lock (SQLite's busy
# handler), then `_begin_immediate` tries again until WRITE_WAIT_SECONDS have passed in all.
# An import commits a batch at a time (`server.registry.importer.BATCH_ROWS`) and the sync a
# group of submissions at a time, so the lock is normally free again within a second.
BUSY_TIMEOUT_MS = 30_000
WRITE_WAIT_SECONDS = 600.0


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers go on while a submission is written; synchronous=FULL makes a
        # committed submission survive power loss, not only a killed process. The busy timeout
        # comes first: switching a new database to WAL itself waits for the lock.
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_SNAPSHOT):
            # A reader only (`Database.read_snapshot`): in WAL mode its first read fixes the
            # snapshot it sees, and writers go on meanwhile.
            connection.exec_driver_sql("BEGIN DEFERRED")
            return
        # Take the write lock up front: two writers that both start as readers would otherwise
        # deadlock on upgrade and one would fail with "database is locked".
        _begin_immediate(connection.connection.driver_connection)


def _begin_immediate(dbapi_connection: Any) -> None:
    """BEGIN IMMEDIATE, waiting for another writer however long it holds the lock (up to
    WRITE_WAIT_SECONDS): a phone's submission or a sync group waits for an import's batch
    instead of failing with "database is locked". Nothing is done before the lock is taken,
    so trying again is safe."""
    deadline = time.monotonic() + WRITE_WAIT_SECONDS
    while True:
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            log.warning("SQLite write lock still held by another writer after %s ms; waiting",
                        BUSY_TIMEOUT_MS)


def make_engine(url: str, **kwargs: Any) -> Engine:
    # A database error names the statement, never its values: they are children's names and
    # personal IDs, and errors end up in logs (README "Audit log").
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "isolation_level": None},
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


class Database:
    """One engine and its session factory; `unit_of_work` is the one place that commits."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        session = self.sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def read_snapshot(self) -> Iterator[Session]:
        """A session that reads one consistent state of the database and writes nothing.

        A long export (every child of a province, page by page) must not mix the registry
        before and after a sync that commits meanwhile, nor stop phones from submitting:
        PostgreSQL gives a REPEATABLE READ, READ ONLY transaction; SQLite a deferred
        transaction, whose snapshot (WAL mode) is fixed by its first read.
        """
        options: dict[str, Any] = {READ_SNAPSHOT: True}
        if not self.url.startswith("sqlite"):
            options.update(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        connection = self.engine.connect().execution_options(**options)
        session = Session(bind=connection, expire_on_commit=False)
        try:
            yield session
        finally:
            session.close()
            connection.rollback()
            connection.close()

    def dispose(self) -> None:
        self.engine.dispose()
