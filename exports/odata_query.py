"""OData request options as Central reads them: table path, `$select`, paging, `$skiptoken`.

Kept apart from the HTTP layer so it can be tested with plain values; errors carry Central's
problem codes (lib/util/problem.js) and the route turns them into Problems.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exports.odata import SYSTEM_FIELDS, RowOptions, parent_key
from exports.odata_filter import QueryError
from exports.schema import REPEAT, STRUCTURE, Field, FormSchema, odata_name


def _not_found() -> QueryError:
    return QueryError("404.1", "Could not find the resource you were looking for.")


_KEYED = re.compile(r"^([^(]+)\('([^']*)'\)$")


@dataclass(frozen=True)
class TablePath:
    """`Submissions.child`, or a navigation path `Submissions('uuid:…')/child('…')/visit`:
    the table, the one submission it is limited to, and the parent row it is limited to
    as (parent id property, id)."""

    table: str
    instance_id: str | None = None
    within: tuple[str, str] | None = None


def parse_table_path(path: str) -> TablePath:
    segments = path.split("/")
    if len(segments) == 1 and _KEYED.match(path) is None:
        return TablePath(path)
    names: list[str] = []
    keys: list[tuple[int, str]] = []
    for position, segment in enumerate(segments):
        keyed = _KEYED.match(segment)
        names.append(keyed.group(1) if keyed else segment)
        if keyed:
            keys.append((position, keyed.group(2)))
    if not keys or keys[0][0] != 0:
        raise _not_found()
    last, value = keys[-1]
    within = (f"__{'-'.join(names[: last + 1])}-id", value) if last > 0 else None
    return TablePath(".".join(names), instance_id=keys[0][1], within=within)


def resolve_table(schema: FormSchema, table: str) -> Field | None:
    """None for `Submissions`, else the repeat field of `Submissions.<path>`; 404 otherwise."""
    parts = table.split(".")
    if parts[0] != "Submissions":
        raise _not_found()
    if len(parts) == 1:
        return None
    for item in schema.walk():
        sanitized = [odata_name(p) for p in item.path.strip("/").split("/")]
        if sanitized == parts[1:] and item.type == REPEAT:
            return item
    raise _not_found()


def _is_true(value: str | None) -> bool:
    return (value or "").lower() == "true"


def _non_negative(args: Mapping[str, str], name: str) -> int | None:
    raw = args.get(name)
    if raw is None or raw == "":
        return None
    try:
        return max(0, int(raw))
    except ValueError as exc:
        raise QueryError("400.11", f"Invalid input data type: expected ({name}) to be "
                         "(integer)") from exc


@dataclass(frozen=True)
class Paging:
    top: int | None
    skip: int
    count: bool
    skiptoken: dict[str, Any] | None


def parse_skiptoken(token: str) -> dict[str, Any]:
    """Central's own format: `01` then base64 of a JSON object."""
    invalid = QueryError("400.35", "Invalid $skiptoken")
    if not token.startswith("01"):
        raise invalid
    try:
        parsed = json.loads(base64.b64decode(token[2:], validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise invalid from exc
    if not isinstance(parsed, dict):
        raise invalid
    return parsed


def make_skiptoken(data: dict[str, Any]) -> str:
    compact = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return "01" + base64.b64encode(compact.encode("utf-8")).decode("ascii")


def paging(args: Mapping[str, str]) -> Paging:
    token = args.get("$skiptoken")
    return Paging(top=_non_negative(args, "$top"),
                  # Central ignores $skip once a $skiptoken carries the position.
                  skip=0 if token else (_non_negative(args, "$skip") or 0),
                  count=_is_true(args.get("$count")),
                  skiptoken=parse_skiptoken(token) if token else None)


def _descendants(item: Field) -> set[str]:
    found: set[str] = set()
    for child in item.children:
        found.add(child.path)
        if child.type == STRUCTURE:
            found |= _descendants(child)
    return found


def _select_fields(schema: FormSchema, table: Field | None, names: list[str]) -> set[str]:
    by_path = {"/".join(odata_name(p) for p in f.path.strip("/").split("/")): f
               for f in schema.walk()}
    parents = {f.path: p for p in schema.walk() for f in p.children}
    base = ("/".join(odata_name(p) for p in table.path.strip("/").split("/")) + "/"
            if table else "")
    chosen: set[str] = set()
    for name in names:
        item = by_path.get(base + name)
        if item is None:
            raise QueryError("400.23", f"Could not find a property named '{name}'")
        chosen.add(item.path)
        ancestor = parents.get(item.path)
        while ancestor is not None and ancestor is not table:
            if ancestor.type == REPEAT:
                raise QueryError("400.24", f"The given OData select property '{name}' uses "
                                 "features not supported by this server.")
            chosen.add(ancestor.path)
            ancestor = parents.get(ancestor.path)
        if item.type == STRUCTURE:
            chosen |= _descendants(item)
    return chosen


def row_options(schema: FormSchema, table: Field | None, args: Mapping[str, str]) -> RowOptions:
    """`$select`, `$expand`, `$wkt` for the rows of `table` (None: `Submissions`)."""
    select = args.get("$select")
    expand = args.get("$expand")
    if expand is not None and expand != "*":
        raise QueryError("501.6", "The given OData expand expression is not supported by this "
                         f'server: "{expand}". Currently, only "$expand=*" is supported.')
    wkt = _is_true(args.get("$wkt"))
    if select is None or select.strip() in {"", "*"}:
        return RowOptions(wkt=wkt, expand=expand == "*")
    if expand is not None:
        raise QueryError("501.11", "This server doesn't support $select query parameter with "
                         "$expand.")
    names = [name.strip() for name in select.split(",") if name.strip()]
    allowed = {"__id"} | ({parent_key(table, schema)} if table else
                          {"__system", *(f"__system/{k}" for k in SYSTEM_FIELDS)})
    metadata = frozenset(name for name in names if name.startswith("__"))
    unknown = [name for name in metadata if name not in allowed]
    if unknown:
        raise QueryError("400.23", f"Could not find a property named '{unknown[0]}'")
    fields = _select_fields(schema, table, [n for n in names if not n.startswith("__")])
    return RowOptions(wkt=wkt, fields=frozenset(fields), metadata=metadata)
