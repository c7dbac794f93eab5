"""A form's fields as a tree, read from its XForm: the shape every export walks.

Central derives the same tree (lib/data/schema.js `getFormFields`): the primary instance gives
the elements and their order, `<bind type>` gives each leaf its type, `<repeat nodeset>` in the
body marks repeat groups, and an element with children but no typed bind is a plain group.
Exports depend on that order: CSV columns and OData properties follow the instance document.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from xml.etree.ElementTree import Element

from sync.safe_xml import local_name, parse_xml

STRUCTURE = "structure"
REPEAT = "repeat"


@dataclass(frozen=True)
class Field:
    """One element of the form's instance. `path` is relative to the root: `/child/child_age`."""

    name: str
    path: str
    type: str
    select_multiple: bool = False
    children: tuple[Field, ...] = field(default=())

    @property
    def is_structural(self) -> bool:
        return self.type in (STRUCTURE, REPEAT)


@dataclass(frozen=True)
class FormSchema:
    fields: tuple[Field, ...]

    def walk(self) -> Iterator[Field]:
        """Every field depth first, in document order."""
        yield from _walk(self.fields)

    def repeats(self) -> list[Field]:
        return [f for f in self.walk() if f.type == REPEAT]

    def find(self, path: str) -> Field | None:
        return next((f for f in self.walk() if f.path == path), None)

    def without(self, hidden: frozenset[str]) -> FormSchema:
        """The same tree without the fields at `hidden` paths and everything inside them:
        every export walks the schema, so a field left out here is absent from CSV columns,
        OData properties and `$metadata` alike (docs/access.md)."""
        if not hidden:
            return self
        return FormSchema(_pruned(self.fields, hidden))


def _pruned(fields: tuple[Field, ...], hidden: frozenset[str]) -> tuple[Field, ...]:
    return tuple(
        replace(item, children=_pruned(item.children, hidden)) if item.children else item
        for item in fields if item.path not in hidden)


def _walk(fields: tuple[Field, ...]) -> Iterator[Field]:
    for item in fields:
        yield item
        yield from _walk(item.children)


def _strip_prefixes(path: str) -> str:
    """`/data/orx:meta/orx:instanceID` → `/data/meta/instanceID`; instance tags lose theirs too."""
    return "/".join(step.rsplit(":", 1)[-1] for step in path.split("/"))


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if local_name(child.tag) == name]


@dataclass(frozen=True)
class _FormParts:
    root: Element
    types: dict[str, str]
    repeats: frozenset[str]
    select_multiples: frozenset[str]


def _absolute(path: str, root_name: str) -> str:
    path = _strip_prefixes(path.strip())
    return path if path.startswith("/") else f"/{root_name}/{path}"


def _read_form(xform: bytes) -> _FormParts:
    html = parse_xml(xform)
    head = _children(html, "head")[0]
    model = _children(head, "model")[0]
    # Central takes the model's first <instance>; pyxform always writes the primary one first.
    root = _children(model, "instance")[0][0]
    root_name = local_name(root.tag)
    types = {
        _absolute(bind.attrib["nodeset"], root_name): bind.attrib["type"].rsplit(":", 1)[-1]
        for bind in _children(model, "bind")
        if "type" in bind.attrib and "nodeset" in bind.attrib
    }
    body = _children(html, "body")
    repeats: set[str] = set()
    selects: set[str] = set()
    for element in body[0].iter() if body else ():
        name = local_name(element.tag)
        ref = element.attrib.get("nodeset") or element.attrib.get("ref")
        if name == "repeat" and ref:
            repeats.add(_absolute(ref, root_name))
        elif name == "select" and ref:
            selects.add(_absolute(ref, root_name))
    return _FormParts(root, types, frozenset(repeats), frozenset(selects))


def _fields_of(parts: _FormParts, element: Element, prefix: str) -> tuple[Field, ...]:
    root_name = local_name(parts.root.tag)
    fields: list[Field] = []
    seen_repeats: set[str] = set()
    for child in element:
        name = local_name(child.tag)
        path = f"{prefix}/{name}"
        bind_path = f"/{root_name}{path}"
        if bind_path in parts.repeats:
            # The jr:template and the first instance are both in the document; one field.
            if path in seen_repeats:
                continue
            seen_repeats.add(path)
            fields.append(Field(name, path, REPEAT, children=_fields_of(parts, child, path)))
        elif bind_path in parts.types:
            fields.append(Field(name, path, parts.types[bind_path],
                                select_multiple=bind_path in parts.select_multiples))
        elif len(child) or (name == "entity" and "/meta/entity" in path):
            # A group without a typed bind; Central treats an empty <entity> the same way.
            fields.append(Field(name, path, STRUCTURE, children=_fields_of(parts, child, path)))
        else:
            fields.append(Field(name, path, "unknown"))
    return tuple(fields)


def form_schema(xform: bytes | str) -> FormSchema:
    """The field tree of an XForm definition (the exact XML served to phones)."""
    data = xform.encode("utf-8") if isinstance(xform, str) else xform
    parts = _read_form(data)
    return FormSchema(_fields_of(parts, parts.root, ""))


_ODATA_LEADING = re.compile(r"^([^A-Za-z_])")
_ODATA_INVALID = re.compile(r"[^A-Za-z0-9_]+")


def odata_name(name: str) -> str:
    """An OData identifier for a field name, as Central sanitises it (lib/util/util.js)."""
    return _ODATA_INVALID.sub("_", _ODATA_LEADING.sub(r"_\1", name))
