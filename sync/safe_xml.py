"""Parsing XML from phones and uploads without trusting it.

Refused outright: DTDs and entity declarations (billion laughs, XXE), external references,
absurd nesting, non-UTF-8 or truncated documents. Central parses leniently and stores broken
XML; we refuse it so the phone keeps its copy and the user sees why.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_DEPTH = 64


class UnsafeXml(ValueError):
    """The document is hostile or broken; the message says why in plain words."""


def _depth_exceeds(element: Element, limit: int) -> bool:
    stack = [(element, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in node)
    return False


def parse_xml(data: bytes, max_depth: int = MAX_DEPTH) -> Element:
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise UnsafeXml("document type declarations and entities are not allowed")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnsafeXml(f"the document is not valid UTF-8 (byte {exc.start})") from exc
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise UnsafeXml(f"forbidden XML construct: {type(exc).__name__}") from exc
    except ParseError as exc:
        raise UnsafeXml(f"the XML is not well-formed or is truncated ({exc})") from exc
    if _depth_exceeds(root, max_depth):
        raise UnsafeXml(f"the XML is nested deeper than {max_depth} levels")
    return root


def local_name(tag: str) -> str:
    """`{namespace}name` → `name`: submissions arrive with or without namespaces."""
    return tag.rsplit("}", 1)[-1]
