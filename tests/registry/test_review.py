"""A person works through the review queue: same, not the same, unsure — and every answer can
be undone, with the children's ids as they were. Real submissions, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from xml.etree.ElementTree import Element

import pytest
from sqlalchemy import select

from server.models import Child, LinkEdge, MatchCandidate, SubmissionDef, User
from server.models.registry import ReviewDecision
from server.registry.errors import InvalidDecision
from server.registry.merge import merge_children, resolve
from server.registry.review import decide, review_queue, undo
from server.registry.sync import SyncSummary, sync_pending
from server.services import Services
from sync.instance import parse_instance
from tests.registry.helpers import (
    children_of,
    consented_xml,
    find,
    household_of,
    load_households,
    submit_variant,
)


def sync(services: Services) -> SyncSummary:
    return sync_pending(services.database.sessions)


def admin_id(services: Services) -> int:
    with services.database.unit_of_work() as db:
        return db.scalars(select(User.actor_id)).one()


def renamed(given: str = "Hậu", index: int = 0) -> Callable[[Element], None]:
    """A re-report where one child's given name differs: the matcher asks a person."""
    def change(root: Element) -> None:
        child = find(household_of(root), "child")[index]
        for node in find(child, "c_full_name"):
            node.text = " ".join([*(node.text or "").split()[:-1], given])
    return change


def queued_pair(services: Services, households: int = 6) -> tuple[str, str, int]:
    """(the original child, the child the re-report made, the queue row between them)."""
    load_households(services, households)
    sync(services)
    xml = consented_xml(services)
    original = children_of(services, parse_instance(xml.encode()).instance_id)[0]
    again = submit_variant(services, xml, renamed())
    assert sync(services).queued == 1
    newcomer = children_of(services, again)[0]
    with services.database.unit_of_work() as db:
        row = db.scalars(select(MatchCandidate)).one()
        assert row.child_id == original and newcomer != original
        return original, newcomer, row.id


def test_same_merges_into_the_older_child_and_the_other_id_redirects(
        services: Services) -> None:
    original, newcomer, row_id = queued_pair(services)
    actor = admin_id(services)
    with services.database.unit_of_work() as db:
        version_before = db.get_one(Child, original).version
        row = decide(db, row_id, ReviewDecision.SAME, actor)
        assert row.status == "decided" and row.decision == "same" and row.decided_by == actor
        edge = db.get_one(LinkEdge, row.edge_id)
        assert (edge.kind, edge.source, edge.created_by) == ("link", "reviewer", actor)
        assert edge.explanation and edge.explanation["fields"]  # the matcher's explanation
    with services.database.unit_of_work() as db:
        gone = db.get_one(Child, newcomer)
        assert gone.status == "merged" and gone.merged_into == original
        assert resolve(db, newcomer).id == original
        assert db.get_one(Child, original).version > version_before
        assert review_queue(db, gone.project_id) == []


def test_undo_of_same_gives_both_children_their_ids_back(services: Services) -> None:
    original, newcomer, row_id = queued_pair(services)
    xml_ids = _instances(services)
    with services.database.unit_of_work() as db:
        decide(db, row_id, ReviewDecision.SAME, None)
    assert children_of(services, xml_ids[-1])[0] == original
    with services.database.unit_of_work() as db:
        row = undo(db, row_id, None)
        assert row.status == "open" and row.decision is None and row.edge_id is None
    assert children_of(services, xml_ids[-1])[0] == newcomer
    assert children_of(services, xml_ids[0])[0] == original
    with services.database.unit_of_work() as db:
        back = db.get_one(Child, newcomer)
        assert back.status == "active" and back.merged_into is None and back.full_name
        edges = db.scalars(select(LinkEdge).where(LinkEdge.source == "reviewer")).all()
        assert len(edges) == 1 and edges[0].revoked_at is not None  # revoked, not deleted
        assert [r.id for r in review_queue(db, back.project_id)] == [row_id]


def test_a_row_decided_again_after_undo_merges_again(services: Services) -> None:
    original, newcomer, row_id = queued_pair(services)
    with services.database.unit_of_work() as db:
        decide(db, row_id, ReviewDecision.SAME, None)
        undo(db, row_id, None)
        decide(db, row_id, ReviewDecision.SAME, None)
        assert resolve(db, newcomer).id == original


def test_not_same_keeps_two_children_that_no_merge_and_no_re_report_joins(
        services: Services) -> None:
    original, newcomer, row_id = queued_pair(services)
    variant = _instances(services)[-1]
    with services.database.unit_of_work() as db:
        row = decide(db, row_id, ReviewDecision.NOT_SAME, None)
        edge = db.get_one(LinkEdge, row.edge_id)
        assert edge.kind == "cannot_link" and edge.source == "reviewer"
    with services.database.unit_of_work() as db, pytest.raises(InvalidDecision):
        merge_children(db, original, newcomer, None)
    with services.database.unit_of_work() as db:
        xml = db.scalars(select(SubmissionDef.xml).where(
            SubmissionDef.instance_id == variant)).one()
    again = submit_variant(services, xml)  # the same re-report, sent once more
    summary = sync(services)
    assert summary.linked >= 1 and summary.queued == 0
    assert children_of(services, again)[0] == newcomer
    with services.database.unit_of_work() as db:
        assert db.get_one(Child, newcomer).status == "active"
        assert db.get_one(Child, original).status == "active"


def test_unsure_stays_in_the_queue_after_undecided_rows(services: Services) -> None:
    load_households(services, 8)
    sync(services)
    first, second = _two_households(services)
    submit_variant(services, first, renamed("Hậu"))
    submit_variant(services, second, renamed("Khoa"))
    assert sync(services).queued == 2
    with services.database.unit_of_work() as db:
        project_id = db.scalars(select(Child.project_id)).first()
        assert project_id is not None
        rows = review_queue(db, project_id)
        assert len(rows) == 2 and rows[0].score >= rows[1].score
        unsure = decide(db, rows[0].id, ReviewDecision.UNSURE, None)
        assert unsure.status == "open" and unsure.decision == "unsure" and unsure.decided_at
        assert [r.id for r in review_queue(db, project_id)] == [rows[1].id, rows[0].id]
        with pytest.raises(InvalidDecision):  # unsure is no decision to undo
            undo(db, unsure.id, None)
        decided = decide(db, unsure.id, ReviewDecision.NOT_SAME, None)  # decided later on
        assert decided.status == "decided"
        assert [r.id for r in review_queue(db, project_id)] == [rows[1].id]


def test_deciding_twice_and_undoing_an_open_row_are_refused(services: Services) -> None:
    _, _, row_id = queued_pair(services)
    with services.database.unit_of_work() as db, pytest.raises(InvalidDecision):
        undo(db, row_id, None)
    with services.database.unit_of_work() as db:
        decide(db, row_id, ReviewDecision.NOT_SAME, None)
    with services.database.unit_of_work() as db, pytest.raises(InvalidDecision):
        decide(db, row_id, ReviewDecision.SAME, None)
    with services.database.unit_of_work() as db:
        assert undo(db, row_id, None).status == "open"
        assert db.scalars(select(LinkEdge.revoked_at).where(
            LinkEdge.kind == "cannot_link")).one() is not None


def test_a_merge_made_outside_the_queue_settles_the_row_it_answers(
        services: Services) -> None:
    original, newcomer, row_id = queued_pair(services)
    with services.database.unit_of_work() as db:
        merge_children(db, original, newcomer, None)
        row = db.get_one(MatchCandidate, row_id)
        edge = db.get_one(LinkEdge, row.edge_id)
        assert (row.status, row.decision) == ("decided", None)
        assert edge.explanation and edge.explanation["rule"] == "reviewer_merge"
        assert review_queue(db, db.get_one(Child, original).project_id) == []
        with pytest.raises(InvalidDecision, match="settled by a merge"):
            undo(db, row_id, None)


def test_review_queue_shows_a_village_only_its_rows(services: Services) -> None:
    original, _, row_id = queued_pair(services)
    with services.database.unit_of_work() as db:
        child = db.get_one(Child, original)
        assert [r.id for r in review_queue(db, child.project_id, [child.village_code])] == [
            row_id]
        assert review_queue(db, child.project_id, ["NO-SUCH-VILLAGE"]) == []
        assert review_queue(db, child.project_id + 1) == []


def _two_households(services: Services) -> tuple[str, str]:
    with services.database.unit_of_work() as db:
        found = [x for x in db.scalars(select(SubmissionDef.xml).order_by(SubmissionDef.id))
                 if "<household>" in x and "<child>" in x]
    assert len(found) >= 2
    return found[0], found[1]


def _instances(services: Services) -> list[str]:
    with services.database.unit_of_work() as db:
        return list(db.scalars(select(SubmissionDef.instance_id).order_by(SubmissionDef.id)))
