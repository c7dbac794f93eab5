"""After an upgrade that adds a blocking key, `diemtua registry rebuild-keys` gives the records
stored before it the keys they lack (docs/matching.md §3.1, README "Upgrading"): a new report
that only the new key finds is then compared with them. Running it again changes nothing."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, select

from server.models import ChildRecord, MatchKey
from server.registry.match_keys import rebuild_match_keys
from server.services import Services
from tests.registry.import_helpers import phone_registry


def stored_keys(services: Services) -> Counter[tuple[str, str, int]]:
    with services.database.unit_of_work() as db:
        return Counter((key_type, value, record_id) for key_type, value, record_id in db.execute(
            select(MatchKey.key_type, MatchKey.key_value, MatchKey.record_id)))


def test_records_stored_before_a_key_existed_get_it_and_a_second_run_changes_nothing(
        services: Services) -> None:
    project_id = phone_registry(services)
    as_synced = stored_keys(services)
    assert {key_type for key_type, _, _ in as_synced} >= {"mother_year", "dob"}
    with services.database.unit_of_work() as db:
        # A registry from the release before the mother-and-year key existed.
        db.execute(delete(MatchKey).where(MatchKey.key_type == "mother_year"))
    assert "mother_year" not in {key_type for key_type, _, _ in stored_keys(services)}

    summary = rebuild_match_keys(services.database.unit_of_work, project_id, batch=7)

    with services.database.unit_of_work() as db:
        records = len(db.scalars(select(ChildRecord.id)).all())
    assert summary.records == records
    assert summary.keys_after == sum(as_synced.values()) > summary.keys_before
    assert stored_keys(services) == as_synced
    again = rebuild_match_keys(services.database.unit_of_work, project_id)
    assert again.keys_before == again.keys_after == sum(as_synced.values())
    assert stored_keys(services) == as_synced
