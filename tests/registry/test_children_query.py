"""The one place the children filters live (server/registry/children_query.py), on a real
database: what each filter keeps, read off children whose values are set by hand."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import select

from server.auth.visibility import EVERY_VILLAGE
from server.models import Child, ChildCategoryEpisode, Project
from server.registry.access import RegistryAccess
from server.registry.child_code import give_back_numbers, take_numbers
from server.registry.children_query import (
    InvalidFilter,
    birthday_cutoff,
    children_query,
    parse_filters,
)
from server.services import Services

ON = date(2026, 12, 4)


def _admin_access(project_id: int) -> RegistryAccess:
    """Every village, every category: what a site admin reads."""
    return RegistryAccess(*(EVERY_VILLAGE,) * 9)


@pytest.fixture
def project_id(services: Services) -> int:
    with services.database.unit_of_work() as db:
        project = Project(name="Xã Thử")
        db.add(project)
        db.flush()
        rows = [
            # name, sex, dob, support, care, first reported, open category
            ("An", "F", "2020-12-05", "monthly_allowance", "grandparent",
             datetime(2026, 9, 30, 18), "HCDB-A"),
            ("Bình", "M", "2020-12-04", "none", "both_parents", datetime(2026, 9, 30, 16), ""),
            ("Cúc", "F", "2010", "", "", datetime(2026, 11, 1), "HCDB-B"),
            ("Dũng", "M", "2010-12", "dont_know", "no_one", None, ""),
            ("Én", "U", None, "none dont_know", "social_facility", datetime(2026, 1, 1), ""),
        ]
        for number, (name, sex, dob, support, care, reported, code) in zip(
                take_numbers(db, project.id, len(rows)), rows, strict=True):
            child = Child(id=str(uuid.uuid4()), project_id=project.id, number=number,
                          full_name=name, name_folded=name.lower(), sex=sex, dob=dob,
                          support=support, care_arrangement=care, village_code="T01",
                          first_reported_at=reported)
            db.add(child)
            if code:
                db.flush()
                db.add(ChildCategoryEpisode(child_id=child.id, code=code,
                                            status="provisional", history=[]))
        return project.id


def _names(services: Services, project_id: int, **args: str) -> list[str]:
    query = children_query(project_id, _admin_access(project_id), parse_filters(args), ON)
    with services.database.unit_of_work() as db:
        return [child.full_name for child in db.scalars(query)]


def test_an_age_group_counts_from_the_earliest_possible_birthday(
        services: Services, project_id: int) -> None:
    # On 4 December 2026 a child born 4 December 2020 is 6; one born a day later is 5.
    assert _names(services, project_id, ageGroup="0-6") == ["An"]
    assert _names(services, project_id, ageGroup="6-11") == ["Bình"]
    # "2010" counts from 1 January 2010 (16 now); "2010-12" from 1 December 2010 (16 too).
    assert _names(services, project_id, ageGroup="16-18") == ["Cúc", "Dũng"]
    assert birthday_cutoff(1, date(2028, 2, 29)) == "2027-02-28"  # no 29 February in 2027


def test_support_is_yes_no_or_unknown_and_unknown_is_never_supported(
        services: Services, project_id: int) -> None:
    assert _names(services, project_id, support="yes") == ["An"]
    assert _names(services, project_id, support="no") == ["Bình"]
    assert _names(services, project_id, support="unknown") == ["Cúc", "Dũng"]
    # "none dont_know" says nothing was received: neither supported nor unknown.
    assert "Én" not in _names(services, project_id, support="yes")


def test_care_arrangements_group_the_screening_answers(
        services: Services, project_id: int) -> None:
    assert _names(services, project_id, care="kin") == ["An"]
    assert _names(services, project_id, care="facility") == ["Én"]
    assert _names(services, project_id, care="unknown") == ["Cúc"]


def test_reported_dates_are_vietnamese_calendar_days(
        services: Services, project_id: int) -> None:
    # 30 September 18:00 UTC is 1 October in Vietnam; 16:00 UTC is still 30 September.
    assert _names(services, project_id, reportedFrom="2026-10-01",
                  reportedTo="2026-12-31") == ["An", "Cúc"]
    assert _names(services, project_id, reportedTo="2026-09-30") == ["Bình", "Én"]


def test_special_keeps_children_with_an_open_article_10_category(
        services: Services, project_id: int) -> None:
    assert _names(services, project_id, special="true") == ["An", "Cúc"]
    assert _names(services, project_id, category="HCDB-B") == ["Cúc"]
    assert _names(services, project_id, sex="U") == ["Én"]


@pytest.mark.parametrize(("name", "value"), [
    ("ageGroup", "5-9"), ("support", "maybe"), ("care", "aunt"), ("sex", "X"),
    ("reportedFrom", "01/10/2026"), ("category", "HCDB-Z"), ("special", "yes"),
    ("status", "lost"),
])
def test_a_value_the_list_does_not_know_is_refused_by_name(name: str, value: str) -> None:
    with pytest.raises(InvalidFilter) as refused:
        parse_filters({name: value})
    assert refused.value.name == name


def test_children_get_consecutive_numbers_per_commune(services: Services,
                                                      project_id: int) -> None:
    with services.database.unit_of_work() as db:
        numbers = sorted(db.scalars(select(Child.number).where(Child.project_id == project_id)))
        assert numbers == [1, 2, 3, 4, 5]
        assert list(take_numbers(db, project_id, 2)) == [6, 7]


def test_a_loaded_project_reads_the_counter_its_numbers_moved(services: Services,
                                                             project_id: int) -> None:
    with services.database.unit_of_work() as db:
        project = db.get_one(Project, project_id)
        assert project.next_child_number == 6
        taken = take_numbers(db, project_id, 3)
        assert project.next_child_number == 9
        give_back_numbers(db, project_id, taken[1:])
        assert project.next_child_number == 7
