"""What the server needs to know about an XForm definition, read from its XML.

The form id and version identify it to phones; binary questions tell which submission parts
are expected attachments; `jr://` references tell which media files the form needs; entity
declarations tell which entity lists it creates or updates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

from sync.safe_xml import local_name, parse_xml

XFORMS_NS = "http://www.w3.org/2002/xforms"
HTML_NS = "http://www.w3.org/1999/xhtml"

_MEDIA_REF = re.compile(r"jr://(images|audio|video|file|file-csv)/([^\s\"'<>]+)")
_MEDIA_TYPES = {"images": "image", "audio": "audio", "video": "video", "file": "file",
                "file-csv": "file"}


class InvalidXForm(ValueError):
    """The document is not an XForm the server can serve."""


@dataclass(frozen=True)
class MediaReference:
    name: str
    type: str


@dataclass(frozen=True)
class XFormInfo:
    xml_form_id: str
    version: str
    title: str | None
    binary_paths: list[str] = field(default_factory=list)
    media: list[MediaReference] = field(default_factory=list)
    entity_datasets: list[str] = field(default_factory=list)


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if local_name(child.tag) == name]


def _primary_instance(model: Element) -> Element:
    instances = _children(model, "instance")
    for instance in instances:
        if "id" not in instance.attrib:
            roots = list(instance)
            if len(roots) != 1:
                raise InvalidXForm("the primary instance must have exactly one root element")
            return roots[0]
    raise InvalidXForm("the form has no primary instance")


def _binary_paths(model: Element) -> list[str]:
    return sorted(
        bind.attrib["nodeset"]
        for bind in _children(model, "bind")
        if bind.attrib.get("type", "").split(":")[-1] == "binary" and "nodeset" in bind.attrib
    )


def _media(xml_text: str) -> list[MediaReference]:
    found: dict[str, MediaReference] = {}
    for kind, name in _MEDIA_REF.findall(xml_text):
        # Collect flattens sub-paths to the last component; so do we.
        basename = name.rsplit("/", 1)[-1]
        found.setdefault(basename, MediaReference(basename, _MEDIA_TYPES[kind]))
    return sorted(found.values(), key=lambda ref: ref.name)


def _entity_datasets(instance_root: Element) -> list[str]:
    return sorted({
        element.attrib["dataset"]
        for element in instance_root.iter()
        if local_name(element.tag) == "entity" and element.attrib.get("dataset")
    })


def _head_and_model(root: Element) -> tuple[Element, Element]:
    if local_name(root.tag) != "html":
        raise InvalidXForm("the root element must be h:html")
    heads = _children(root, "head")
    if not heads:
        raise InvalidXForm("the form has no h:head")
    models = _children(heads[0], "model")
    if not models:
        raise InvalidXForm("the form has no model")
    return heads[0], models[0]


def primary_instance(xml: bytes | str) -> Element:
    """The root of the XForm's primary instance: the shape every submission of it has."""
    root = parse_xml(xml.encode("utf-8") if isinstance(xml, str) else xml)
    return _primary_instance(_head_and_model(root)[1])


def inspect_xform(xml: bytes) -> XFormInfo:
    head, model = _head_and_model(parse_xml(xml))
    instance_root = _primary_instance(model)
    form_id = instance_root.attrib.get("id", "").strip()
    if not form_id:
        raise InvalidXForm("the primary instance has no id attribute (form_id)")
    titles = _children(head, "title")
    title = (titles[0].text or "").strip() or None if titles else None
    return XFormInfo(
        xml_form_id=form_id,
        version=instance_root.attrib.get("version", "").strip(),
        title=title,
        binary_paths=_binary_paths(model),
        media=_media(xml.decode("utf-8")),
        entity_datasets=_entity_datasets(instance_root),
    )
