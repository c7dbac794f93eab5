"""Database engine, sessions and the declarative base shared by every model.

Plain SQLAlchemy 2 (no Flask-SQLAlchemy) so that the CLI, the sync worker and the benchmarks use
the very same models and units of work as the HTTP layer.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, TypeVar, cast

from sqlalchemy import (
    JSON,
    ColumnDefault,
    Executable,
    MetaData,
    Row,
    Table,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import instance_state

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


M = TypeVar("M", bound=Base)


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


def insert_rows(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many rows of one shape into ``model``'s table in the session's transaction.

    On PostgreSQL through COPY: for the tens of thousands of blocking keys and memberships an
    import's batch writes, an INSERT costs more in the driver than in the database (psycopg
    splits every statement's text to bind it), and COPY streams the rows instead, several
    times faster; JSON columns go as their text. Elsewhere one executemany INSERT (SQLite's is
    already fast, given the driver's own parameters: `_insert_many`). Pending ORM changes are
    flushed first (a row may refer to one). A database error comes as SQLAlchemy's on both
    (an `IntegrityError` for a duplicate key)."""
    if not rows:
        return
    write_waiting(session)
    session.flush()
    _insert(session, cast(Table, model.__table__), rows)


def _insert(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """`insert_rows` without flushing the session first."""
    columns = list(rows[0])
    defaults = _python_defaults(table, columns)
    if session.get_bind().dialect.name != "postgresql":
        _insert_many(session, table, rows, columns, defaults)
        return
    as_json = {column.name for column in table.columns if isinstance(column.type, JSON)}
    every = [*columns, *defaults.names()]
    names = ", ".join(f'"{name}"' for name in every)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'  # names from the model
    connection = session.connection()
    driver, dbapi = connection.connection.driver_connection, connection.dialect.dbapi
    assert driver is not None and dbapi is not None
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                values = {**row, **defaults.row()} if defaults else row
                copy.write_row([json.dumps(values[name]) if name in as_json else values[name]
                                for name in every])
    except dbapi.Error as exc:  # raised as SQLAlchemy raises an INSERT's errors
        raise DBAPIError.instance(statement, None, _without_values(exc), dbapi.Error,
                                  hide_parameters=True, dialect=connection.dialect) from None


def _insert_many(session: Session, table: Table, rows: Sequence[Mapping[str, Any]],
                 columns: list[str], defaults: _Defaults) -> None:
    """One executemany INSERT with the driver's own positional parameters, each value
    converted by its column type's bind processor as SQLAlchemy would convert it: an INSERT
    built by SQLAlchemy spends more on putting each row's parameters together than SQLite
    spends on storing the row (README "Benchmarks")."""
    connection = session.connection()
    dialect = connection.dialect  # SQLite's: positional "?" parameters
    compiled = insert(table).values({name: bindparam(name)
                                     for name in [*columns, *defaults.names()]}
                                    ).compile(dialect=dialect)
    order = list(compiled.positiontup or ())
    # The values in the statement's order by one C call a row; then only the few columns
    # whose type converts its values (dates, JSON) are worked on one by one.
    pick: Callable[[Mapping[str, Any]], Any] = (
        itemgetter(*order) if len(order) > 1
        else lambda row: (row[order[0]],))  # one name: itemgetter gives no tuple
    converted = [(i, process) for i, name in enumerate(order) if (
        process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    params: list[tuple[Any, ...]] = []
    for row in rows:
        values = pick({**row, **defaults.row()} if defaults else row)
        if converted:
            listed = list(values)
            for i, process in converted:
                listed[i] = process(listed[i])
            values = tuple(listed)
        params.append(values)
    connection.exec_driver_sql(str(compiled), params)


# A row of a statement whose columns are not typed.
AnyRow = Row[*tuple[Any, ...]]


def plain_rows(session: Session, statement: Executable, params: Mapping[str, Any]
               ) -> Sequence[AnyRow]:
    """The rows of a lookup, the session's pending changes written first as its own
    ``execute`` would, but read as plain rows through its connection: for the registry's
    batch lookups the ORM's handling of a query's rows cost about as much as the database's
    running them (README "Benchmarks")."""
    session.flush()
    return session.connection().execute(statement, params).all()


def _without_values(error: Any) -> Exception:
    """The driver's error with its primary message only: COPY's error context quotes the row
    it failed on (a child's name, a personal ID), and errors end up in logs and in
    ``sync_error`` (README "Audit log")."""
    message = getattr(getattr(error, "diag", None), "message_primary", None)
    return type(error)(message or type(error).__name__)


def insert_objects(session: Session, model: type[M], rows: Sequence[Mapping[str, Any]]
                   ) -> list[M]:
    """Insert many rows of one shape into ``model``'s table, in a write transaction; the rows
    as persistent objects of the session, in order, ids and all.

    The ids are reserved first (`_reserve_ids`), the rows written by `insert_rows` (COPY on
    PostgreSQL), and the objects put in the session as already stored, defaults included (no
    INSERT, no read-back of their own). The ORM would insert them one statement each on
    SQLite (it cannot have RETURNING rows come back in order there) and spend most of the
    time binding parameters on PostgreSQL: for an import's batch of records this is about a
    third of that."""
    if not rows:
        return []
    table = cast(Table, model.__table__)
    ids = _reserve_ids(session, table, len(rows))
    defaults = _python_defaults(table, ["id", *rows[0]])
    full = [{"id": row_id, **row, **defaults.row()}
            for row_id, row in zip(ids, rows, strict=True)]
    insert_rows(session, model, full)
    objects = []
    for row in full:
        stored = built(model, row)
        make_transient_to_detached(stored)
        session.add(stored)
        objects.append(stored)
    _track_inserted(session, objects)
    return objects


def built(model: type[M], values: Mapping[str, Any]) -> M:
    """A new ``model`` object holding ``values``, as its constructor would make it but without
    the attribute events the constructor fires for each value (history kept for a later
    UPDATE): about 70 µs an object for a child's forty columns, some 15 % of an import's time
    in its profile (README "Benchmarks").

    For a row about to be inserted (the session inserts a new object's values as they stand)
    or one already stored (`insert_objects`); ``values`` must name columns only, no
    relationships. Later changes to the object are tracked as usual."""
    made = model.__mapper__.class_manager.new_instance()
    instance_state(made).dict.update(values)
    return cast(M, made)


# Objects `built` for new rows that the session's next flush inserts ahead of its own work
# (`insert_on_flush`), kept in ``Session.info``.
_WAITING = "diemtua_waiting_rows"


def insert_on_flush(session: Session, stored: Base) -> None:
    """Have ``stored``, an object `built` for a new row, inserted by `insert_rows` (COPY,
    executemany) when the session next flushes or commits, ahead of the ORM's own INSERTs,
    which may refer to it. For the thousands of children an import's batch makes, the unit of
    work costs more than the rows' INSERT (README "Benchmarks"). Until then the object is not
    in the session: a query finds its row only after a flush. ``stored`` holds its values
    under its columns' names; a rollback (of the transaction or of any savepoint) drops what
    is still waiting, so a caller lets nothing wait across a savepoint it begins (a held
    batch of the registry begins none)."""
    session.info.setdefault(_WAITING, []).append(stored)


def write_waiting(session: Session) -> None:
    """Insert the objects `insert_on_flush` left waiting, a statement per model and set of
    columns given, and put them in the session as stored (their defaults filled in, later
    changes tracked as updates). Called before every flush and commit, and by `insert_rows`:
    a flush with nothing else to do returns at once, without calling its hooks."""
    waiting = session.info.pop(_WAITING, None)
    if not waiting:
        return
    shapes: dict[tuple[type[Base], frozenset[str]], list[Base]] = {}
    for stored in waiting:
        shapes.setdefault((type(stored), frozenset(instance_state(stored).dict)), []
                          ).append(stored)
    for (model, shape), objects in shapes.items():
        table = cast(Table, model.__table__)
        columns = [column.name for column in table.columns if column.name in shape]
        defaults = _python_defaults(table, columns)
        states = [instance_state(stored).dict for stored in objects]
        for values in states:
            values.update(defaults.row())
        names = [*columns, *defaults.names()]
        _insert(session, table, [{name: values[name] for name in names} for values in states])
        for stored in objects:
            make_transient_to_detached(stored)
            session.add(stored)
        _track_inserted(session, objects)


@event.listens_for(Session, "before_flush")
def _write_waiting_before_flush(session: Session, context: Any, instances: Any) -> None:
    write_waiting(session)


@event.listens_for(Session, "before_commit")
def _write_waiting_before_commit(session: Session) -> None:
    write_waiting(session)


# The objects `insert_objects` put in a session, with the transaction (or savepoint) that
# stored them: kept in ``Session.info`` until the session commits.
_INSERTED = "diemtua_inserted_objects"


def _track_inserted(session: Session, objects: list[Any]) -> None:
    """Remember which transaction stored ``objects``. The session took them in as already
    stored, so a rollback would only expire them, not forget them as it forgets the rows it
    inserted itself; the ids they hold may then be handed out again (SQLite's next ids after
    the largest) and the session would refuse the new objects (`_forget_rolled_back`)."""
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_INSERTED, []).append((transaction, objects))


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, rolled_back: Any) -> None:
    """Expunge the objects `insert_objects` stored within a transaction or savepoint that was
    just rolled back, as the session does for the objects it inserted itself."""
    kept = []
    for transaction, objects in session.info.get(_INSERTED, ()):
        if _within(transaction, rolled_back):
            for stored in objects:
                if stored in session:
                    session.expunge(stored)
        else:
            kept.append((transaction, objects))
    session.info[_INSERTED] = kept
    session.info.pop(_WAITING, None)  # never written: nothing to forget in the database


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    session.info.pop(_INSERTED, None)


def _within(transaction: Any, outer: Any) -> bool:
    """Whether ``transaction`` is ``outer`` or began inside it (a savepoint of it)."""
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


def _reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` new ids of ``table``: drawn from its sequence on PostgreSQL; on SQLite the
    next ones after the largest, which no one else can take before this transaction ends
    (every write transaction holds SQLite's write lock from its BEGIN IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        return list(session.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                 "FROM generate_series(1, :count)"), {"table": table.name, "count": count}))
    session.flush()  # pending rows of the table hold ids too
    largest = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
    return list(range(largest + 1, largest + 1 + count))


@dataclass(frozen=True)
class _Defaults:
    """The model's Python-side defaults of the columns a row does not name: COPY, unlike an
    INSERT through SQLAlchemy, would leave them to the database. A value (``default=""``)
    is the same for every row; a callable (``default=utcnow``, ``default=list``) is called
    for each, as SQLAlchemy calls it, so rows get their own timestamps and lists."""

    fixed: dict[str, Any]
    each: dict[str, Callable[[Any], Any]]

    def names(self) -> list[str]:
        return [*self.fixed, *self.each]

    def __bool__(self) -> bool:
        return bool(self.fixed or self.each)

    def row(self) -> dict[str, Any]:
        """The default values of one row."""
        return {**self.fixed, **{name: make(None) for name, make in self.each.items()}}


def _python_defaults(table: Table, given: Sequence[str]) -> _Defaults:
    """The Python-side defaults of ``table``'s columns not in ``given``."""
    fixed: dict[str, Any] = {}
    each: dict[str, Callable[[Any], Any]] = {}
    for column in table.columns:
        default = column.default
        if column.name in given or default is None or not isinstance(default, ColumnDefault):
            continue
        if default.is_scalar:
            fixed[column.name] = default.arg
        elif default.is_callable:
            each[column.name] = default.arg
    return _Defaults(fixed, each)


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
