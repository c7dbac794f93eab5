"""Several submissions share one sync transaction: their household visits are placed as one
held batch; a submission that fails in the database is rolled back alone, and later ones
still see earlier ones — a follow-up sees the visits that arrived before it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from xml.etree.ElementTree import Element

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.models import ChildMembership, ChildRecord, ChildUpdate, Form, SubmissionDef
from server.registry import placement, sync
from server.registry.sync import SyncSummary, sync_pending
from server.services import Services
from sync.instance import parse_instance
from sync.mapping import map_instance
from tests.registry.followup_helpers import (
    children_csv,
    followup_xml,
    load_synced_demo,
    phone_of,
    send_followup,
)
from tests.registry.helpers import (
    children_of,
    consented_xml,
    find,
    household_of,
    load_households,
    newborn_named,
    submit_variant,
)


def _block_first_record(services: Services, version_id: int) -> None:
    """Store a record under the key this version's first child will need (unique per project),
    so syncing the version fails inside the database, on its INSERT."""
    with services.database.unit_of_work() as db:
        version = db.get_one(SubmissionDef, version_id)
        mapped = map_instance(parse_instance(version.xml.encode()).root, version.instance_id)
        db.add(ChildRecord(
            project_id=db.get_one(Form, version.form_id).project_id, source="import",
            source_key=mapped.children[0].record.record_id, household_key="elsewhere",
            full_name="Người khác"))


def _records_of(services: Services, version_id: int) -> int:
    with services.database.unit_of_work() as db:
        return db.scalar(select(func.count()).select_from(ChildRecord).where(
            ChildRecord.submission_def_id == version_id)) or 0


def assert_only_it_failed(services: Services, broken: int, summary: SyncSummary) -> None:
    """``broken`` failed with nothing of it stored; every other version is done and placed."""
    with services.database.unit_of_work() as db:
        states = dict(db.execute(select(SubmissionDef.id, SubmissionDef.sync_state)).all())
        assert states.pop(broken) == "failed"
        assert set(states.values()) == {"done"}
        placed = db.scalar(select(func.count()).select_from(ChildMembership)) or 0
    assert _records_of(services, broken) == 0
    assert placed == summary.records == sum(_records_of(services, v) for v in states)


def test_a_submission_failing_in_the_database_is_rolled_back_alone(
        services: Services, caplog: pytest.LogCaptureFixture) -> None:
    load_households(services, 6)
    with services.database.unit_of_work() as db:
        versions = db.scalars(select(SubmissionDef).order_by(SubmissionDef.id)).all()
        with_children = [v.id for v in versions[1:-1] if "<child>" in v.xml]
    broken = with_children[0]
    _block_first_record(services, broken)

    summary = sync_pending(services.database.sessions)

    assert summary.failed == 1 and summary.submissions == 5
    assert "IntegrityError" in summary.errors[0]
    assert "retrying one at a time" not in caplog.text  # its group committed the others
    assert_only_it_failed(services, broken, summary)


def test_a_revisit_in_the_same_group_links_to_the_child_made_before_it(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sync, "GROUP_SIZE", 3)
    load_households(services, 4)
    xml = consented_xml(services)
    first = parse_instance(xml.encode()).instance_id
    again = submit_variant(services, xml)

    summary = sync_pending(services.database.sessions)

    assert summary.failed == 0 and summary.submissions == 5
    assert children_of(services, again) == children_of(services, first) != []
    assert summary.linked == len(children_of(services, again))


def test_a_submission_failing_while_its_batch_is_placed_is_synced_again_alone(
        services: Services, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    load_households(services, 6)
    with services.database.unit_of_work() as db:
        versions = db.scalars(select(SubmissionDef).order_by(SubmissionDef.id)).all()
        broken = next(v.id for v in versions[1:-1] if "<child>" in v.xml)
    real_place_records = placement.place_records

    def fails_for_one_visit(session: Any, pm: Any, rows: Sequence[ChildRecord],
                            *args: Any, **kwargs: Any) -> Any:
        if rows and rows[0].submission_def_id == broken:
            raise RuntimeError("this visit cannot be placed")
        return real_place_records(session, pm, rows, *args, **kwargs)

    for module in (placement, sync):  # in a held batch, and when synced alone
        monkeypatch.setattr(module, "place_records", fails_for_one_visit)

    summary = sync_pending(services.database.sessions)

    assert summary.failed == 1 and summary.submissions == 5
    assert "cannot be placed" in summary.errors[0]
    assert "syncing each alone" in caplog.text  # the batch was placed again, one by one
    assert "retrying one at a time" not in caplog.text  # in the same transaction
    assert_only_it_failed(services, broken, summary)


def test_a_follow_up_synced_with_the_visit_that_made_its_child_offline_updates_that_child(
        services: Services, client: FlaskClient) -> None:
    """A phone creates a child offline (its own entity id) and follows it up before either
    reaches the server: one sync pass takes both, the visit first."""
    demo = load_synced_demo(services)
    xml = consented_xml(services, min_children=1)
    known = children_of(services, parse_instance(xml.encode()).instance_id)[0]
    phone, row = next((phone, row) for phone in (phone_of(client, demo, p.village)
                                                 for p in demo.phones)
                      for row in children_csv(phone) if row["name"] == known)
    entity_ids: list[str] = []

    def newborn_with_known_id(root: Element) -> None:
        newborn_named("Lò Thị Mới Sinh")(root)
        child = find(household_of(root), "child")[0]
        entity_ids.extend(node.get("id") or "" for node in child.iter() if node.get("id"))

    instance_id = submit_variant(services, xml, newborn_with_known_id)
    send_followup(phone, followup_xml({**row, "name": entity_ids[0]}, "died",
                                      died="2026-11-20"))

    summary = sync_pending(services.database.sessions)

    assert summary.failed == 0 and summary.not_applied == 0 and summary.submissions == 2
    assert children_of(services, instance_id)[0] == entity_ids[0]  # the phone's own id
    with services.database.unit_of_work() as db:
        statuses = db.scalars(select(ChildUpdate.properties)
                              .where(ChildUpdate.child_id == entity_ids[0])).all()
    assert [update["status"] for update in statuses] == ["died"]
