"""Real household submissions for the registry tests, sent through the phones' ingest path."""

from __future__ import annotations

import copy
import unicodedata
import uuid
from collections.abc import Callable
from datetime import date
from xml.etree.ElementTree import Element, SubElement, tostring

from sqlalchemy import select

from server.demo import load_demo
from server.models import ChildMembership, ChildRecord, Form, SubmissionDef
from server.operations.submissions import SubmissionContext, receive_submission
from server.services import Services
from sync.instance import parse_instance
from sync.safe_xml import local_name, parse_xml

TODAY = date(2026, 11, 29)


def load_households(services: Services, count: int) -> None:
    load_demo(services, households=count, today=TODAY, revisits=False)


def strip_marks(text: str) -> str:
    """A name typed on a phone without a Vietnamese keyboard: ``Đặng Thủy`` → ``Dang Thuy``."""
    text = text.replace("Đ", "D").replace("đ", "d")
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if not unicodedata.combining(c))


def find(node: Element, name: str) -> list[Element]:
    return [child for child in node if local_name(child.tag) == name]


def household_of(root: Element) -> Element:
    return find(root, "household")[0]


def consented_xml(services: Services, min_children: int = 2) -> str:
    """The XML of the first synced-or-not household visit with enough children."""
    with services.database.unit_of_work() as db:
        for version in db.scalars(select(SubmissionDef).order_by(SubmissionDef.id)):
            root = parse_xml(version.xml.encode())
            groups = find(root, "household")
            if groups and len(find(groups[0], "child")) >= min_children:
                return version.xml
    raise AssertionError("no household with enough children")


def submit_variant(services: Services, xml: str,
                   change: Callable[[Element], None] | None = None, *,
                   edit_of: str | None = None) -> str:
    """Submit ``xml`` again as a new visit (a fresh instanceID), after ``change``; → instanceID.

    With ``edit_of`` it is an edit of that instance (``meta/deprecatedID``), as Collect sends.
    """
    root = copy.deepcopy(parse_xml(xml.encode()))
    instance_id = f"uuid:{uuid.uuid4()}"
    for meta in find(root, "meta"):
        for item in find(meta, "instanceID"):
            item.text = instance_id
        if edit_of is not None:
            SubElement(meta, "deprecatedID").text = edit_of
    if change is not None:
        change(root)
    data = tostring(root, encoding="unicode").encode()
    with services.database.unit_of_work() as db:
        form = db.scalars(select(Form).where(Form.xml_form_id == "household_screening")).one()
        submitter = db.scalars(select(SubmissionDef.submitter_id).limit(1)).one()
        receive_submission(db, services.store, form, parse_instance(data), data, {},
                           SubmissionContext(submitter, "collect:test", "test"))
    return instance_id


def newborn_named(full_name: str) -> Callable[[Element], None]:
    """A change for `submit_variant`: the visit's first child becomes a baby never reported
    before (a new name, born this month, no personal ID, a fresh entity id)."""
    def change(root: Element) -> None:
        child = find(household_of(root), "child")[0]
        for name, value in (("c_full_name", full_name), ("c_dob_value", "2026-11-01"),
                            ("c_pid", "")):
            for node in find(child, name):
                node.text = value
        for entity in child.iter():
            if entity.get("id"):
                entity.set("id", str(uuid.uuid4()))

    return change


def children_of(services: Services, instance_id: str) -> list[str]:
    """The registry child of each record of one visit, in repeat order."""
    with services.database.unit_of_work() as db:
        rows = db.execute(
            select(ChildRecord.source_key, ChildMembership.child_id)
            .join(ChildMembership, ChildMembership.record_id == ChildRecord.id)
            .where(ChildRecord.source_key.like(f"{instance_id}#%"))).all()
    return [child for _, child in sorted(rows, key=lambda r: int(r[0].rsplit("#", 1)[1]))]
