"""Household submissions land in the registry: same child recognised, twins and siblings kept
apart, failures isolated, reruns idempotent — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path
from xml.etree.ElementTree import Element

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from server.cli import main
from server.models import (
    Child,
    ChildMembership,
    ChildRecord,
    LinkEdge,
    MatchCandidate,
    MatchKey,
    SubmissionDef,
)
from server.registry.sync import SyncSummary, sync_pending
from server.registry.view import compute_view, records_of, updates_of
from server.services import Services
from sync.instance import parse_instance
from sync.mapping import map_instance
from tests.registry.helpers import (
    children_of,
    consented_xml,
    find,
    household_of,
    load_households,
    strip_marks,
    submit_variant,
)


def _sync(services: Services) -> SyncSummary:
    return sync_pending(services.database.sessions)


def _count(services: Services, model: type) -> int:
    with services.database.unit_of_work() as db:
        return db.scalar(select(func.count()).select_from(model)) or 0


def _refuse(root: Element) -> None:
    for household in find(root, "household"):
        root.remove(household)
    for consent in find(root, "consent_ok"):
        consent.text = "no"


def test_refusal_maps_to_no_children_and_syncs_to_no_records(services: Services) -> None:
    load_households(services, 3)
    _sync(services)
    before = _count(services, ChildRecord)
    instance_id = submit_variant(services, consented_xml(services), _refuse)
    summary = _sync(services)
    assert summary.submissions == 1 and summary.records == 0 and summary.failed == 0
    assert _count(services, ChildRecord) == before
    with services.database.unit_of_work() as db:
        version = db.scalars(select(SubmissionDef).where(
            SubmissionDef.instance_id == instance_id)).one()
        assert version.sync_state == "done"
        assert map_instance(parse_instance(version.xml.encode()).root, instance_id).refused


def test_every_child_gets_records_keys_and_a_child(services: Services) -> None:
    load_households(services, 12)
    summary = _sync(services)
    assert summary.failed == 0 and summary.submissions == 12 and summary.records > 0
    assert summary.records == summary.linked + summary.queued + summary.new
    assert _count(services, ChildMembership) == summary.records
    assert _count(services, MatchKey) > summary.records
    with services.database.unit_of_work() as db:
        record = db.scalars(select(ChildRecord).limit(1)).one()
        assert re.fullmatch(r".+#\d+", record.source_key) and record.full_name


def test_household_submitted_twice_links_to_the_same_children(services: Services) -> None:
    load_households(services, 10)
    xml = consented_xml(services)
    _sync(services)
    first = parse_instance(xml.encode()).instance_id
    original = children_of(services, first)

    def retyped(root: Element) -> None:  # the second visitor typed without diacritics
        for child in find(household_of(root), "child"):
            for name in ("c_full_name", "c_mother_name", "c_father_name"):
                for node in find(child, name):
                    node.text = strip_marks(node.text or "")

    again = submit_variant(services, xml, retyped)
    summary = _sync(services)
    assert summary.linked == len(original) and summary.new == 0
    assert children_of(services, again) == original
    with services.database.unit_of_work() as db:
        edge = db.scalars(select(LinkEdge)).first()
        assert edge is not None and edge.kind == "link" and edge.source == "auto"
        assert edge.explanation and edge.explanation["total"] >= edge.explanation[
            "thresholds"]["auto_link"] and edge.model_version


def test_a_relinked_child_s_stored_view_is_the_view_of_all_its_records(
        services: Services) -> None:
    """The sync reads a linked child's records back as plain columns (`ViewRecord`), its
    answers out of their JSON: the view it stores is the one its whole records give."""
    load_households(services, 6)
    xml = consented_xml(services)
    _sync(services)

    def dropped_out(root: Element) -> None:  # the next visit hears another school answer
        for child in find(household_of(root), "child"):
            for node in find(child, "c_school"):
                node.text = "dropped_out"

    again = submit_variant(services, xml, dropped_out)
    assert _sync(services).linked >= 2
    with services.database.unit_of_work() as db:
        for child_id in children_of(services, again):
            child = db.get_one(Child, child_id)
            view = compute_view(records_of(db, child_id), updates_of(db, child_id))
            assert child.report_count == 2 and child.school_status == "dropped_out"
            assert {name: getattr(child, name) for name in asdict(view)} == asdict(view)


def _twins(root: Element) -> None:
    """The first child gets a twin: same date, sex and parents, no ID, and given names that
    differ only in their marks (Hưng, Hùng) — identical once typed without diacritics."""
    household = household_of(root)
    children = find(household, "child")
    for child in children[1:]:
        household.remove(child)
    first = children[0]
    for node in find(first, "c_pid"):
        node.text = ""
    twin = Element(first.tag)
    for node in first:
        twin.append(node)
    copy_of = [Element(n.tag, n.attrib) for n in twin]
    for original, clone in zip(list(twin), copy_of, strict=True):
        clone.text = original.text
        clone.extend(list(original))
    first.clear()
    first.extend(copy_of)
    for child, given in ((first, "Hưng"), (twin, "Hùng")):
        for node in find(child, "c_full_name"):
            node.text = " ".join([*(node.text or "").split()[:-1], given])
        for node in find(child, "c_sex"):
            node.text = "male"
    index = list(household).index(first)
    household.insert(index + 1, twin)


def test_twins_stay_two_children_and_their_next_report_goes_to_review(
        services: Services) -> None:
    load_households(services, 3)
    _sync(services)
    xml = consented_xml(services, min_children=1)
    first = submit_variant(services, xml, _twins)
    _sync(services)
    twins = children_of(services, first)
    assert len(twins) == 2 and twins[0] != twins[1]

    def retyped_twins(root: Element) -> None:
        _twins(root)
        for child in find(household_of(root), "child"):
            for node in find(child, "c_full_name"):
                node.text = strip_marks(node.text or "")

    again = submit_variant(services, xml, retyped_twins)
    summary = _sync(services)
    later = children_of(services, again)
    assert len(later) == 2 and later[0] != later[1]
    # Neither twin was auto-linked onto the other twin's child.
    assert later[0] != twins[1] and later[1] != twins[0]
    assert summary.queued >= 1
    with services.database.unit_of_work() as db:
        queued = db.scalars(select(MatchCandidate)).all()
        assert queued and all(c.status == "open" and c.explanation for c in queued)


def test_two_identical_rows_of_one_submission_are_two_children(services: Services) -> None:
    load_households(services, 2)
    _sync(services)
    xml = consented_xml(services, min_children=1)

    def doubled(root: Element) -> None:
        household = household_of(root)
        first = find(household, "child")[0]
        clone = Element(first.tag, first.attrib)
        clone.text = first.text
        clone.extend(list(first))  # shares the sub-elements: serialised twice, identically
        household.insert(list(household).index(first) + 1, clone)

    instance_id = submit_variant(services, xml, doubled)
    _sync(services)
    children = children_of(services, instance_id)
    assert children[0] != children[1]


def test_a_failing_submission_is_marked_failed_and_the_next_still_syncs(
        services: Services) -> None:
    load_households(services, 4)
    with services.database.unit_of_work() as db:
        versions = db.scalars(select(SubmissionDef).order_by(SubmissionDef.id)).all()
        versions[1].xml = "<data id='household_screening'><household>"  # not XML any more
        broken_id = versions[1].id
    summary = _sync(services)
    assert summary.failed == 1 and summary.submissions == 3
    with services.database.unit_of_work() as db:
        states = dict(db.execute(select(SubmissionDef.id, SubmissionDef.sync_state)).all())
        broken = db.get_one(SubmissionDef, broken_id)
        assert broken.sync_state == "failed" and broken.sync_error
        assert sorted(states.values()) == ["done", "done", "done", "failed"]
        assert db.scalar(select(func.count()).select_from(ChildRecord).where(
            ChildRecord.submission_def_id == broken_id)) == 0


def test_an_edit_adds_its_records_to_the_same_children_and_keeps_the_old_ones(
        services: Services) -> None:
    load_households(services, 6)
    xml = consented_xml(services)
    _sync(services)
    first = parse_instance(xml.encode()).instance_id
    original = children_of(services, first)
    edited = submit_variant(services, xml, edit_of=first)
    summary = _sync(services)
    assert summary.submissions == 1 and summary.linked == len(original)
    assert children_of(services, edited) == original
    assert children_of(services, first) == original  # source rows are never deleted


def test_a_version_edited_before_its_sync_is_superseded(services: Services) -> None:
    load_households(services, 2)
    xml = consented_xml(services, min_children=1)
    first = parse_instance(xml.encode()).instance_id
    edited = submit_variant(services, xml, edit_of=first)
    summary = _sync(services)
    assert summary.superseded == 1 and summary.submissions == 2
    assert children_of(services, first) == [] and children_of(services, edited)


def test_a_second_run_does_nothing(services: Services) -> None:
    load_households(services, 6)
    first = _sync(services)
    counts = [_count(services, m) for m in (ChildRecord, Child, MatchKey, LinkEdge)]
    second = _sync(services)
    assert first.submissions == 6 and second.submissions == 0 and second.records == 0
    assert [_count(services, m) for m in (ChildRecord, Child, MatchKey, LinkEdge)] == counts


def test_limit_syncs_that_many_oldest_first(services: Services) -> None:
    load_households(services, 5)
    assert sync_pending(services.database.sessions, limit=2).submissions == 2
    with services.database.unit_of_work() as db:
        states = db.scalars(select(SubmissionDef.sync_state).order_by(SubmissionDef.id)).all()
    assert states[:2] == ["done", "done"] and set(states[2:]) == {"pending"}


def test_cli_sync_run_prints_counts_and_is_idempotent(
        services: Services, database_url: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    load_households(services, 5)
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", database_url)
    monkeypatch.setenv("DIEMTUA_SECRET_KEY", "test-secret")
    runner = CliRunner()
    result = runner.invoke(main, ["sync", "run"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Synced 5 submissions \(0 failed.*\d+ child records", result.output)
    rerun = runner.invoke(main, ["sync", "run", "--limit", "10"])
    assert rerun.exit_code == 0 and "Synced 0 submissions" in rerun.output
