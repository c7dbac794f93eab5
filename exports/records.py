"""One submission's XML read against the form's field tree: values per row context.

A "node" is what becomes one row: the submission itself, or one instance of a repeat group.
Groups (structures) do not make rows; their fields belong to the nearest row. Each repeat node
keeps the trail of groups and repeats that leads to it, because both of Central's row keys are
built from that trail: the CSV `KEY` (`uuid:…/child[2]`, lib/data/briefcase.js) and the OData
`__id` (a SHA-1 of `Submissions#uuid:…%%child#1`, lib/data/odata.js). Elements the form does
not define are skipped, as Central does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import Element, fromstring

from exports.schema import REPEAT, STRUCTURE, Field, FormSchema
from sync.safe_xml import local_name, parse_xml


@dataclass(frozen=True)
class Step:
    """A group or a repeat instance on the way to a node; `index` counts repeats from 0."""

    field: Field
    index: int | None = None


@dataclass
class Node:
    trail: tuple[Step, ...] = ()
    values: dict[str, str | None] = field(default_factory=dict)
    repeats: dict[str, list[Node]] = field(default_factory=dict)


def _text(element: Element) -> str | None:
    """All text directly inside the element (Central concatenates its text events)."""
    parts = [element.text or ""] + [child.tail or "" for child in element]
    joined = "".join(parts)
    return joined if joined or element.text is not None else None


Scope = dict[str, Field]


def _scopes(schema: FormSchema) -> dict[str, Scope]:
    """For the root (`""`) and every group and repeat: its fields by element name."""
    scopes: dict[str, Scope] = {"": {item.name: item for item in schema.fields}}
    for item in schema.walk():
        if item.is_structural:
            scopes[item.path] = {child.name: child for child in item.children}
    return scopes


class InstanceReader:
    """Reads the instances of one export against one field tree, which is indexed once rather
    than for every submission (exports read thousands; README "Benchmarks").

    `repeat_values=False` notes each repeat instance but reads nothing inside it: the OData
    `Submissions` table links to its repeats and shows none of their values."""

    def __init__(self, schema: FormSchema, repeat_values: bool = True) -> None:
        self._scopes = _scopes(schema)
        self._repeat_values = repeat_values

    def read(self, xml: str | bytes) -> Node:
        top = Node()
        self._fill(top, parse_stored(xml), self._scopes[""], (), {})
        return top

    def _fill(self, node: Node, element: Element, scope: Scope, trail: tuple[Step, ...],
              counters: dict[str, int]) -> None:
        values = node.values
        for child in element:
            tag = child.tag
            known = scope.get(tag)
            if known is None:
                known = scope.get(local_name(tag)) if "}" in tag else None
                if known is None:
                    continue  # an element the form does not define
            kind = known.type
            if kind == REPEAT:
                # Iterations are counted per enclosing row, across any groups in between.
                index = counters.get(known.path, -1) + 1
                counters[known.path] = index
                inner = (*trail, Step(known, index))
                sub = Node(trail=inner)
                node.repeats.setdefault(known.path, []).append(sub)
                if self._repeat_values:
                    self._fill(sub, child, self._scopes[known.path], inner, {})
            elif kind == STRUCTURE:
                self._fill(node, child, self._scopes[known.path], (*trail, Step(known)),
                           counters)
            else:
                values[known.path] = _text(child) if len(child) else child.text


def parse_stored(xml: str | bytes) -> Element:
    """A submission the server stored. It passed `sync.safe_xml.parse_xml` when it arrived;
    with no DTD in it the standard parser has nothing to expand or fetch, and it is three times
    faster than building a defusedxml parser for each document. A document that names a DTD
    all the same goes through the safe parser, which refuses it."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return parse_xml(data)
    return fromstring(data)  # noqa: S314 (no DTD: checked above)


def parent_trail(trail: tuple[Step, ...]) -> tuple[Step, ...]:
    """The trail of the row that holds this repeat instance (empty for the submission)."""
    for position in range(len(trail) - 2, -1, -1):
        if trail[position].field.type == REPEAT:
            return trail[: position + 1]
    return ()


def csv_key(instance_id: str, trail: tuple[Step, ...]) -> str:
    """Briefcase's row key: `uuid:…/group/child[1]` (1-based iterations)."""
    parts = [instance_id]
    for step in trail:
        parts.append(step.field.name if step.index is None
                     else f"{step.field.name}[{step.index + 1}]")
    return "/".join(parts)


def repeat_rows(node: Node, instance_id: str, parent_key: str | None = None
                ) -> Iterator[tuple[str, Node, str, str]]:
    """Every repeat instance inside `node`, in document order, outer before inner: its
    repeat's path, the instance, and the CSV keys of its parent row and of itself."""
    parent = parent_key or instance_id
    for path, instances in node.repeats.items():
        for sub in instances:
            key = csv_key(instance_id, sub.trail)
            yield path, sub, parent, key
            yield from repeat_rows(sub, instance_id, key)


def odata_id(instance_id: str, trail: tuple[Step, ...]) -> str:
    """Central's stable repeat row id; the submission's own id is its instanceId."""
    if not trail:
        return instance_id
    parts = [f"Submissions#{instance_id}"]
    for step in trail:
        parts.append(f"{step.field.name}#" if step.index is None
                     else f"{step.field.name}#{step.index}")
    return hashlib.sha1("%%".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def iso_utc(moment: datetime | None) -> str | None:
    """Central's timestamps: JavaScript's toISOString, milliseconds and a `Z`."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
