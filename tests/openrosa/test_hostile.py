"""Hostile and broken input is refused cleanly and changes nothing: no row, no file.

Central parses leniently and stores what it can; we refuse, so the phone keeps its copy and
its user sees why (docs/openrosa.md §9).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from server.services import Services
from tests.conftest import PNG_BYTES, Screening, new_instance_id, screening_xml
from tests.openrosa.checks import assert_created, assert_refused, attachments
from tests.openrosa.conftest import Phone, app_with, serving, snapshot
from tests.openrosa.wire import PartSpec, collect_headers, multipart, submission_parts

BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                  b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
                  b'<data id="child_screening" version="2026112801"><household_head>&lol3;'
                  b"</household_head><meta><instanceID>uuid:laughs</instanceID></meta></data>")
XXE = (b'<?xml version="1.0"?><!DOCTYPE data [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       b'<data id="child_screening" version="2026112801"><household_head>&xxe;'
       b"</household_head><meta><instanceID>uuid:xxe</instanceID></meta></data>")
DEEP = (b'<data id="child_screening" version="2026112801">' + b"<a>" * 10_000
        + b"</a>" * 10_000 + b"<meta><instanceID>uuid:deep</instanceID></meta></data>")


def _valid() -> bytes:
    return screening_xml(new_instance_id(), "Nguyễn Văn An").encode()


HOSTILE_XML = {
    "billion laughs": BILLION_LAUGHS,
    "XXE to /etc/passwd": XXE,
    "truncated": _valid()[:-40],
    "not UTF-8": screening_xml(new_instance_id(), "Nguyễn Văn An").encode("utf-16"),
    "latin-1 bytes": screening_xml(new_instance_id(), "Café").encode("latin-1"),
    "10 000 levels deep": DEEP,
    "path in attachment name": screening_xml(new_instance_id(), "A",
                                             photo="../../etc/passwd").encode(),
    "folder in attachment name": screening_xml(new_instance_id(), "A", photo="a/b.jpg").encode(),
    "instanceID too long": screening_xml("uuid:" + "x" * 300, "A").encode(),
}


@pytest.mark.parametrize("xml", HOSTILE_XML.values(), ids=HOSTILE_XML.keys())
def test_hostile_or_broken_xml_is_refused_and_changes_nothing(
        services: Services, phone: Phone, xml: bytes) -> None:
    before = snapshot(services)
    files = {"house.png": PNG_BYTES, "passwd": PNG_BYTES, "b.jpg": PNG_BYTES}
    assert_refused(phone.submit(xml, files), 400, "400.40")
    assert snapshot(services) == before


def test_refused_edit_leaves_the_original_current(services: Services, phone: Phone) -> None:
    original = new_instance_id()
    assert_created(phone.submit(screening_xml(original, "A", photo="house.png"),
                                {"house.png": PNG_BYTES}))
    before = snapshot(services)
    hostile_edit = screening_xml(new_instance_id(), "A", photo="../x.png",
                                 deprecated_id=original)
    assert_refused(phone.submit(hostile_edit), 400, "400.40")
    assert snapshot(services) == before
    assert_created(phone.submit(screening_xml(new_instance_id(), "A", deprecated_id=original)))


def test_paths_in_multipart_names_never_reach_the_disk(services: Services, phone: Phone,
                                                       tmp_path: Path) -> None:
    """Attachments are matched by field name to the names in the XML and stored by content
    hash, so neither a path in a part's file name nor in its field name is ever used."""
    instance_id = new_instance_id()
    xml = screening_xml(instance_id, "B", photo="house.png").encode()
    parts = [PartSpec("xml_submission_file", xml, "../../instance.xml", "text/xml"),
             PartSpec("house.png", PNG_BYTES, "../../../../tmp/evil.png", "image/png"),
             PartSpec("../../etc/passwd", b"root:x:0:0", "../../etc/passwd"),
             PartSpec("a/b.jpg", b"\xff\xd8", "/abs/a/b.jpg")]
    before = snapshot(services)
    assert_created(phone.post(parts))
    assert attachments(services, instance_id) == {"house.png": PNG_BYTES}
    new_files = snapshot(services).files - before.files
    assert len(new_files) == 1 and next(iter(new_files)).startswith("blobs/")
    assert not list(tmp_path.parent.glob("**/evil.png"))


def test_multipart_headers_that_are_not_utf8_are_400_39(services: Services, phone: Phone
                                                         ) -> None:
    xml = screening_xml(new_instance_id(), "E", photo="house.png").encode()
    body = (b"--b\r\nContent-Disposition: form-data; name=\"xml_submission_file\"; "
            b"filename=\"i.xml\"\r\n\r\n" + xml + b"\r\n--b\r\nContent-Disposition: "
            b"form-data; name=\"h\xe9use.png\"; filename=\"h\xe9use.png\"\r\n\r\n"
            + PNG_BYTES + b"\r\n--b--\r\n")
    before = snapshot(services)
    response = phone.client.post(f"{phone.base}/submission", data=body,
                                 content_type="multipart/form-data; boundary=b",
                                 headers=collect_headers())
    assert_refused(response, 400, "400.39")
    assert snapshot(services) == before


def test_thousands_of_parts_are_refused_and_change_nothing(services: Services,
                                                           phone: Phone) -> None:
    before = snapshot(services)
    parts = submission_parts(_valid()) + [PartSpec(f"f{i}.png", b"x", f"f{i}.png")
                                          for i in range(3000)]
    text = assert_refused(phone.post(parts), 413, "413.1")
    assert "parts" in text
    assert snapshot(services) == before


def test_body_above_the_limit_is_413_in_openrosa_xml(services: Services, screening: Screening,
                                                     phone: Phone) -> None:
    small = Phone(app_with(services, max_submission_bytes=4096).test_client(),
                  phone.project_id, phone.token)
    before = snapshot(services)
    xml = screening_xml(new_instance_id(), "C", photo="house.png")
    text = assert_refused(small.submit(xml, {"house.png": b"\x00" * 8000}), 413, "413.1")
    assert "4096" in text
    assert snapshot(services) == before
    assert_created(small.submit(xml))


def test_streamed_body_above_the_limit_is_413_in_openrosa_xml(
        services: Services, screening: Screening, phone: Phone) -> None:
    """Chunked, so no Content-Length to refuse up front: Werkzeug raises only when the limit
    is crossed while reading, and the answer must still be OpenRosa XML (real HTTP)."""
    with serving(app_with(services, max_submission_bytes=4096)) as url:
        before = snapshot(services)
        xml = screening_xml(new_instance_id(), "D", photo="house.png")
        body, content_type = multipart(submission_parts(xml, {"house.png": b"\x01" * 6000}))
        chunks = (body[i:i + 1000] for i in range(0, len(body), 1000))
        response = requests.post(f"{url}{phone.base}/submission", data=chunks, timeout=10,
                                 headers={**collect_headers(), "Content-Type": content_type})
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert b"4096" in response.content and b"OpenRosaResponse" in response.content
    assert snapshot(services) == before
