"""One consistent copy of the database while the server runs, and putting it back.

PostgreSQL: a REPEATABLE READ transaction exports its snapshot; the row counts and the blob
list are read in it, and `pg_dump --snapshot` dumps exactly that state (the PostgreSQL manual,
"pg_dump", `--snapshot`). SQLite: the online backup API copies the file page by page while
writers go on (sqlite.org/backup.html); the counts and blobs are then read from the copy.
Either way the blobs listed are exactly those the copied rows can name.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url

from server.db import Base

DUMP_POSTGRESQL = "database.pgdump"
DUMP_SQLITE = "database.sqlite3"


class DatabaseBackupError(RuntimeError):
    """pg_dump or pg_restore is missing or failed, or the target cannot take the backup."""


@dataclass(frozen=True)
class Snapshot:
    """The dump file and what it holds."""

    kind: str  # "postgresql" or "sqlite"
    path: Path
    revision: str | None
    row_counts: dict[str, int]
    blobs: list[tuple[str, int, str]]  # (sha256, size, content type), oldest first


def kind_of(url: str) -> str:
    backend = make_url(url).get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise DatabaseBackupError(f"backups support PostgreSQL and SQLite, not {backend}")
    return backend


def libpq_environment(url: str) -> dict[str, str]:
    """The connection as PG* variables, so the password never shows in a process list."""
    parsed = make_url(url)
    env = {**os.environ}
    for name, value in (("PGHOST", parsed.host), ("PGPORT", parsed.port),
                        ("PGUSER", parsed.username), ("PGPASSWORD", parsed.password),
                        ("PGDATABASE", parsed.database)):
        if value is not None:
            env[name] = str(value)
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise DatabaseBackupError(
            f"{name} not found: install the PostgreSQL client of the server's major version "
            "(Debian: apt-get install postgresql-client)")
    return found


def _run(args: list[str], env: dict[str, str]) -> str:
    # The program is found by shutil.which and the arguments are ours: no shell, no user text.
    done = subprocess.run(args, env=env, capture_output=True, text=True,  # noqa: S603
                          check=False)
    if done.returncode != 0:
        raise DatabaseBackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()}")
    return done.stdout


def table_names() -> list[str]:
    return [table.name for table in Base.metadata.sorted_tables]


def _count(connection: Connection, table: str) -> int:
    # The name comes from the models' metadata, never from input.
    return int(connection.scalar(text(f'SELECT count(*) FROM "{table}"')) or 0)  # noqa: S608


def _read_state(connection: Connection) -> tuple[str | None, dict[str, int],
                                                   list[tuple[str, int, str]]]:
    present = set(inspect(connection).get_table_names())
    counts = {name: _count(connection, name) for name in table_names() if name in present}
    revision = (connection.scalar(text("SELECT version_num FROM alembic_version"))
                if "alembic_version" in present else None)
    blobs = [(str(sha), int(size), str(kind)) for sha, size, kind in connection.execute(
        text("SELECT sha256, size, content_type FROM blobs ORDER BY id"))
    ] if "blobs" in present else []
    return revision, counts, blobs


def _snapshot_postgresql(engine: Engine, folder: Path) -> Snapshot:
    pg_dump = _tool("pg_dump")
    path = folder / DUMP_POSTGRESQL
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot_id = connection.scalar(text("SELECT pg_export_snapshot()"))
            revision, counts, blobs = _read_state(connection)
            # The snapshot lives as long as this transaction: pg_dump runs inside it.
            _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges",
                  f"--snapshot={snapshot_id}", f"--file={path}"],
                 libpq_environment(engine.url.render_as_string(hide_password=False)))
    return Snapshot("postgresql", path, revision, counts, blobs)


def _snapshot_sqlite(url: str, folder: Path) -> Snapshot:
    source_path = make_url(url).database
    if not source_path or not Path(source_path).exists():
        raise DatabaseBackupError(f"no SQLite database at {source_path}")
    path = folder / DUMP_SQLITE
    source = sqlite3.connect(source_path)
    target = sqlite3.connect(path)
    try:
        source.backup(target)
        # The copy stands alone: no WAL file beside it to carry along.
        target.execute("PRAGMA journal_mode=DELETE")
    finally:
        target.close()
        source.close()
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            revision, counts, blobs = _read_state(connection)
    finally:
        engine.dispose()
    return Snapshot("sqlite", path, revision, counts, blobs)


def take_snapshot(url: str, folder: Path) -> Snapshot:
    """Dump the database into `folder` and say what the dump holds."""
    if kind_of(url) == "postgresql":
        engine = create_engine(url)
        try:
            return _snapshot_postgresql(engine, folder)
        finally:
            engine.dispose()
    return _snapshot_sqlite(url, folder)


def check_dump(kind: str, path: Path) -> dict[str, int] | None:
    """Raise unless the dump can be read back: `pg_restore --list` for PostgreSQL; for SQLite
    an integrity check, and its row counts (to compare with the manifest's)."""
    if kind == "postgresql":
        _run([_tool("pg_restore"), "--list", str(path)], dict(os.environ))
        return None
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = connection.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise DatabaseBackupError(f"the SQLite copy is not a database: {exc}") from exc
    finally:
        connection.close()
    if not result or result[0] != "ok":
        raise DatabaseBackupError(f"the SQLite copy is damaged: {result}")
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as read:
            return _read_state(read)[1]
    finally:
        engine.dispose()


def rows_in(url: str) -> int:
    """How many rows the target database holds in the server's tables (0: empty or new)."""
    if kind_of(url) == "sqlite":
        path = make_url(url).database
        if not path or not Path(path).exists():
            return 0
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            present = set(inspect(connection).get_table_names())
            return sum(_count(connection, name) for name in table_names() if name in present)
    finally:
        engine.dispose()


@contextmanager
def _sqlite_connection(path: str) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(path)
    try:
        yield connection
    finally:
        connection.close()


def restore_dump(kind: str, dump: Path, url: str) -> None:
    """Put the dump into the target database, replacing what is there."""
    if kind != kind_of(url):
        raise DatabaseBackupError(
            f"this backup is of a {kind} database; DIEMTUA_DATABASE_URL names {kind_of(url)}")
    if kind == "postgresql":
        _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--clean", "--if-exists",
              "--single-transaction", "--exit-on-error",
              f"--dbname={libpq_environment(url)['PGDATABASE']}", str(dump)],
             libpq_environment(url))
        return
    target = make_url(url).database
    if not target:
        raise DatabaseBackupError("DIEMTUA_DATABASE_URL names no SQLite file")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    # The backup API again, into the target: it replaces every page under the target's lock,
    # so a leftover WAL file cannot bring old rows back.
    with _sqlite_connection(str(dump)) as source, _sqlite_connection(target) as into:
        source.backup(into)
