"""Submissions as ODK Central's OData JSON rows: typed values, `__id`, `__system`, repeat tables.

Central (lib/data/odata.js) gives every field of the table, `null` when absent; groups become
nested objects; a repeat becomes a `<name>@odata.navigationLink` to its own table
`Submissions.<repeat>`, whose rows carry `__id` and their parent's id as
`__Submissions[-<repeat>…]-id`. `int` and `decimal` become numbers, geopoints GeoJSON (or WKT
with `$wkt=true`), `dateTime` values like `+07` gain their missing `:00`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from exports.records import InstanceReader, Node, Step, iso_utc, odata_id, parent_trail
from exports.schema import REPEAT, STRUCTURE, Field, FormSchema, odata_name
from exports.source import ExportRow

SYSTEM_FIELDS = ("submissionDate", "updatedAt", "submitterId", "submitterName",
                 "attachmentsPresent", "attachmentsExpected", "status", "reviewState",
                 "deviceId", "edits", "formVersion", "deletedAt")


@dataclass(frozen=True)
class RowOptions:
    """`fields`: paths kept by `$select` (None: all); `metadata`: the `__…` names it asked for."""

    wkt: bool = False
    expand: bool = False
    fields: frozenset[str] | None = None
    metadata: frozenset[str] | None = None


_INT = re.compile(r"^\s*([+-]?\d+)")
_FLOAT = re.compile(r"^\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")
_SHORT_OFFSET = re.compile(r"[+-]\d\d$")


def _number(value: float) -> int | float | None:
    """JavaScript's view of a number: NaN is null, 12.0 is 12."""
    if math.isnan(value) or math.isinf(value):
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _float(text: str) -> float:
    match = _FLOAT.match(text)
    return float(match.group(1)) if match else math.nan


def _point(text: str) -> list[float] | None:
    parts = [_float(part) for part in text.split()]
    if len(parts) < 2 or math.isnan(parts[0]) or math.isnan(parts[1]):
        return None
    return parts


def _coordinates(parts: list[float]) -> list[int | float | None]:
    found = [_number(parts[1]), _number(parts[0])]
    if len(parts) > 2 and not math.isnan(parts[2]):
        found.append(_number(parts[2]))
    return found


def _geopoint(text: str, wkt: bool) -> Any:
    parts = _point(text)
    if parts is None:
        return None
    coordinates = _coordinates(parts)
    if wkt:
        return f"POINT ({' '.join(str(c) for c in coordinates)})"
    value: dict[str, Any] = {"type": "Point", "coordinates": coordinates}
    if len(parts) > 3 and not math.isnan(parts[3]):
        value["properties"] = {"accuracy": _number(parts[3])}
    return value


def _geo_line(text: str, kind: str, wkt: bool) -> Any:
    points = [p for p in (_point(s) for s in re.split(r"; ?", text)) if p is not None]
    if not points:
        return None
    coordinates = [_coordinates(p) for p in points]
    if wkt:
        joined = ",".join(" ".join(str(c) for c in point) for point in coordinates)
        return f"LINESTRING ({joined})" if kind == "geotrace" else f"POLYGON (({joined}))"
    value: dict[str, Any] = (
        {"type": "LineString", "coordinates": coordinates} if kind == "geotrace"
        else {"type": "Polygon", "coordinates": [coordinates]})
    accuracies = [_number(p[3]) if len(p) > 3 and p[3] else None for p in points]
    if any(a is not None for a in accuracies):
        value["properties"] = {"accuracies": accuracies}
    return value


def typed_value(kind: str, text: str | None, wkt: bool = False) -> Any:
    if text is None:
        return None
    if kind == "int":
        match = _INT.match(text)
        return int(match.group(1)) if match else None
    if kind == "decimal":
        return _number(_float(text))
    if kind == "geopoint":
        return _geopoint(text, wkt)
    if kind in {"geotrace", "geoshape"}:
        return _geo_line(text, kind, wkt)
    if kind == "dateTime":
        trimmed = text.strip()
        return f"{trimmed}:00" if _SHORT_OFFSET.search(trimmed) else trimmed
    return text


def navigation_link(instance_id: str, trail: tuple[Step, ...]) -> str:
    """`Submissions('uuid%3A…')/group/child`, with the ids of enclosing repeat instances."""
    parts = [f"Submissions('{quote(instance_id, safe='')}')"]
    for position, step in enumerate(trail):
        name = odata_name(step.field.name)
        if step.field.type == REPEAT and position < len(trail) - 1:
            parts.append(f"{name}('{odata_id(instance_id, trail[: position + 1])}')")
        else:
            parts.append(name)
    return "/".join(parts)


# Kinds whose text is the value as it is (typed_value returns it unchanged).
_CONVERTED = frozenset({"int", "decimal", "geopoint", "geotrace", "geoshape", "dateTime"})


@dataclass(frozen=True)
class _Entry:
    """One property of a frame, worked out once per request: its OData name, its field, and
    for a group the entries inside it."""

    name: str
    field: Field
    inner: tuple[_Entry, ...] = ()


class RowMaker:
    """Makes the rows of one request: the field tree, `$select` and the property names are
    worked out once, not for each of thousands of submissions (README "Benchmarks")."""

    def __init__(self, schema: FormSchema, options: RowOptions) -> None:
        self.schema = schema
        self.options = options
        self.reader = InstanceReader(schema)
        # Without $expand a submission's row only links to its repeats.
        self.submission_reader = (self.reader if options.expand
                                  else InstanceReader(schema, repeat_values=False))
        self._plans: dict[str, tuple[_Entry, ...]] = {}
        self._parent_keys: dict[str, str] = {}

    def plan(self, path: str, fields: tuple[Field, ...]) -> tuple[_Entry, ...]:
        """The entries of the frame at `path` (`""` the submission, else a repeat's path)."""
        found = self._plans.get(path)
        if found is None:
            found = self._plans[path] = self._entries(fields)
        return found

    def _entries(self, fields: tuple[Field, ...]) -> tuple[_Entry, ...]:
        wanted = self.options.fields
        return tuple(
            _Entry(odata_name(item.name), item,
                   self._entries(item.children) if item.type == STRUCTURE else ())
            for item in fields if wanted is None or item.path in wanted)

    def frame(self, entries: tuple[_Entry, ...], node: Node, instance_id: str
              ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The values of `entries`, and apart the repeat links (Central writes them last)."""
        values: dict[str, Any] = {}
        links: dict[str, Any] = {}
        for entry in entries:
            item = entry.field
            kind = item.type
            if kind == STRUCTURE:
                inner, inner_links = self.frame(entry.inner, node, instance_id)
                values[entry.name] = {**inner, **inner_links}
            elif kind == REPEAT:
                instances = node.repeats.get(item.path, [])
                if instances:
                    links[f"{entry.name}@odata.navigationLink"] = navigation_link(
                        instance_id, instances[0].trail)
                if instances and self.options.expand:
                    links[entry.name] = [self.expanded(item, sub, instance_id)
                                         for sub in instances]
            else:
                text = node.values.get(item.path)
                values[entry.name] = (typed_value(kind, text, self.options.wkt)
                                      if kind in _CONVERTED else text)
        return values, links

    def expanded(self, repeat: Field, node: Node, instance_id: str) -> dict[str, Any]:
        values, links = self.frame(self.plan(repeat.path, repeat.children), node, instance_id)
        return {**values, "__id": odata_id(instance_id, node.trail), **links}

    def keep(self, key: str) -> bool:
        metadata = self.options.metadata
        return metadata is None or key in metadata

    def submission(self, row: ExportRow) -> dict[str, Any]:
        """The `Submissions` table's row for one submission."""
        node = self.submission_reader.read(row.xml)
        data, links = self.frame(self.plan("", self.schema.fields), node, row.instance_id)
        if self.keep("__id"):
            data["__id"] = row.instance_id
        system = _system_part(row, self.options.metadata)
        if system is not None:
            data["__system"] = system
        return {**data, **links}

    def repeat(self, row: ExportRow, repeat: Field) -> list[dict[str, Any]]:
        """The rows one submission adds to the table of `repeat`, in document order."""
        node = self.reader.read(row.xml)
        parent_name = self._parent_keys.get(repeat.path)
        if parent_name is None:
            parent_name = self._parent_keys[repeat.path] = parent_key(repeat, self.schema)
        entries = self.plan(repeat.path, repeat.children)
        rows: list[dict[str, Any]] = []
        for sub in _repeat_nodes(node, repeat.path):
            data, links = self.frame(entries, sub, row.instance_id)
            if self.keep("__id"):
                data["__id"] = odata_id(row.instance_id, sub.trail)
            if self.keep(parent_name):
                data[parent_name] = odata_id(row.instance_id, parent_trail(sub.trail))
            rows.append({**data, **links})
        return rows


def _system(row: ExportRow) -> dict[str, Any]:
    return {
        "submissionDate": iso_utc(row.created_at),
        "updatedAt": iso_utc(row.updated_at),
        "submitterId": None if row.submitter_id is None else str(row.submitter_id),
        "submitterName": row.submitter_name or None,
        "attachmentsPresent": row.attachments_present,
        "attachmentsExpected": row.attachments_expected,
        "status": None,
        "reviewState": row.review_state or None,
        "deviceId": row.device_id or None,
        "edits": row.edits,
        "formVersion": row.form_version,
        "deletedAt": iso_utc(row.deleted_at),
    }


def _system_part(row: ExportRow, metadata: frozenset[str] | None) -> dict[str, Any] | None:
    system = _system(row)
    if metadata is None or "__system" in metadata:
        return system
    asked = {key for key in SYSTEM_FIELDS if f"__system/{key}" in metadata}
    return {key: system[key] for key in SYSTEM_FIELDS if key in asked} if asked else None


def submission_row(row: ExportRow, schema: FormSchema, options: RowOptions) -> dict[str, Any]:
    """The `Submissions` table's row for one submission."""
    return RowMaker(schema, options).submission(row)


def _repeat_nodes(node: Node, path: str) -> list[Node]:
    found: list[Node] = []
    for repeat_path, instances in node.repeats.items():
        for sub in instances:
            if repeat_path == path:
                found.append(sub)
            elif path.startswith(repeat_path + "/"):
                found += _repeat_nodes(sub, path)
    return found


def parent_key(repeat: Field, schema: FormSchema) -> str:
    """`__Submissions-id`, or `__Submissions-outer-id` for a repeat inside a repeat."""
    enclosing = [f for f in schema.repeats()
                 if repeat.path.startswith(f.path + "/")]
    parts = ["Submissions"]
    if enclosing:
        parts += [odata_name(step) for step in enclosing[-1].path.strip("/").split("/")]
    return f"__{'-'.join(parts)}-id"


def repeat_rows(row: ExportRow, schema: FormSchema, repeat: Field,
                options: RowOptions) -> list[dict[str, Any]]:
    """The rows one submission adds to the table of `repeat`, in document order."""
    return RowMaker(schema, options).repeat(row, repeat)
