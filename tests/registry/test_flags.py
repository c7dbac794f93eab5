"""The commune works its flags: acknowledge, close with a reason (once), and lists with the
nearest deadline first — flags raised by real screenings, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest

from server.models import Child, Flag
from server.registry.errors import InvalidDecision, NotFound
from server.registry.flags import acknowledge, close, open_flags
from server.services import Services
from tests.registry.helpers import submit_variant
from tests.registry.test_categories_db import (
    BOTH_PARENTS_DEAD,
    PARENTS_UNKNOWN,
    Screened,
    answers,
    flags_of,
    young_child,
)
from tests.registry.test_review import admin_id, sync

NOW = datetime(2026, 11, 29, 10, 0)


def flagged(services: Services, change: dict[str, str]) -> tuple[Screened, Flag]:
    young = young_child(services)
    submit_variant(services, young.xml, answers(young.index, change))
    sync(services)
    (flag,) = flags_of(services, young.child_id)
    return young, flag


def test_a_flag_is_acknowledged_then_closed_with_a_reason(services: Services) -> None:
    _, flag = flagged(services, BOTH_PARENTS_DEAD)
    actor = admin_id(services)
    with services.database.unit_of_work() as db:
        seen = acknowledge(db, flag.id, actor, NOW)
        assert (seen.status, seen.acknowledged_by, seen.acknowledged_at) == (
            "acknowledged", actor, NOW)
        assert acknowledge(db, flag.id, None).acknowledged_by == actor  # no second time
    with services.database.unit_of_work() as db:
        done = close(db, flag.id, actor, "  Đã lập hồ sơ trợ cấp  ", NOW)
        assert (done.status, done.closed_by, done.close_reason) == (
            "closed", actor, "Đã lập hồ sơ trợ cấp")


def test_closing_needs_a_reason_and_happens_once(services: Services) -> None:
    _, flag = flagged(services, BOTH_PARENTS_DEAD)
    with services.database.unit_of_work() as db, pytest.raises(InvalidDecision, match="reason"):
        close(db, flag.id, None, "   ")
    with services.database.unit_of_work() as db:
        assert db.get_one(Flag, flag.id).status == "open"
        close(db, flag.id, None, "Không cần hỗ trợ")
    with services.database.unit_of_work() as db, pytest.raises(InvalidDecision):
        close(db, flag.id, None, "again")
    with services.database.unit_of_work() as db, pytest.raises(InvalidDecision):
        acknowledge(db, flag.id, None)
    with services.database.unit_of_work() as db, pytest.raises(NotFound):
        close(db, flag.id + 1000, None, "no such flag")


def test_open_flags_put_the_nearest_deadline_first_and_filter(services: Services) -> None:
    young, urgent = flagged(services, PARENTS_UNKNOWN)
    # The same child again with a second Article 10 category: still one flag.
    submit_variant(services, young.xml, answers(young.index, {**PARENTS_UNKNOWN, "d_cert": "yes"}))
    sync(services)
    assert len(flags_of(services, young.child_id)) == 1
    with services.database.unit_of_work() as db:
        child = db.get_one(Child, young.child_id)
        listed = open_flags(db, child.project_id)
        assert listed[0].id == urgent.id and listed[0].deadline is not None
        assert all(f.status != "closed" for f in listed)
        assert [f.id for f in open_flags(db, child.project_id, villages=[child.village_code],
                                         codes=["HCDB-B"])] == [urgent.id]
        assert open_flags(db, child.project_id, villages=["NO-SUCH-VILLAGE"]) == []
        acknowledge(db, urgent.id, None)
        assert urgent.id not in [f.id for f in open_flags(db, child.project_id,
                                                          include_acknowledged=False)]
        close(db, urgent.id, None, "Đã đưa vào cơ sở bảo trợ")
        assert urgent.id not in [f.id for f in open_flags(db, child.project_id)]
