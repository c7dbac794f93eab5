"""ODK Collect on the wire, for tests: its headers, its multipart bodies, its XML parsers.

Built from Collect's own code as docs/openrosa.md describes it (C-prov, C-conn, C-parse), so the
tests judge our answers the way a phone would, not the way we wish it did.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring

FORM_LIST_NS = "http://openrosa.org/xforms/xformsList"
MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
RESPONSE_NS = "http://openrosa.org/http/response"
DEVICE_ID = "collect:Xy7Qk2Lm9Pz4Rt6W"
USER_AGENT = ("org.odk.collect.android/v2026.2.0 Dalvik/2.1.0 (Linux; U; Android 14; "
              "SM-A155F Build/UP1A.231005.007)")


def collect_date() -> str:
    """Collect's `E, dd MMM yyyy hh:mm:ss zz` in GMT: `hh` is a 12-hour clock, so afternoon
    dates are wrong — a server must not check them."""
    return time.strftime("%a, %d %b %Y %I:%M:%S GMT", time.gmtime())


def collect_headers() -> dict[str, str]:
    return {"X-OpenRosa-Version": "1.0", "Date": collect_date(), "User-Agent": USER_AGENT,
            "Accept-Encoding": "gzip"}


@dataclass(frozen=True)
class PartSpec:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


def multipart(parts: list[PartSpec], boundary: str | None = None) -> tuple[bytes, str]:
    """A body as OkHttp's MultipartBody.FORM writes it (a Content-Length on every part)."""
    boundary = boundary or str(uuid.uuid4())
    chunks: list[bytes] = []
    for part in parts:
        disposition = f'form-data; name="{part.name}"'
        if part.filename is not None:
            disposition += f'; filename="{part.filename}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if part.content_type:
            head += f"Content-Type: {part.content_type}\r\n"
        head += f"Content-Length: {len(part.data)}\r\n\r\n"
        chunks += [head.encode("utf-8"), part.data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def submission_parts(xml: bytes | str, files: dict[str, bytes] | None = None,
                     incomplete: bool = False) -> list[PartSpec]:
    """Collect's POST: the instance first as `text/xml`, then one part per file, named by
    its file name, then `*isIncomplete*` when more POSTs follow (C-conn, C-up)."""
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    parts = [PartSpec("xml_submission_file", data, "instance.xml", "text/xml")]
    for name, body in (files or {}).items():
        kind = "image/png" if name.endswith(".png") else "application/octet-stream"
        parts.append(PartSpec(name, body, name, kind))
    if incomplete:
        parts.append(PartSpec("*isIncomplete*", b"yes"))
    return parts


class CollectParseError(AssertionError):
    """What Collect's parser would throw: the whole document is rejected."""


def _children(element: Element, namespace: str) -> list[Element]:
    return [child for child in element if child.tag.startswith(f"{{{namespace}}}")]


def _text(element: Element, namespace: str, name: str) -> str | None:
    for child in _children(element, namespace):
        if child.tag.split("}")[1] == name:
            return (child.text or "").strip()
    return None


def parse_form_list(body: bytes) -> list[dict[str, str | None]]:
    """C-parse `parseFormList`: namespace-aware; one bad `<xform>` rejects the whole list."""
    root = fromstring(body)
    if root.tag.lower() != f"{{{FORM_LIST_NS}}}xforms".lower():
        raise CollectParseError(f"root is {root.tag}")
    forms = []
    for xform in _children(root, FORM_LIST_NS):
        if xform.tag.split("}")[1].lower() != "xform":
            continue
        item = {name: _text(xform, FORM_LIST_NS, name) for name in
                ("formID", "name", "version", "hash", "downloadUrl", "manifestUrl")}
        if not (item["formID"] and item["name"] and item["downloadUrl"]):
            raise CollectParseError(f"an xform lacks formID, name or downloadUrl: {item}")
        if not (item["hash"] or "").startswith("md5:"):
            raise CollectParseError(f"hash {item['hash']!r}: Collect throws FormWithNoHash")
        if "version" not in {c.tag.split("}")[1] for c in xform}:
            raise CollectParseError("no <version> element (Central always sends one)")
        forms.append(item)
    return forms


def parse_manifest(body: bytes) -> list[dict[str, str | None]]:
    """C-parse `parseManifest`: every mediaFile needs filename, hash and downloadUrl."""
    root = fromstring(body)
    if root.tag != f"{{{MANIFEST_NS}}}manifest":
        raise CollectParseError(f"root is {root.tag}")
    files = []
    for media in _children(root, MANIFEST_NS):
        if media.tag.split("}")[1].lower() != "mediafile":
            continue
        item = {name: _text(media, MANIFEST_NS, name)
                for name in ("filename", "hash", "downloadUrl")}
        item["type"] = media.attrib.get("type")
        if not (item["filename"] and item["hash"] and item["downloadUrl"]):
            raise CollectParseError(f"a mediaFile lacks filename, hash or downloadUrl: {item}")
        files.append(item)
    return files


def response_message(body: bytes) -> tuple[str, str]:
    """C-msg: `<message>` (unprefixed) inside `OpenRosaResponse`: (nature, text)."""
    root = fromstring(body)
    assert root.tag == f"{{{RESPONSE_NS}}}OpenRosaResponse", root.tag
    message = root.find(f"{{{RESPONSE_NS}}}message")
    assert message is not None
    return message.attrib.get("nature", ""), message.text or ""


def md5_hash(data: bytes) -> str:
    return "md5:" + hashlib.md5(data, usedforsecurity=False).hexdigest()
