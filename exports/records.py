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
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import Element

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


def _fill(node: Node, element: Element, prefix: str, trail: tuple[Step, ...],
          lookup: dict[str, Field], counters: dict[str, int]) -> None:
    for child in element:
        path = f"{prefix}/{local_name(child.tag)}"
        known = lookup.get(path)
        if known is None:
            continue
        if known.type == REPEAT:
            # Iterations are counted per enclosing row, across any groups in between.
            index = counters.get(path, -1) + 1
            counters[path] = index
            inner = (*trail, Step(known, index))
            sub = Node(trail=inner)
            node.repeats.setdefault(path, []).append(sub)
            _fill(sub, child, path, inner, lookup, {})
        elif known.type == STRUCTURE:
            _fill(node, child, path, (*trail, Step(known)), lookup, counters)
        else:
            node.values[path] = _text(child)


def read_instance(xml: str | bytes, schema: FormSchema) -> Node:
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    root = parse_xml(data)
    top = Node()
    _fill(top, root, "", (), {f.path: f for f in schema.walk()}, {})
    return top


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
