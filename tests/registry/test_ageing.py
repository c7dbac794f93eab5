"""A child turning 16 between screenings keeps the allowance while studying: AGEOUT-16-22
opens on the birthday itself, once, and only for orphaned, abandoned or unsupported children."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from server.models import Child, ChildCategoryEpisode
from server.registry.ageing import AGEOUT, open_age_outs
from server.registry.categories import apply_codes, end
from server.registry.sync import sync_pending
from server.services import Services
from tests.registry.helpers import load_households

NOW = datetime(2026, 11, 29, 8, 0)


def _schoolchild(services: Services) -> tuple[str, date]:
    """A synced child in school with a full date of birth, made HCDB-A (orphaned) by hand."""
    load_households(services, 40)
    sync_pending(services.database.sessions)
    with services.database.unit_of_work() as db:
        child = db.scalars(select(Child).where(Child.school_status == "in_school",
                                               Child.dob_precision.in_(("day", "full")))
                           .order_by(Child.id)).first()
        assert child is not None and child.dob is not None
        apply_codes(db, child.id, ["HCDB-A"], source="test", by="officer", now=NOW)
        return child.id, date.fromisoformat(child.dob)


def _ageouts(services: Services, child_id: str) -> list[str]:
    with services.database.unit_of_work() as db:
        return list(db.scalars(select(ChildCategoryEpisode.status).where(
            ChildCategoryEpisode.child_id == child_id, ChildCategoryEpisode.code == AGEOUT)))


def _pass(services: Services, today: date) -> list[str]:
    with services.database.unit_of_work() as db:
        return open_age_outs(db, today, NOW)


def test_ageout_opens_on_the_sixteenth_birthday_once(services: Services) -> None:
    child_id, born = _schoolchild(services)
    birthday = born.replace(year=born.year + 16)
    with services.database.unit_of_work() as db:
        version = db.get_one(Child, child_id).version
    assert child_id not in _pass(services, date.fromordinal(birthday.toordinal() - 1))
    assert child_id in _pass(services, birthday)
    assert _ageouts(services, child_id) == ["provisional"]
    assert child_id not in _pass(services, birthday)  # the next pass finds it open already
    with services.database.unit_of_work() as db:
        assert db.get_one(Child, child_id).version == version + 1  # phones get the new code


def test_no_ageout_once_the_entitling_category_has_ended_or_past_22(services: Services) -> None:
    child_id, born = _schoolchild(services)
    assert child_id not in _pass(services, born.replace(year=born.year + 22))
    with services.database.unit_of_work() as db:
        end(db, child_id, "HCDB-A", by="officer", why="adopted", now=NOW)
    assert child_id not in _pass(services, born.replace(year=born.year + 16))
    assert _ageouts(services, child_id) == []
