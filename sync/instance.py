"""Reading a submitted form instance: which form, which version, which record, which files.

Both JavaRosa (Collect) and ODK Web Forms serialisations are accepted: with or without the XML
declaration and namespaces (tests/fixtures/real-clients holds one of each).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from sync.safe_xml import UnsafeXml, local_name, parse_accepted_xml, parse_xml

# A file name a phone may send: no folders, no control characters, not "." or "..".
_SAFE_NAME = re.compile(r"^[^/\\\x00-\x1f\x7f]{1,255}$")
# The database keeps instance ids in 255 characters; JavaRosa's are `uuid:` + 36.
MAX_INSTANCE_ID = 255


class MissingFormId(UnsafeXml):
    """The instance has no root `id`: Central answers 400.2, not a broken-XML error."""


@dataclass(frozen=True)
class ParsedInstance:
    root: Element
    form_id: str
    version: str
    instance_id: str
    instance_id_generated: bool
    deprecated_id: str | None
    instance_name: str | None


def _meta_text(root: Element, name: str) -> str | None:
    """`meta/<name>` (or `orx:meta`), falling back to a root-level `<name>` as Central does."""
    for child in root:
        if local_name(child.tag) == "meta":
            for item in child:
                if local_name(item.tag) == name and (item.text or "").strip():
                    return (item.text or "").strip()
    for child in root:
        if local_name(child.tag) == name and (child.text or "").strip():
            return (child.text or "").strip()
    return None


def parse_instance(data: bytes, *, accepted: bool = False) -> ParsedInstance:
    """Read a submitted instance; raises UnsafeXml (MissingFormId without a root `id`).

    ``accepted``: the bytes of a stored submission, which this function checked when it came
    in (`sync.safe_xml.parse_accepted_xml` reads them again faster)."""
    root = parse_accepted_xml(data) if accepted else parse_xml(data)
    form_id = root.attrib.get("id", "").strip()
    if not form_id:
        raise MissingFormId("the form instance has no id attribute, so its form is unknown")
    instance_id = _meta_text(root, "instanceID")
    if instance_id is not None and len(instance_id) > MAX_INSTANCE_ID:
        raise UnsafeXml(f"the instanceID is longer than {MAX_INSTANCE_ID} characters")
    generated = instance_id is None
    return ParsedInstance(
        root=root,
        form_id=form_id,
        version=root.attrib.get("version", "").strip(),
        # Central generates a bare UUID when a client sends none; so do we.
        instance_id=instance_id or str(uuid.uuid4()),
        instance_id_generated=generated,
        deprecated_id=_meta_text(root, "deprecatedID"),
        instance_name=_meta_text(root, "instanceName"),
    )


def _elements_at(root: Element, path: str) -> list[Element]:
    """All elements at an absolute instance path like `/data/child/photo` (repeats included)."""
    steps = [step for step in path.split("/") if step][1:]
    current = [root]
    for step in steps:
        current = [child for node in current for child in node if local_name(child.tag) == step]
    return current


def attachment_names(instance: ParsedInstance, binary_paths: list[str]) -> list[str]:
    """File names the instance refers to through its binary questions, in document order."""
    names: list[str] = []
    for path in binary_paths:
        for element in _elements_at(instance.root, path):
            name = (element.text or "").strip()
            if not name:
                continue
            if not _SAFE_NAME.match(name) or name in {".", ".."}:
                raise UnsafeXml(f"the attachment name {name!r} is not a plain file name")
            if name not in names:
                names.append(name)
    return names


def is_safe_file_name(name: str) -> bool:
    return bool(_SAFE_NAME.match(name)) and name not in {".", ".."}
