"""`server.db.insert_rows`: COPY on PostgreSQL, executemany on SQLite — the same rows either
way, awkward text intact and the model's Python defaults filled in."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.db import built, insert_objects, insert_on_flush, insert_rows, utcnow
from server.models import (
    Child,
    ChildCategoryEpisode,
    ChildMembership,
    ChildRecord,
    LinkEdge,
    MatchKey,
)
from server.registry.placement import new_child
from tests.conftest import World

AWKWARD = ["tab\there", "line\nbreak", "back\\slash", "Nguyễn Thị Ánh", 'quote " and \\N', ""]


def a_record(world: World) -> int:
    with world.uow() as session:
        record = ChildRecord(project_id=world.project_id, source="import", source_key="l#1",
                             household_key="h1", full_name="Lò Văn Páo", raw={},
                             derived_categories=[], doubtful=[])
        session.add(record)
        session.flush()
        return record.id


def test_rows_go_in_as_given_with_awkward_text_intact(world: World) -> None:
    record_id = a_record(world)
    with world.uow() as session:
        insert_rows(session, MatchKey, [{"key_type": "name", "key_value": value,
                                         "record_id": record_id} for value in AWKWARD])
    with world.uow() as session:
        stored = session.scalars(select(MatchKey.key_value).order_by(MatchKey.id)).all()
    assert stored == AWKWARD


def test_a_python_default_is_filled_in_for_a_column_not_given(world: World) -> None:
    record_id = a_record(world)
    before = utcnow()
    with world.uow() as session:
        child_id = new_child(session, world.project_id)
        insert_rows(session, ChildMembership, [{"record_id": record_id, "child_id": child_id}])
    with world.uow() as session:
        created = session.scalar(select(ChildMembership.created_at))
    assert isinstance(created, datetime)
    assert before - timedelta(seconds=1) <= created <= utcnow()


def test_typed_values_come_back_as_the_orm_would_have_stored_them(world: World) -> None:
    record_id = a_record(world)
    given = datetime(2026, 12, 6, 9, 30, 15, 250)
    explanation = {"reasons": ["same_personal_id"], "score": 12.5, "name": "Nguyễn Thị Ánh"}
    with world.uow() as session:
        insert_rows(session, LinkEdge, [
            {"record_a": record_id, "record_b": record_id, "kind": "link", "source": "auto",
             "score": 12.5, "model_version": None, "explanation": explanation,
             "revoked_at": given}])
    with world.uow() as session:
        edge = session.scalars(select(LinkEdge)).one()
        assert (edge.score, edge.model_version, edge.explanation, edge.revoked_at) == (
            12.5, None, explanation, given)
        assert isinstance(edge.created_at, datetime)


def test_nothing_to_insert_is_no_statement(world: World) -> None:
    with world.uow() as session:
        insert_rows(session, MatchKey, [])
        assert session.scalar(select(MatchKey.id)) is None


def test_objects_come_back_stored_in_order_with_their_ids_and_json(world: World) -> None:
    rows = [{"project_id": world.project_id, "source": "import", "source_key": f"l#{n}",
             "household_key": f"h{n}", "full_name": name, "raw": {"note": name, "n": n},
             "derived_categories": [{"code": "POOR"}] if n else [], "doubtful": []}
            for n, name in enumerate(AWKWARD)]
    with world.uow() as session:
        stored = insert_objects(session, ChildRecord, rows)
        assert [record.full_name for record in stored] == AWKWARD
        assert len({record.id for record in stored}) == len(AWKWARD)
        ids = {record.id: record.source_key for record in stored}
        assert stored[0].sex == "U"  # the model's default, without reading it back
    with world.uow() as session:
        again = {record.id: record for record in session.scalars(select(ChildRecord))}
    assert {record_id: record.source_key for record_id, record in again.items()} == ids
    by_key = {record.source_key: record for record in again.values()}
    assert by_key["l#4"].raw == {"note": AWKWARD[4], "n": 4}
    assert by_key["l#1"].derived_categories == [{"code": "POOR"}]
    assert by_key["l#0"].sex == "U" and by_key["l#0"].created_at is not None


def test_objects_of_a_rolled_back_savepoint_leave_the_session_and_their_ids_can_be_used_again(
        world: World) -> None:
    def rows(start: int) -> list[dict[str, object]]:
        return [{"project_id": world.project_id, "source": "import", "source_key": f"l#{n}",
                 "household_key": f"h{n}", "full_name": "Lò Thị Mai", "raw": {},
                 "derived_categories": [], "doubtful": []} for n in range(start, start + 2)]

    with world.uow() as session:
        kept = insert_objects(session, ChildRecord, rows(0))
        with pytest.raises(RuntimeError), session.begin_nested():
            gone = insert_objects(session, ChildRecord, rows(2))
            raise RuntimeError("the savepoint's work fails")
        assert all(record in session for record in kept)
        assert not any(record in session for record in gone)
        again = insert_objects(session, ChildRecord, rows(2))  # SQLite hands out the same ids
    with world.uow() as session:
        stored = session.scalars(select(ChildRecord.id).order_by(ChildRecord.id)).all()
    assert stored == [record.id for record in [*kept, *again]]


def test_a_duplicate_row_is_an_integrity_error_on_either_database(world: World) -> None:
    row = {"project_id": world.project_id, "source": "import", "source_key": "l#1",
           "household_key": "h1", "full_name": "Lò Thị Mai", "raw": {},
           "derived_categories": [], "doubtful": []}
    with pytest.raises(IntegrityError), world.uow() as session:
        insert_rows(session, ChildRecord, [row, row])


def test_a_built_object_is_inserted_as_it_stands_and_later_changes_are_updates(
        world: World) -> None:
    with world.uow() as session:
        record = built(ChildRecord, {
            "project_id": world.project_id, "source": "import", "source_key": "l#2",
            "household_key": "h2", "full_name": "Hà Thị Mai", "raw": {"row": 2},
            "derived_categories": [], "doubtful": []})
        session.add(record)
        session.flush()
        record.full_name = "Hà Thị Mai Anh"
        record_id = record.id
    with world.uow() as session:
        stored = session.get_one(ChildRecord, record_id)
        assert (stored.full_name, stored.raw, stored.source_key) == (
            "Hà Thị Mai Anh", {"row": 2}, "l#2")
        assert stored.created_at is not None  # the column's default, filled in at the INSERT


def a_waiting_child(session: Session, world: World, number: int) -> Child:
    child = built(Child, {"id": str(uuid.uuid4()), "project_id": world.project_id,
                          "number": number, "version": 0, "full_name": "Lò Văn Páo"})
    insert_on_flush(session, child)
    return child


def test_a_waiting_row_goes_in_before_the_flushed_rows_that_refer_to_it(world: World) -> None:
    with world.uow() as session:
        child = a_waiting_child(session, world, 901)
        assert child not in session  # waiting: not the session's yet
        session.add(ChildCategoryEpisode(child_id=child.id, code="HCDB-A", status="provisional",
                                         opened_at=utcnow()))
        session.flush()  # the child first, or its episode's foreign key fails
        assert child in session
        child.full_name = "Lò Văn Páo Anh"  # now an UPDATE of the stored row
    with world.uow() as session:
        stored = session.get_one(Child, child.id)
        assert (stored.full_name, stored.number) == ("Lò Văn Páo Anh", 901)
        assert stored.created_at is not None  # the column's default, filled in
        assert session.scalars(select(ChildCategoryEpisode.child_id)).all() == [child.id]


def test_a_commit_with_nothing_else_to_flush_still_writes_what_waits(world: World) -> None:
    with world.uow() as session:
        child_id = a_waiting_child(session, world, 902).id
    with world.uow() as session:
        assert session.get(Child, child_id) is not None


def test_a_rollback_drops_what_still_waits(world: World) -> None:
    with pytest.raises(RuntimeError), world.uow() as session:
        a_waiting_child(session, world, 903)
        raise RuntimeError("the batch fails before its flush")
    with world.uow() as session:
        a_waiting_child(session, world, 904)
    with world.uow() as session:
        assert session.scalars(select(Child.number)).all() == [904]


def test_a_callable_default_is_called_for_each_row_not_shared(world: World) -> None:
    rows = [{"project_id": world.project_id, "source": "import", "source_key": f"l#{n}",
             "household_key": f"h{n}", "full_name": "Lò Thị Mai", "raw": {},
             "derived_categories": []} for n in range(2)]  # no "doubtful": default=list
    with world.uow() as session:
        first, second = insert_objects(session, ChildRecord, rows)
        assert first.doubtful == second.doubtful == []
        assert first.doubtful is not second.doubtful  # one list each, as the ORM would give
        for n in range(3):
            a_waiting_child(session, world, 910 + n)
    with world.uow() as session:  # the commit wrote them
        made = session.scalars(select(Child.created_at).order_by(Child.number)).all()
    assert len(made) == 3 and made == sorted(made)  # stamped one by one, in the order made
