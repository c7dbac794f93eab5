"""`sync.safe_xml`: the checking parser for what comes in, and the fast one for what the sync
reads again (a stored submission), which still refuses any declaration."""

from __future__ import annotations

from xml.etree.ElementTree import tostring

import pytest

from sync.safe_xml import UnsafeXml, parse_accepted_xml, parse_xml
from tests.conftest import new_instance_id, screening_xml
from tests.openrosa.test_hostile import BILLION_LAUGHS, XXE

LATE_DOCTYPE = (b'<?xml version="1.0"?><!--' + b" " * 5000 + b'-->'
                b'<!DOCTYPE data SYSTEM "file:///etc/passwd"><data id="child_screening"/>')


def test_a_stored_submission_reads_the_same_with_either_parser() -> None:
    xml = screening_xml(new_instance_id(), "Nguyễn Thị Ánh").encode()
    assert tostring(parse_accepted_xml(xml)) == tostring(parse_xml(xml))


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, XXE, LATE_DOCTYPE],
                         ids=["billion laughs", "XXE", "declaration after 5 KB of comment"])
def test_declarations_are_refused_by_either_parser(xml: bytes) -> None:
    for parse in (parse_xml, parse_accepted_xml):
        with pytest.raises(UnsafeXml, match="declarations"):
            parse(xml)


def test_broken_bytes_are_unsafe_xml_not_a_parse_error() -> None:
    xml = screening_xml(new_instance_id(), "Lò Văn Páo").encode()[:-30]
    with pytest.raises(UnsafeXml, match="not well-formed"):
        parse_accepted_xml(xml)
