"""Which value of a field the current view shows when a child's records disagree: the default
rule (full Vietnamese marks and the most official source before the newest), a reviewer's
choice, withdrawing it, the choice surviving later syncs and merges, and its audit rows
(docs/registry.md §1–2) — on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from xml.etree.ElementTree import Element

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from server.models import Audit, Child, ChildFieldChoice, ChildRecord
from server.registry import field_choices
from server.registry.errors import InvalidDecision, NotFound
from server.registry.merge import unmerge_record
from server.registry.sync import sync_pending
from server.registry.view import compute_view
from server.services import Services
from sync.instance import parse_instance
from tests.api.conftest import login
from tests.conftest import World
from tests.registry.helpers import (
    children_of,
    consented_xml,
    find,
    household_of,
    load_households,
    strip_marks,
    submit_variant,
)
from tests.web.conftest import PASSWORD

PHONE, LIST = "submission", "import"


def _record(id_: int, source: str, reported: datetime | None, **values: object) -> ChildRecord:
    fields: dict[str, object] = {"full_name": "", "sex": "U", "dob": None, "dob_precision": None,
                                 "dob_estimated": False, "village_code": "", "household_head": "",
                                 "mother_name": "", "father_name": "", "guardian_name": "",
                                 "personal_id": "", "raw": {}}
    fields.update(values)
    return ChildRecord(id=id_, source=source, reported_at=reported,
                       created_at=datetime(2026, 11, 29, 8, id_), **fields)


OLD, NEW = datetime(2026, 3, 1), datetime(2026, 11, 20)


# --- the default rule ---------------------------------------------------------------------------


def test_a_newer_phone_report_typed_without_marks_does_not_beat_the_official_list() -> None:
    official = _record(1, LIST, OLD, full_name="Phan Thị Trâm", mother_name="Lê Thị Hoà")
    phone = _record(2, PHONE, NEW, full_name="Phan Thi Tarm", mother_name="Le Thi Hoa")
    view = compute_view([phone, official], [])
    assert (view.full_name, view.mother_name) == ("Phan Thị Trâm", "Lê Thị Hoà")
    assert view.name_folded == "phan thi tram"


def test_full_marks_win_between_two_phone_reports_whichever_is_newer() -> None:
    marked = _record(1, PHONE, OLD, full_name="Phan Thị Trâm")
    unmarked = _record(2, PHONE, NEW, full_name="Phan Thi Tarm")
    partly = _record(3, PHONE, NEW, full_name="Phan Thị Tram")
    assert compute_view([unmarked, marked], []).full_name == "Phan Thị Trâm"
    # Both typed with marks: the one that writes more of them is the fuller spelling.
    assert compute_view([partly, marked], []).full_name == "Phan Thị Trâm"


def test_between_two_marked_spellings_the_official_source_wins_then_the_newest() -> None:
    official = _record(1, LIST, OLD, full_name="Nguyễn Văn Hòa")
    phone = _record(2, PHONE, NEW, full_name="Nguyễn Văn Hoà Anh")
    assert compute_view([phone, official], []).full_name == "Nguyễn Văn Hòa"
    older = _record(3, PHONE, OLD, full_name="Nguyễn Văn Hòa")
    assert compute_view([older, phone], []).full_name == "Nguyễn Văn Hoà Anh"


def test_where_the_child_lives_now_comes_from_the_newest_report() -> None:
    official = _record(1, LIST, OLD, village_code="T01", household_head="Phan Văn Hùng",
                       personal_id="001215000123", sex="F")
    phone = _record(2, PHONE, NEW, village_code="T02", household_head="Tran Thi Lan",
                    sex="M")
    earlier_phone = _record(3, PHONE, datetime(2026, 6, 1), household_head="Trần Thị Lan")
    view = compute_view([official, phone, earlier_phone], [])
    assert view.village_code == "T02"  # moved: the newest report says where
    # The newest report's household head, as the best-written report writes that same name.
    assert view.household_head == "Trần Thị Lan"
    # Sex and personal ID: the official list before a phone's typing.
    assert (view.sex, view.personal_id) == ("F", "001215000123")


def test_the_most_precise_date_of_birth_first_then_the_official_one() -> None:
    phone = _record(1, PHONE, NEW, dob="2015-03-04", dob_precision="day")
    official = _record(2, LIST, OLD, dob="2015-04-03", dob_precision="day")
    vague = _record(3, LIST, NEW, dob="2015", dob_precision="year")
    view = compute_view([phone, official, vague], [])
    assert (view.dob, view.dob_precision) == ("2015-04-03", "day")


def test_a_choice_replaces_the_default_only_while_a_record_holds_its_value() -> None:
    official = _record(1, LIST, OLD, full_name="Phan Thị Trâm", dob="2015", dob_precision="year")
    phone = _record(2, PHONE, NEW, full_name="Phan Thị Tâm", dob="2015-03-04",
                    dob_precision="day")
    chosen = compute_view([official, phone], [], {"full_name": "Phan Thị Tâm", "dob": "2015"})
    assert (chosen.full_name, chosen.dob, chosen.dob_precision) == ("Phan Thị Tâm", "2015",
                                                                    "year")
    gone = compute_view([official], [], {"full_name": "Phan Thị Tâm"})
    assert gone.full_name == "Phan Thị Trâm"


# --- choosing in the database ------------------------------------------------------------------


def _retyped_without_marks(root: Element) -> None:
    """The second visitor typed the first child's name without the Vietnamese keyboard."""
    first = find(household_of(root), "child")[0]
    for node in find(first, "c_full_name"):
        node.text = strip_marks(node.text or "")


def _renamed(name: str) -> Callable[[Element], None]:
    def change(root: Element) -> None:
        first = find(household_of(root), "child")[0]
        for node in find(first, "c_full_name"):
            node.text = name
    return change


def _child(services: Services, child_id: str) -> Child:
    with services.database.unit_of_work() as db:
        child = db.get_one(Child, child_id)
        db.expunge(child)
        return child


@pytest.fixture
def re_reported(services: Services) -> tuple[str, str, str, str]:
    """A child reported twice: first with marks, then (newer) typed without them.
    → (visit xml, child id, the marked name, the unmarked name)."""
    load_households(services, 4)
    sync_pending(services.database.sessions)
    xml = consented_xml(services, min_children=1)
    child_id = children_of(services, parse_instance(xml.encode()).instance_id)[0]
    marked = _child(services, child_id).full_name
    assert strip_marks(marked) != marked
    again = submit_variant(services, xml, _retyped_without_marks)
    assert sync_pending(services.database.sessions).linked >= 1
    assert children_of(services, again)[0] == child_id
    return xml, child_id, marked, strip_marks(marked)


def test_the_re_report_without_marks_leaves_the_marked_name_in_the_view(
        services: Services, re_reported: tuple[str, str, str, str]) -> None:
    _xml, child_id, marked, unmarked = re_reported
    assert _child(services, child_id).full_name == marked
    with services.database.unit_of_work() as db:
        values = {f.field: f for f in field_choices.field_values(db, db.get_one(Child, child_id))}
    name = values["full_name"]
    assert name.disagree and name.choice is None
    assert [(v.value, v.default, v.current) for v in name.values] == [
        (unmarked, False, False), (marked, True, True)]  # newest report first


def test_a_reviewer_chooses_a_value_and_withdraws_it(
        services: Services, re_reported: tuple[str, str, str, str]) -> None:
    _xml, child_id, marked, unmarked = re_reported
    version = _child(services, child_id).version
    with services.database.unit_of_work() as db:
        child = db.get_one(Child, child_id)
        with pytest.raises(InvalidDecision):
            field_choices.choose(db, child, "full_name", unmarked, "   ", None)
        with pytest.raises(InvalidDecision):
            field_choices.choose(db, child, "full_name", "Tên không có trong phiếu nào",
                                 "gõ tay", None)
        with pytest.raises(NotFound):
            field_choices.choose(db, child, "village_code", "T02", "chuyển thôn", None)
        with pytest.raises(InvalidDecision):
            field_choices.withdraw(db, child, "full_name", None)
        field_choices.choose(db, child, "full_name", unmarked, "Giấy khai sinh viết thế", None)
    chosen = _child(services, child_id)
    assert chosen.full_name == unmarked and chosen.version == version + 1
    with services.database.unit_of_work() as db:
        field_choices.withdraw(db, db.get_one(Child, child_id), "full_name", None)
        rows = db.scalars(select(ChildFieldChoice)).all()
        assert len(rows) == 1 and rows[0].withdrawn_at is not None  # kept, not deleted
        assert rows[0].reason == "Giấy khai sinh viết thế"
    assert _child(services, child_id).full_name == marked


def test_a_choice_survives_a_later_report_and_choosing_anew_withdraws_the_first(
        services: Services, re_reported: tuple[str, str, str, str]) -> None:
    xml, child_id, marked, unmarked = re_reported
    with services.database.unit_of_work() as db:
        field_choices.choose(db, db.get_one(Child, child_id), "full_name", unmarked,
                             "như sổ của trạm y tế", None)
    # A third visit writes the name with marks again, newest of all: the choice still stands.
    third = submit_variant(services, xml, _renamed(marked))
    assert sync_pending(services.database.sessions).linked >= 1
    assert children_of(services, third)[0] == child_id
    assert _child(services, child_id).full_name == unmarked
    with services.database.unit_of_work() as db:
        field_choices.choose(db, db.get_one(Child, child_id), "full_name", marked,
                             "đã hỏi lại gia đình", None)
        rows = db.scalars(select(ChildFieldChoice).order_by(ChildFieldChoice.id)).all()
        assert [row.withdrawn_at is None for row in rows] == [False, True]
    assert _child(services, child_id).full_name == marked


def test_a_choice_whose_record_is_taken_out_falls_back_to_the_default(
        services: Services, re_reported: tuple[str, str, str, str]) -> None:
    _xml, child_id, marked, unmarked = re_reported
    with services.database.unit_of_work() as db:
        field_choices.choose(db, db.get_one(Child, child_id), "full_name", unmarked,
                             "như giấy khai sinh", None)
        record_id = db.scalars(select(ChildRecord.id).where(
            ChildRecord.full_name == unmarked)).one()
        unmerge_record(db, record_id, None)
    assert _child(services, child_id).full_name == marked
    with services.database.unit_of_work() as db:
        values = {f.field: f for f in field_choices.field_values(db, db.get_one(Child, child_id))}
        assert values["full_name"].choice is not None  # kept, but no record holds its value
        assert not values["full_name"].choice_applies


def test_choosing_and_withdrawing_over_the_api_are_audited_without_the_value(
        services: Services, world: World, client: FlaskClient,
        re_reported: tuple[str, str, str, str]) -> None:
    from server.operations.users import create_user, grant_project_role

    _xml, child_id, marked, unmarked = re_reported
    project_id = _child(services, child_id).project_id
    with services.database.unit_of_work() as db:
        viewer = create_user(db, "xem@xa.test", PASSWORD)
        grant_project_role(db, project_id, viewer.actor_id, "viewer")
        officer = create_user(db, "can-bo@xa.test", PASSWORD)
        grant_project_role(db, project_id, officer.actor_id, "cp_officer")
        officer_id = officer.actor_id
    url = f"/v1/projects/{project_id}/registry/children/{child_id}/fields/full_name/choice"
    refused = client.post(url, json={"value": unmarked, "why": "x"},
                          headers=login(client, "xem@xa.test", PASSWORD))
    assert refused.status_code == 403
    headers = login(client, "can-bo@xa.test", PASSWORD)
    assert client.post(url, json={"value": unmarked}, headers=headers).status_code == 400
    unknown = client.post(url.replace("full_name", "ten_khac"),
                          json={"value": unmarked, "why": "x"}, headers=headers)
    assert unknown.status_code == 404
    chosen = client.post(url, json={"value": unmarked, "why": "theo giấy khai sinh"},
                         headers=headers)
    assert chosen.status_code == 200, chosen.get_data(as_text=True)
    assert chosen.json["fullName"] == unmarked
    assert chosen.json["fieldChoices"][0]["field"] == "full_name"
    assert chosen.json["fieldChoices"][0]["reason"] == "theo giấy khai sinh"
    withdrawn = client.delete(url, headers=headers)
    assert withdrawn.status_code == 200 and withdrawn.json["fullName"] == marked
    assert withdrawn.json["fieldChoices"] == []
    assert client.delete(url, headers=headers).status_code == 409
    with services.database.unit_of_work() as db:
        rows = db.scalars(select(Audit).where(Audit.action.like("registry.child.field_choice%"))
                          .order_by(Audit.id)).all()
        assert [(r.action, r.actor_id, r.actee) for r in rows] == [
            ("registry.child.field_choice", officer_id, f"child:{child_id}"),
            ("registry.child.field_choice.withdraw", officer_id, f"child:{child_id}")]
        assert all(r.details == {"projectId": project_id, "field": "full_name"} for r in rows)
