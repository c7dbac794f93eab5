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

from exports.records import Node, Step, iso_utc, odata_id, parent_trail, read_instance
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


class _Builder:
    def __init__(self, instance_id: str, options: RowOptions) -> None:
        self.instance_id = instance_id
        self.options = options

    def wanted(self, item: Field) -> bool:
        return self.options.fields is None or item.path in self.options.fields

    def frame(self, fields: tuple[Field, ...], node: Node) -> tuple[dict[str, Any],
                                                                     dict[str, Any]]:
        """The values of `fields`, and apart the repeat links (Central writes them last)."""
        values: dict[str, Any] = {}
        links: dict[str, Any] = {}
        for item in fields:
            if not self.wanted(item):
                continue
            name = odata_name(item.name)
            if item.type == STRUCTURE:
                inner, inner_links = self.frame(item.children, node)
                values[name] = {**inner, **inner_links}
            elif item.type == REPEAT:
                instances = node.repeats.get(item.path, [])
                if instances:
                    links[f"{name}@odata.navigationLink"] = navigation_link(
                        self.instance_id, instances[0].trail)
                if instances and self.options.expand:
                    links[name] = [self.expanded(item, sub) for sub in instances]
            else:
                values[name] = typed_value(item.type, node.values.get(item.path),
                                           self.options.wkt)
        return values, links

    def expanded(self, repeat: Field, node: Node) -> dict[str, Any]:
        values, links = self.frame(repeat.children, node)
        return {**values, "__id": odata_id(self.instance_id, node.trail), **links}

    def keep(self, key: str) -> bool:
        metadata = self.options.metadata
        return metadata is None or key in metadata


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
    node = read_instance(row.xml, schema)
    builder = _Builder(row.instance_id, options)
    data, links = builder.frame(schema.fields, node)
    if builder.keep("__id"):
        data["__id"] = row.instance_id
    system = _system_part(row, options.metadata)
    if system is not None:
        data["__system"] = system
    return {**data, **links}


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
    node = read_instance(row.xml, schema)
    builder = _Builder(row.instance_id, options)
    parent_name = parent_key(repeat, schema)
    rows: list[dict[str, Any]] = []
    for sub in _repeat_nodes(node, repeat.path):
        data, links = builder.frame(repeat.children, sub)
        if builder.keep("__id"):
            data["__id"] = odata_id(row.instance_id, sub.trail)
        if builder.keep(parent_name):
            data[parent_name] = odata_id(row.instance_id, parent_trail(sub.trail))
        rows.append({**data, **links})
    return rows
