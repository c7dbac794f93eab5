"""Parsing XML from phones and uploads without trusting it.

Refused outright: DTDs and entity declarations (billion laughs, XXE), external references,
absurd nesting, non-UTF-8 or truncated documents. Central parses leniently and stores broken
XML; we refuse it so the phone keeps its copy and the user sees why.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError
from xml.etree.ElementTree import fromstring as parse_with_c_parser

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


def _refuse_declarations(data: bytes) -> None:
    """Refuse a document that declares a document type or an entity, anywhere in it: without
    a declaration no entity can be expanded nor fetched (in text they would be escaped)."""
    upper = data.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise UnsafeXml("document type declarations and entities are not allowed")


def parse_xml(data: bytes, max_depth: int = MAX_DEPTH) -> Element:
    _refuse_declarations(data)
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


def parse_accepted_xml(data: bytes) -> Element:
    """A document `parse_xml` accepted before (a stored submission, which the sync reads
    again), parsed by the standard library's C parser: about four times faster than
    defusedxml's, which is pure Python so that it can hook the parser's handlers. The
    declarations are still refused, so bytes that never went through `parse_xml` cannot
    bring an entity in."""
    _refuse_declarations(data)
    try:
        return parse_with_c_parser(data)  # noqa: S314 -- accepted before; no declaration
    except ParseError as exc:
        raise UnsafeXml(f"the XML is not well-formed or is truncated ({exc})") from exc


def local_name(tag: str) -> str:
    """`{namespace}name` → `name`: submissions arrive with or without namespaces."""
    return tag.rsplit("}", 1)[-1]
