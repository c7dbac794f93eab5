"""The matcher's prepared records are kept across a run's batches (a placed record does not
change), but never stand in for another visit's record that now holds the same id: SQLite
hands the ids of rolled-back rows out again, to this process or another one."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.models import ChildRecord
from server.registry.candidates import DatabaseRegistry, match_input
from server.services import Services
from sync.matching import BlockingKey, MatchRecord, blocking_keys, prepare
from tests.registry.import_helpers import phone_registry


def first_record(db: Session) -> tuple[ChildRecord, list[BlockingKey]]:
    """The registry's first record and the keys it is stored under."""
    record = db.scalars(select(ChildRecord).order_by(ChildRecord.id)).first()
    assert record is not None
    return record, blocking_keys(prepare(match_input(record)))


def prepared_by_id(registry: DatabaseRegistry, keys: list[BlockingKey]) -> dict[int, MatchRecord]:
    return {int(r.record_id): r for _, r in registry.candidates(keys)}


def test_a_record_id_now_holding_another_visits_record_is_prepared_again(
        services: Services) -> None:
    project_id = phone_registry(services, households=2)
    with services.database.unit_of_work() as db:
        record, keys = first_record(db)
        registry = DatabaseRegistry(db, project_id)
        found = prepared_by_id(registry, keys)
        assert found[record.id].submission_id == record.household_key

        # The same id, now another visit's child (as after a rolled-back batch).
        db.execute(update(ChildRecord).where(ChildRecord.id == record.id).values(
            household_key="uuid:another-visit", mother_name="Another Mother"))
        again = prepared_by_id(registry, keys)

    assert again[record.id].submission_id == "uuid:another-visit"
    assert again[record.id].mother != found[record.id].mother


def test_a_batch_keeps_the_records_prepared_before_it(services: Services) -> None:
    project_id = phone_registry(services, households=2)
    with services.database.unit_of_work() as db:
        record, keys = first_record(db)
        registry = DatabaseRegistry(db, project_id)
        before = prepared_by_id(registry, keys)

        registry.hold(keys)
        registry.look_ahead(keys)
        held = prepared_by_id(registry, keys)
        registry.release()

    assert held[record.id] is before[record.id]
