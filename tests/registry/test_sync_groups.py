"""Several submissions share one sync transaction, each in a savepoint of its own: a submission
that fails in the database is rolled back alone, and later ones still see earlier ones."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from server.models import ChildMembership, ChildRecord, Form, SubmissionDef
from server.registry import sync
from server.registry.sync import sync_pending
from server.services import Services
from sync.instance import parse_instance
from sync.mapping import map_instance
from tests.registry.helpers import children_of, consented_xml, load_households, submit_variant


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
    with services.database.unit_of_work() as db:
        states = dict(db.execute(select(SubmissionDef.id, SubmissionDef.sync_state)).all())
        assert states.pop(broken) == "failed"
        assert set(states.values()) == {"done"}
        placed = db.scalar(select(func.count()).select_from(ChildMembership)) or 0
    assert _records_of(services, broken) == 0
    assert placed == summary.records == sum(_records_of(services, v) for v in states)


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
