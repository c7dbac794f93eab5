"""The rows of many children at once from one table keyed by ``child_id`` (their memberships,
category episodes, follow-up updates), found by an index probe per child whatever the
database's statistics.

The sync and the import read these for every child a batch links records to. For a plain
``child_id IN (…)`` PostgreSQL, with no statistics yet on a registry that grew in the same
run (or statistics taken when it was a tenth of its size), plans a scan of the whole table:
27 ms a sync group instead of 2 for the memberships (README "Benchmarks"). On PostgreSQL the
ids are therefore one array, each looked up by a LATERAL subquery that OFFSET 0 keeps from
being flattened into a join. SQLite, which keeps no statistics, probes the index for the IN
list by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import ARRAY, Executable, Select, Table, Text, bindparam, func, select, true
from sqlalchemy.orm import Session

from server.db import Base, plain_rows

# The parameter every statement here takes: the children's ids, a list.
CHILD_IDS = "child_ids"


def table_of(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


@cache
def rows_of_children(model: type[Base], postgresql: bool, order_by: Sequence[str] = ()
                     ) -> Select[Any]:
    """All columns of ``model``'s rows of the children ``:child_ids``, as plain rows."""
    table = table_of(model)
    if not postgresql:
        return (select(table).where(table.c.child_id.in_(bindparam(CHILD_IDS, expanding=True)))
                .order_by(*(table.c[name] for name in order_by)))
    wanted = (func.unnest(bindparam(CHILD_IDS, type_=ARRAY(Text)))
              .table_valued("id").render_derived(name="wanted"))
    rows = select(table).where(table.c.child_id == wanted.c.id).offset(0).lateral("r")
    return (select(rows).select_from(wanted.join(rows, true()))
            .order_by(*(rows.c[name] for name in order_by)))


@cache
def _entities_of_children(model: type[Base], postgresql: bool, order_by: Sequence[str]
                          ) -> Executable:
    return select(model).from_statement(rows_of_children(model, postgresql, order_by))


def read_rows(session: Session, model: type[Base], child_ids: Sequence[str],
              order_by: Sequence[str] = ()) -> Sequence[Any]:
    """`rows_of_children` as plain rows (`server.db.plain_rows`)."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    return plain_rows(session, rows_of_children(model, postgresql, tuple(order_by)),
                      {CHILD_IDS: list(child_ids)})


def read_entities(session: Session, model: type[Base], child_ids: Sequence[str],
                  order_by: Sequence[str] = ()) -> Sequence[Any]:
    """The ORM objects of ``model`` for the children (the session flushes first, as its
    queries do)."""
    postgresql = session.get_bind().dialect.name == "postgresql"
    return session.scalars(_entities_of_children(model, postgresql, tuple(order_by)),
                           {CHILD_IDS: list(child_ids)}).all()
