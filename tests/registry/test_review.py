"""A person works through the review queue: same, not the same, unsure — and every answer can
be undone, with the children's ids as they were. Real submissions, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from xml.etree.ElementTree import Element

import pytest
from sqlalchemy import select

from server.db import utcnow
from server.models import Child, ChildMembership, LinkEdge, MatchCandidate, SubmissionDef, User
from server.models.registry import ReviewDecision
from server.registry import categories
from server.registry.errors import InvalidDecision, NotFound
from server.registry.flags import close
from server.registry.merge import merge_children, resolve, unmerge_record
from server.registry.review import decide, review_queue, revoke_cannot_link, undo
from server.registry.sync import SyncSummary, sync_pending
from server.registry.view import records_of
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


def test_a_withdrawn_not_same_reopens_its_row_and_the_pair_may_be_one_child(
        services: Services) -> None:
    original, newcomer, row_id = queued_pair(services)
    actor = admin_id(services)
    with services.database.unit_of_work() as db:
        edge_id = decide(db, row_id, ReviewDecision.NOT_SAME, actor).edge_id
        assert edge_id is not None
    with services.database.unit_of_work() as db:
        edge, reopened = revoke_cannot_link(db, edge_id, actor)
        assert edge.revoked_at is not None and edge.revoked_by == actor
        assert reopened is not None and reopened.id == row_id
        assert (reopened.status, reopened.decision, reopened.edge_id) == ("open", None, None)
        assert resolve(db, newcomer).id == newcomer  # withdrawing joins nothing by itself
        assert [r.id for r in review_queue(db, resolve(db, original).project_id)] == [row_id]
    with services.database.unit_of_work() as db:
        assert db.get(LinkEdge, edge_id) is not None  # revoked, never deleted
        decide(db, row_id, ReviewDecision.SAME, actor)
        assert resolve(db, newcomer).id == original


def test_after_an_unmerge_same_is_refused_until_the_separation_is_withdrawn(
        services: Services) -> None:
    original, newcomer, row_id = queued_pair(services)
    with services.database.unit_of_work() as db:
        decide(db, row_id, ReviewDecision.SAME, None)
        moved = db.get_one(MatchCandidate, row_id).record_id
        assert unmerge_record(db, moved, None) == newcomer
        assert undo(db, row_id, None).status == "open"
        with pytest.raises(InvalidDecision, match="cannot-link edge") as refused:
            decide(db, row_id, ReviewDecision.SAME, None)
        separations = db.scalars(select(LinkEdge).where(
            LinkEdge.kind == "cannot_link", LinkEdge.revoked_at.is_(None))).all()
        assert [str(e.id) in str(refused.value) for e in separations] == [True]
        assert separations[0].explanation == {"rule": "reviewer_unmerge"}
        edge, reopened = revoke_cannot_link(db, separations[0].id, None)
        assert edge.revoked_at is not None
        assert reopened is None  # an unmerge's separation belongs to no queue row
        decide(db, row_id, ReviewDecision.SAME, None)
        assert resolve(db, newcomer).id == original
        assert moved in [r.id for r in records_of(db, original)]


def test_only_a_standing_separation_can_be_withdrawn(services: Services) -> None:
    _, _, row_id = queued_pair(services)
    with services.database.unit_of_work() as db:
        link_id = decide(db, row_id, ReviewDecision.SAME, None).edge_id
        assert link_id is not None
        with pytest.raises(InvalidDecision, match="is a link"):
            revoke_cannot_link(db, link_id, None)
        undo(db, row_id, None)
        cannot_id = decide(db, row_id, ReviewDecision.NOT_SAME, None).edge_id
        assert cannot_id is not None
        revoke_cannot_link(db, cannot_id, None)
        with pytest.raises(InvalidDecision, match="already withdrawn"):
            revoke_cannot_link(db, cannot_id, None)
        with pytest.raises(NotFound):
            revoke_cannot_link(db, cannot_id + 1000, None)


def test_a_child_in_special_circumstances_comes_first_then_the_score(
        services: Services) -> None:
    load_households(services, 8)
    sync(services)
    first, second = _two_households(services)
    submit_variant(services, first, renamed("Hậu"))
    submit_variant(services, second, renamed("Khoa"))
    assert sync(services).queued == 2
    with services.database.unit_of_work() as db:
        project_id = db.scalars(select(Child.project_id)).first()
        assert project_id is not None
        high, low = review_queue(db, project_id)
        assert high.score >= low.score
        # A plan marker is no special circumstance: the order stays by score.
        categories.apply_codes(db, low.child_id, ["PLAN-POOR"], source="test", by="sync",
                               now=utcnow())
        assert [r.id for r in review_queue(db, project_id)] == [high.id, low.id]
        # The record's own child newly found in special circumstances (a flag is raised).
        record_child = db.scalars(select(ChildMembership.child_id).where(
            ChildMembership.record_id == low.record_id)).one()
        (flag,) = categories.apply_codes(db, record_child, ["HCDB-A"], source="test",
                                         by="sync", now=utcnow())
        assert [r.id for r in review_queue(db, project_id)] == [low.id, high.id]
        # The flag closed, the category still open: still first.
        close(db, flag.id, None, "đã lập hồ sơ")
        assert [r.id for r in review_queue(db, project_id)] == [low.id, high.id]
        # "Unsure" still goes after every undecided row.
        decide(db, low.id, ReviewDecision.UNSURE, None)
        assert [r.id for r in review_queue(db, project_id)] == [high.id, low.id]


def _two_households(services: Services) -> tuple[str, str]:
    with services.database.unit_of_work() as db:
        found = [x for x in db.scalars(select(SubmissionDef.xml).order_by(SubmissionDef.id))
                 if "<household>" in x and "<child>" in x]
    assert len(found) >= 2
    return found[0], found[1]


def _instances(services: Services) -> list[str]:
    with services.database.unit_of_work() as db:
        return list(db.scalars(select(SubmissionDef.instance_id).order_by(SubmissionDef.id)))
