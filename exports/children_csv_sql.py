"""The children CSV written by PostgreSQL itself, and the one door to either path.

`children_csv` is what the download (`server.api.v1.registry_exports`) and the CLI
(`diemtua registry export`) call. On SQLite it reads rows (`exports.registry_rows`) and formats
them in Python (`exports.children_export.csv_chunks`). On PostgreSQL that costs about 22 µs a
row, half reading and half formatting: 15 to 22 s for a commune's 500,000 children against a
goal of 5 s (docs/reports.md §5). There the database renders the whole file instead —
`COPY (SELECT …) TO STDOUT WITH (FORMAT csv)` — and this module relays its bytes as they come.

Both paths write the same bytes, and tests/exports/test_children_csv_sql.py compares them
byte for byte. What makes them agree:

* **Rows and what a caller sees.** The SELECT is `children_query`'s (filters, access, order by
  folded name then id); an episode or flag counts when `RegistryAccess.episode_clause` /
  `flag_clause` admits it, which is `sees_category` in SQL. A village scope holding the empty
  code is the one case those two read differently; it takes the Python path.
* **Cells.** The labels are `ChildrenLayout.labels` (each already through `safe_cell`), bound
  as parameters of a CASE; an unknown code is written as it is, made safe: `safe_cell` as a
  SQL CASE, the same first characters, the same plain-number pattern. What only Python reads
  the same way — the age from a partial or broken date of birth, the support list split on
  any whitespace — and the village names are computed by the Python functions once per
  distinct value in the commune and passed as a jsonb look-up (a commune has a few thousand
  distinct dates of birth). Numbers and the day of first report go out as COPY writes an
  integer and a date (DateStyle ISO).
* **Shown episode.** The open one, else the latest, ties by creation order (the episode's
  id), as `shown_episodes` reads the stream `iter_child_rows` orders the same way.
* **Quoting.** COPY quotes a field holding a comma, a quote, CR or LF, doubling quotes — as
  Python's csv does with its CRLF terminator. It also quotes a field equal to its NULL marker,
  the empty string, where csv writes nothing: every empty cell is NULL here (`NULLIF`). A
  lone backslash-dot is quoted only in a file of one column; these rows have dozens.
* **Line ends.** COPY ends rows with LF and cannot be told otherwise; the file keeps the CRLF
  of RFC 4180 and Excel that the Python path writes. The relay turns into CRLF each LF that
  lies outside quotes: in COPY's output a quote only opens or closes a quoted field (one
  inside is doubled), so the parity of the quotes so far says whether an LF ends a row or is
  part of a name.

Plain Python over SQLAlchemy, no Flask. Run it inside `Database.read_snapshot()`: the lookups
and the COPY then read one registry.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Date,
    Integer,
    Select,
    String,
    Text,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    not_,
    null,
    select,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by, distinct_on
from sqlalchemy.orm import QueryableAttribute, Session

from exports import children_export as export
from exports.cells import FORMULA_STARTS, PLAIN_NUMBER, safe_cell
from exports.registry_rows import ChildRow, age_on, iter_child_rows, village_names
from server.models import Child, ChildCategoryEpisode, Flag
from server.models.registry import ChildStatus, FlagStatus
from server.registry.access import RegistryAccess
from server.registry.child_code import DAMM
from server.registry.children_query import ChildFilters, children_query, name_pattern

# COPY ends each row with LF; the file ends them with CRLF (module docstring).
_QUOTE, _LF, _CRLF = b'"', b"\n", b"\r\n"
_OPEN = ("provisional", "confirmed")
_VIETNAM_OFFSET = "7 hours"
_DAY = "DD/MM/FMYYYY"  # `children_export._day_text`: 05/03/2026
_PROGRESS_ROWS = 1000


def children_csv(session: Session, project_id: int, access: RegistryAccess,
                 filters: ChildFilters, layout: export.ChildrenLayout, *, bom: bool = False,
                 raw: bool = False, on_rows: Callable[[int], None] | None = None
                 ) -> Iterator[bytes]:
    """The children CSV in chunks: rendered by PostgreSQL when it can be (module docstring),
    else row by row in Python — the same bytes either way. `on_rows(n)` hears how many rows
    have gone out so far (the CLI's progress bar)."""
    if copies(session, access):
        yield from _copy_chunks(session, project_id, access, filters, layout, bom=bom, raw=raw,
                                on_rows=on_rows)
        return
    rows = iter_child_rows(session, project_id, access, filters, layout.today)
    yield from export.csv_chunks(_counted(rows, on_rows), layout, bom=bom, raw=raw)


def copies(session: Session, access: RegistryAccess) -> bool:
    """Whether the database writes this caller's file: PostgreSQL, and no village scope holding
    the empty code (`VillageScope.covers` never admits it, `.clause` would)."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    scopes = (access.read, access.sensitive, access.health)
    return not any(scope.codes is not None and "" in scope.codes for scope in scopes)


def _counted(rows: Iterable[ChildRow], on_rows: Callable[[int], None] | None
             ) -> Iterator[ChildRow]:
    if on_rows is None:
        yield from rows
        return
    done = 0
    for done, row in enumerate(rows, 1):
        yield row
        if done % _PROGRESS_ROWS == 0:
            on_rows(done)
    on_rows(done)


# --- the relay -----------------------------------------------------------------------------


class _LineEnds:
    """COPY's LF line ends as CRLF, LFs inside quoted cells untouched (module docstring);
    counts the rows it has ended."""

    def __init__(self) -> None:
        self.inside = False  # within a quoted field, across chunks
        self.rows = 0

    def __call__(self, data: bytes) -> bytes:
        parts = data.split(_QUOTE)
        for index in range(1 if self.inside else 0, len(parts), 2):
            self.rows += parts[index].count(_LF)
            parts[index] = parts[index].replace(_LF, _CRLF)
        if len(parts) % 2 == 0:  # an odd number of quotes
            self.inside = not self.inside
        return _QUOTE.join(parts)


def _copy_chunks(session: Session, project_id: int, access: RegistryAccess,
                 filters: ChildFilters, layout: export.ChildrenLayout, *, bom: bool, raw: bool,
                 on_rows: Callable[[int], None] | None) -> Iterator[bytes]:
    header = io.StringIO()
    csv.writer(header).writerow(export.csv_header_cells(layout, raw=raw))
    yield (export.BOM if bom else b"") + header.getvalue().encode("utf-8")
    statement = copy_statement(session, project_id, access, filters, layout, raw=raw)
    compiled = statement.compile(dialect=session.get_bind().dialect,
                                 compile_kwargs={"render_postcompile": True})
    query, params = without_name_filter(str(compiled), compiled.params, filters)
    sql = f"COPY ({query}) TO STDOUT WITH (FORMAT csv, ENCODING 'UTF8')"
    if (pattern := name_pattern(filters)) is not None:
        session.execute(sql_text("SELECT set_config(:name, :value, true)"),
                        {"name": NAME_SETTING, "value": pattern})
    # JIT would compile this one query's hundred expressions for over a second, more than it
    # saves on 500,000 rows; a day is written as ISO text whatever the server's DateStyle.
    # For this transaction only.
    session.execute(sql_text("SET LOCAL jit = off"))
    session.execute(sql_text("SET LOCAL datestyle = 'ISO'"))
    driver = session.connection().connection.driver_connection
    assert driver is not None
    line_ends = _LineEnds()
    # COPY takes no parameters: psycopg binds them on the client, each value quoted as a
    # literal by psycopg itself, never formatted into the SQL here.
    with driver.cursor() as cursor, cursor.copy(sql, params) as copy:
        pending: list[Any] = []
        size = 0
        for data in copy:
            pending.append(data)
            size += len(data)
            if size >= export.CHUNK_BYTES:
                yield line_ends(b"".join(pending))
                pending, size = [], 0
                if on_rows is not None:
                    on_rows(line_ends.rows)
        if pending:
            yield line_ends(b"".join(pending))
    if on_rows is not None:
        on_rows(line_ends.rows)


# The `q` filter is part of a child's name. COPY takes no parameters: psycopg writes each value
# into the statement's text, and PostgreSQL's own log prints the text of a statement that fails
# (a client that hangs up mid-download), so the name would reach the database server's log.
# It travels instead in a setting of the transaction, set by an ordinary statement whose
# parameter never appears in its text (docs/privacy.md: no names in logs).
NAME_SETTING = "diemtua.children_name_filter"


def without_name_filter(query: str, params: Mapping[str, Any], filters: ChildFilters
                        ) -> tuple[str, dict[str, Any]]:
    """`query` reading the `q` pattern from `NAME_SETTING` instead of a parameter."""
    pattern = name_pattern(filters)
    kept = dict(params)
    if pattern is None:
        return query, kept
    for name, value in params.items():
        if value == pattern:
            query = query.replace(f"%({name})s", f"current_setting('{NAME_SETTING}')")
            del kept[name]
    return query, kept


# --- the SELECT ----------------------------------------------------------------------------

# A column or an expression on columns.
Sql = ColumnElement[Any] | QueryableAttribute[Any]
Text_ = Callable[[Sql], Sql]


def _safe(value: Sql) -> ColumnElement[Any]:
    """`exports.cells.safe_cell` in SQL: the same first characters, the same plain number."""
    formula_start = func.ascii(value).in_([ord(start) for start in FORMULA_STARTS])
    plain_number = value.regexp_match(f"^{PLAIN_NUMBER.pattern}$")
    return case((and_(formula_start, not_(plain_number)), literal("'", String) + value),
                else_=value)


def _same(value: Sql) -> Sql:
    return value


def _same_text(value: str) -> str:
    return value


def _free_text(value: Sql, text: Text_) -> ColumnElement[Any]:
    return func.nullif(text(value), "")


def _label(table: Mapping[str, str], code: Sql, text: Text_, *,
           empty: bool = True) -> ColumnElement[Any]:
    """`children_export._label`: its label, else the code through `text`; nothing for no code
    unless `empty` is False (an episode's status). A CASE: cheaper than a jsonb look-up for a
    handful of codes."""
    whens: dict[str, Any] = {known: label for known, label in table.items() if label}
    if empty:
        whens[""] = null()
    return case(whens, value=code, else_=text(code))


def _lookup(table: Mapping[str, str], key: Sql) -> ColumnElement[Any]:
    """`table[key]`, NULL when absent: a jsonb parameter for tables of thousands of keys."""
    document = cast(literal(json.dumps(table, ensure_ascii=False), String), JSONB)
    return document.op("->>")(key)


def _vietnam(moment: Sql) -> ColumnElement[Any]:
    """A stored naive-UTC time as the wall-clock time in Vietnam (`exports.periods`)."""
    return moment + literal_column(f"interval '{_VIETNAM_OFFSET}'")


def _damm_blocks() -> list[int]:
    """The Damm table for three digits at a time: entry `interim * 1000 + ddd` is the interim
    digit after `ddd` (zero-padded)."""
    table = []
    for interim in range(10):
        for block in range(1000):
            digit = interim
            for char in f"{block:03d}":
                digit = DAMM[digit][int(char)]
            table.append(digit)
    return table


_DAMM_BLOCKS = "('{" + ",".join(map(str, _damm_blocks())) + "}'::int[])"


def _child_code(number: Sql) -> ColumnElement[Any]:
    """`format_code`: at least five digits, a dash, the Damm check digit. Leading zeros leave a
    Damm digit as it is (row 0 of the table maps 0 to 0), so the digits of the number itself
    will do, read three at a time: four look-ups cover the largest INTEGER."""
    table = literal_column(_DAMM_BLOCKS, ARRAY(Integer))
    blocks = (number // 10**9, (number // 10**6) % 1000, (number // 1000) % 1000, number % 1000)
    interim: ColumnElement[Any] = table[blocks[0] + 1]
    for block in blocks[1:]:
        interim = table[interim * 1000 + block + 1]
    digits = case((number < 10000, func.lpad(cast(number, Text), 5, "0")),
                  else_=cast(number, Text))
    return digits + "-" + cast(interim, Text)


def _distinct_cells(session: Session, project_id: int, layout: export.ChildrenLayout,
                    text: Callable[[str], str]) -> tuple[dict[str, str], dict[str, str]]:
    """The age cell of every distinct date of birth in the commune, and the support cell of
    every distinct support answer, written by the Python path's own functions."""
    sets = func.grouping_sets(Child.dob, Child.support)
    rows = session.execute(select(func.grouping(Child.dob), Child.dob, Child.support)
                           .where(Child.project_id == project_id).group_by(sets))
    ages: dict[str, str] = {}
    support: dict[str, str] = {}
    for by_support, dob, answer in rows:
        if by_support:
            if answer and (cell := export.support_cell(answer.split(), layout.labels, text)):
                support[answer] = cell
        elif dob and (age := age_on(dob, layout.today)) is not None:
            ages[dob] = str(age)
    return ages, support


def _village_cells(session: Session, project_id: int, text: Callable[[str], str]
                   ) -> dict[str, str]:
    return {code: cell for code, name in village_names(session, project_id).items()
            if (cell := text(name))}


def _category_cells(project_id: int, access: RegistryAccess, layout: export.ChildrenLayout
                    ) -> Select[Any]:
    """Per child (in the children's order), the sentence of each category column
    (`ChildrenLayout._category_sentence`) for the episode shown: the open one, else the
    latest, ties by creation."""
    episode = ChildCategoryEpisode
    owner = Child.__table__.alias("owner")
    labels = layout.labels
    # The status label; an unknown status through `safe_cell` even in a raw file, as there.
    status = _label(labels.status, episode.status, _safe, empty=False)
    ended = case((episode.ended_at.is_(None), status),
                 else_=status + " " + func.to_char(_vietnam(episode.ended_at), _DAY))
    opened = case((episode.opened_at.is_(None), status),
                  else_=status + " " + labels.since + " "
                  + func.to_char(_vietnam(episode.opened_at), _DAY))
    sentence = func.nullif(case((episode.status == "ended", ended), else_=opened), "")
    shown = (select(owner.c.name_folded, episode.child_id, episode.code,
                    sentence.label("cell"))
             .join(owner, owner.c.id == episode.child_id)
             .where(owner.c.project_id == project_id,
                    owner.c.status == ChildStatus.ACTIVE.value,
                    episode.code.in_(layout.codes), access.episode_clause(owner.c.village_code))
             .ext(distinct_on(owner.c.name_folded, episode.child_id, episode.code))
             .order_by(owner.c.name_folded, episode.child_id, episode.code,
                       episode.status.in_(_OPEN).desc(), episode.opened_at.desc(),
                       episode.id.desc())
             .subquery("shown"))
    return (select(shown.c.name_folded, shown.c.child_id,
                   *(func.max(shown.c.cell).filter(shown.c.code == code).label(f"c{index}")
                     for index, code in enumerate(layout.codes)))
            .group_by(shown.c.name_folded, shown.c.child_id)
            .order_by(shown.c.name_folded, shown.c.child_id))


def _flag_cells(project_id: int, access: RegistryAccess, layout: export.ChildrenLayout,
                text: Text_) -> Select[Any]:
    """Per child (in the children's order), how many unclosed flags it sees in full, and their
    kinds, each once, oldest flag first (`children_export._flag_kinds`)."""
    owner = Child.__table__.alias("flag_owner")
    first_of_kind = func.row_number().over(partition_by=(Flag.child_id, Flag.kind),
                                           order_by=(Flag.raised_at, Flag.id)) == 1
    seen = (select(owner.c.name_folded, Flag.child_id, Flag.kind, Flag.raised_at, Flag.id,
                   first_of_kind.label("first"))
            .join(owner, owner.c.id == Flag.child_id)
            .where(owner.c.project_id == project_id,
                   owner.c.status == ChildStatus.ACTIVE.value,
                   Flag.status != FlagStatus.CLOSED.value,
                   access.flag_clause(owner.c.village_code))
            .subquery("seen"))
    # An empty kind stays an empty item between separators, as "; ".join writes it.
    kind = func.coalesce(_label(layout.labels.flag_kinds, seen.c.kind, text), "")
    kinds = func.string_agg(kind, aggregate_order_by(literal("; ", String), seen.c.raised_at,
                                                     seen.c.id)).filter(seen.c.first)
    return (select(seen.c.name_folded, seen.c.child_id, func.count().label("count"),
                   func.nullif(kinds, "").label("kinds"))
            .group_by(seen.c.name_folded, seen.c.child_id)
            .order_by(seen.c.name_folded, seen.c.child_id))


def copy_statement(session: Session, project_id: int, access: RegistryAccess,
                   filters: ChildFilters, layout: export.ChildrenLayout, *,
                   raw: bool = False) -> Select[Any]:
    """The SELECT whose rows are the CSV's rows, cell for cell (`ChildrenLayout.csv_cells`),
    an empty cell NULL. Reads the look-up tables it needs from `session`.

    The categories and flags are joined on the children's own order (folded name, id), so
    PostgreSQL merges three sorted streams, as `iter_child_rows` does, and never sorts the
    wide rows of the file (an external sort of 180 MB)."""
    text = _same if raw else _safe
    python_text = _same_text if raw else safe_cell
    ages, support = _distinct_cells(session, project_id, layout, python_text)
    villages = _village_cells(session, project_id, python_text)
    labels = layout.labels
    joined: Any = Child.__table__
    categories: list[Sql] = []
    if layout.codes:
        shown = _category_cells(project_id, access, layout).subquery("categories")
        joined = joined.outerjoin(shown, and_(shown.c.name_folded == Child.name_folded,
                                              shown.c.child_id == Child.id))
        categories = [shown.c[f"c{index}"] for index in range(len(layout.codes))]
    flags = _flag_cells(project_id, access, layout, text).subquery("flags")
    joined = joined.outerjoin(flags, and_(flags.c.name_folded == Child.name_folded,
                                          flags.c.child_id == Child.id))
    cells: list[Sql] = [
        _child_code(Child.number), _free_text(Child.full_name, text),
        _free_text(Child.home_name, text),
        _label(labels.sex, Child.sex, text), func.nullif(Child.dob, ""),
        _label(labels.precision, Child.dob_precision, text), _lookup(ages, Child.dob),
        _lookup(villages, Child.village_code), _free_text(Child.village_code, text),
        _free_text(Child.household_head, text), _free_text(Child.mother_name, text),
        _free_text(Child.father_name, text), _free_text(Child.guardian_name, text),
        _free_text(Child.personal_id, text),
        *categories,
        _label(labels.care, Child.care_arrangement, text),
        _label(labels.yes_no, Child.care_registered, text),
        _lookup(support, Child.support),
        _label(labels.school, Child.school_status, text),
        _label(labels.vital, Child.vital_status, text),
        _free_text(Child.last_visit, text),
        # Numbers and the day as COPY writes them (DateStyle ISO: 2026-03-12).
        func.coalesce(flags.c["count"], 0), flags.c.kinds,
        cast(_vietnam(Child.first_reported_at), Date), Child.report_count,
    ]
    query = children_query(project_id, access, filters, layout.today)
    return (query.with_only_columns(*(cell.label(f"k{index}")
                                      for index, cell in enumerate(cells)))
            .select_from(joined))

