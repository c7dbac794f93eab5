"""Merging and unmerging children outside the queue: stable ids, redirects, refusals, and
records that are never changed — on SQLite and PostgreSQL."""

from __future__ import annotations

from xml.etree.ElementTree import Element

import pytest
from sqlalchemy import func, select

from server.models import Child, ChildMembership, ChildRecord, LinkEdge, MatchCandidate
from server.models.registry import ReviewDecision
from server.registry.errors import InvalidDecision, NotFound
from server.registry.merge import merge_children, resolve, unmerge_record
from server.registry.review import decide, review_queue, undo
from server.registry.view import records_of
from server.services import Services
from sync.instance import parse_instance
from tests.registry.helpers import (
    children_of,
    consented_xml,
    find,
    household_of,
    load_households,
    strip_marks,
    submit_variant,
)
from tests.registry.test_review import queued_pair, sync


def _record_of(services: Services, instance_id: str, index: int = 1) -> int:
    with services.database.unit_of_work() as db:
        return db.scalars(select(ChildRecord.id).where(
            ChildRecord.source_key == f"{instance_id}#{index}")).one()


def _without_marks(root: Element) -> None:
    for child in find(household_of(root), "child"):
        for name in ("c_full_name", "c_mother_name", "c_father_name"):
            for node in find(child, name):
                node.text = strip_marks(node.text or "")


def test_unmerge_takes_a_linked_re_report_out_and_it_stays_out(services: Services) -> None:
    load_households(services, 6)
    sync(services)
    xml = consented_xml(services)
    first = parse_instance(xml.encode()).instance_id
    original = children_of(services, first)
    again = submit_variant(services, xml, _without_marks)
    assert sync(services).linked == len(original)
    assert children_of(services, again) == original  # the re-report without marks is linked
    record_id = _record_of(services, again)
    with services.database.unit_of_work() as db:
        record_before = db.get_one(ChildRecord, record_id).full_name
        version_before = db.get_one(Child, original[0]).version
        own = unmerge_record(db, record_id, None)
    assert own != original[0] and children_of(services, again)[0] == own
    assert children_of(services, first) == original
    with services.database.unit_of_work() as db:
        edges = db.scalars(select(LinkEdge).where(
            (LinkEdge.record_a == record_id) | (LinkEdge.record_b == record_id))).all()
        assert {(e.kind, e.revoked_at is None) for e in edges} == {
            ("link", False), ("cannot_link", True)}
        assert db.get_one(ChildRecord, record_id).full_name == record_before  # never changed
        split_off = db.get_one(Child, own)
        assert split_off.full_name == record_before and split_off.version == 1
        assert db.get_one(Child, original[0]).version > version_before
        with pytest.raises(InvalidDecision):  # nothing left to take it out of
            unmerge_record(db, record_id, None)
        with pytest.raises(InvalidDecision):  # and it cannot be merged back by hand
            merge_children(db, original[0], own, None)


def test_unmerge_of_a_merged_record_brings_its_former_id_back(services: Services) -> None:
    original, newcomer, _ = queued_pair(services)
    with services.database.unit_of_work() as db:
        merged = merge_children(db, newcomer, original, None)  # argument order does not matter
        assert merged.id == original
        record_ids = [r.id for r in records_of(db, original)]
        assert len(record_ids) == 2
        moved = max(record_ids)  # the re-report's record
        assert unmerge_record(db, moved, None) == newcomer
    with services.database.unit_of_work() as db:
        assert resolve(db, newcomer).id == newcomer
        assert [r.id for r in records_of(db, newcomer)] == [moved]
        assert [r.id for r in records_of(db, original)] == [min(record_ids)]


def test_merge_keeps_the_older_id_and_leaves_a_redirect(services: Services) -> None:
    original, newcomer, _ = queued_pair(services)
    with services.database.unit_of_work() as db:
        assert merge_children(db, newcomer, original, None).id == original
    with services.database.unit_of_work() as db:
        gone = db.get_one(Child, newcomer)
        assert (gone.status, gone.merged_into) == ("merged", original)
        assert resolve(db, newcomer).id == original
        assert db.scalar(select(func.count()).select_from(ChildMembership).where(
            ChildMembership.child_id == newcomer)) == 0
        with pytest.raises(InvalidDecision):
            merge_children(db, original, newcomer, None)  # already one child
        with pytest.raises(NotFound):
            resolve(db, original, project_id=gone.project_id + 1)
        with pytest.raises(NotFound):
            resolve(db, "no-such-child")


def test_two_children_of_one_household_visit_are_never_merged(services: Services) -> None:
    load_households(services, 6)
    sync(services)
    xml = consented_xml(services)
    siblings = children_of(services, parse_instance(xml.encode()).instance_id)
    with services.database.unit_of_work() as db, pytest.raises(InvalidDecision,
                                                               match="one household visit"):
        merge_children(db, siblings[0], siblings[1], None)


def test_two_different_valid_personal_ids_are_never_one_child(services: Services) -> None:
    load_households(services, 12)
    sync(services)
    with services.database.unit_of_work() as db:
        records = [r for r in db.scalars(select(ChildRecord).order_by(ChildRecord.id))
                   if len(r.personal_id) == 12]
        first = records[0]
        other = next(r for r in records if r.household_key != first.household_key)
        children = [db.scalars(select(ChildMembership.child_id).where(
            ChildMembership.record_id == r.id)).one() for r in (first, other)]
        with pytest.raises(InvalidDecision, match="personal ID"):
            merge_children(db, children[0], children[1], None)


def test_taking_out_the_record_that_held_a_child_together_keeps_the_rest_one_child(
        services: Services) -> None:
    load_households(services, 6)
    sync(services)
    xml = consented_xml(services)
    first = parse_instance(xml.encode()).instance_id
    child = children_of(services, first)[0]
    reports = [first, submit_variant(services, xml, _without_marks), submit_variant(services, xml)]
    sync(services)
    assert {children_of(services, r)[0] for r in reports} == {child}
    records = [_record_of(services, r) for r in reports]
    with services.database.unit_of_work() as db:
        links = db.scalars(select(LinkEdge).where(LinkEdge.record_b.in_(records))).all()
        assert len(links) == 2  # three records, two edges: one record joins the other two
        hub = max(records, key=lambda r: sum(r in (e.record_a, e.record_b) for e in links))
        own = unmerge_record(db, hub, None)
        kept = db.scalars(select(LinkEdge).where(LinkEdge.revoked_at.is_(None),
                                                 LinkEdge.kind == "link")).all()
        assert [e.explanation and e.explanation["rule"] for e in kept
                if e.source == "reviewer"] == ["kept_together"]
    rest = [r for r in reports if _record_of(services, r) != hub]
    assert [children_of(services, r)[0] for r in rest] == [child, child]
    assert children_of(services, reports[records.index(hub)])[0] == own != child


def test_a_merge_leaves_one_open_row_per_record_and_child_the_highest_score(
        services: Services) -> None:
    original, newcomer, row_id = queued_pair(services)
    with services.database.unit_of_work() as db:
        # A third child's record the matcher found ambiguous between the two children: the
        # sync writes one row per candidate, each naming the record it was compared with.
        other = db.scalars(select(ChildMembership.record_id).where(
            ChildMembership.child_id.not_in([original, newcomer]))
            .order_by(ChildMembership.record_id)).first()
        assert other is not None
        rows = []
        for child_id, score in ((original, 20.8), (newcomer, 20.95)):
            compared = records_of(db, child_id)[0].id
            row = MatchCandidate(record_id=other, child_id=child_id, score=score,
                                 reasons=["AMBIGUOUS"],
                                 explanation={"other_record_id": str(compared)})
            db.add(row)
            rows.append(row)
        db.flush()
        to_original, to_newcomer = (row.id for row in rows)
        project_id = db.get_one(Child, original).project_id
    with services.database.unit_of_work() as db:
        edge_id = decide(db, row_id, ReviewDecision.SAME, None).edge_id
        open_rows = [r for r in review_queue(db, project_id) if r.record_id == other]
        assert [(r.id, r.child_id) for r in open_rows] == [(to_newcomer, original)]
        dropped = db.get_one(MatchCandidate, to_original)
        assert (dropped.status, dropped.decision, dropped.edge_id) == ("decided", None, edge_id)
    with services.database.unit_of_work() as db:
        undo(db, row_id, None)  # the merge undone: both rows are back, each with its child
        back = {r.id: r.child_id for r in review_queue(db, project_id) if r.record_id == other}
        assert back == {to_original: original, to_newcomer: newcomer}
