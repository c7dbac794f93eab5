"""A personal ID registered by two communes of one server is told to each (docs/matching.md
§3.1): each commune matches its own children only, so nothing else would bring them together."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from server.models import Child, Project
from server.operations.projects import create_project
from server.registry.importer import Outcome
from server.registry.other_communes import ids_in_other_communes
from server.services import Services
from sync.personal_id import make_personal_id
from tests.registry.import_helpers import child_of_record, csv_bytes, run_import

SHARED = make_personal_id("017", "M", 2015, 41)
OWN = make_personal_id("017", "F", 2014, 42)
# Valid in form, but its sex digit says a girl: kept, marked doubtful, no key.
DOUBTFUL = make_personal_id("017", "F", 2013, 43)


def _row(record_id: str, name: str, sex: str, dob: str, personal_id: str) -> dict[str, Any]:
    return {"record_id": record_id, "village": "Thôn Một", "full_name": name, "sex": sex,
            "dob": dob, "personal_id": personal_id}


def _commune(services: Services, name: str, rows: list[dict[str, Any]]) -> int:
    with services.database.unit_of_work() as db:
        project_id = create_project(db, name).id
    report = run_import(services, project_id, csv_bytes(rows), source=name,
                        create_villages=True)
    assert report.count(Outcome.REFUSED) == 0
    return project_id


def _two_communes(services: Services) -> tuple[int, int]:
    first = _commune(services, "Xã Đầu", [
        _row("a1", "Hà Văn Chuyển", "M", "2015-03-04", SHARED),
        _row("a2", "Hà Thị Ở Yên", "F", "2014-05-06", OWN),
        _row("a3", "Hà Văn Số Lệch", "M", "2013-07-08", DOUBTFUL)])
    second = _commune(services, "Xã Cuối", [
        _row("b1", "Lò Văn Chuyển Đến", "M", "2015-03-04", SHARED),
        _row("b2", "Lò Văn Số Lệch", "M", "2013-07-08", DOUBTFUL)])
    return first, second


def test_each_commune_is_told_the_other_commune_holding_its_childs_personal_id(
        services: Services) -> None:
    first, second = _two_communes(services)
    moved, arrived = (child_of_record(services, "Xã Đầu#a1"),
                      child_of_record(services, "Xã Cuối#b1"))

    with services.database.unit_of_work() as db:
        assert ids_in_other_communes(db, first) == {moved: ["Xã Cuối"]}
        assert ids_in_other_communes(db, second) == {arrived: ["Xã Đầu"]}


def test_only_the_children_asked_about_are_looked_up(services: Services) -> None:
    first, _ = _two_communes(services)
    moved = child_of_record(services, "Xã Đầu#a1")

    with services.database.unit_of_work() as db:
        others = select(Child.id).where(Child.project_id == first, Child.id != moved)
        assert ids_in_other_communes(db, first, others) == {}
        only = select(Child.id).where(Child.id == moved)
        assert ids_in_other_communes(db, first, only) == {moved: ["Xã Cuối"]}


def test_a_deleted_commune_is_not_named(services: Services) -> None:
    first, second = _two_communes(services)
    with services.database.unit_of_work() as db:
        db.get_one(Project, second).deleted_at = datetime.now(UTC).replace(tzinfo=None)

    with services.database.unit_of_work() as db:
        assert ids_in_other_communes(db, first) == {}
