"""Turning 16 between screenings: AGEOUT-16-22 opens on its own (docs/categories.md §4).

A screening of a child aged 16 or over derives AGEOUT-16-22 from its answers
(`screening_rules.json`). A child screened at 15 turns 16 without anyone visiting, and the
commune must still know that an orphaned, abandoned or unsupported child who keeps studying
stays entitled to the allowance until 22 (Decree 20/2021 Art. 5(2)). This pass finds those
children — an open HCDB-A, B or C episode, still in school by their current view, 16 or over
and under 22 — and opens AGEOUT-16-22 as a provisional category for the officer to confirm.

Ages count from the earliest possible birthday of a partial date, as the form and
`sync.categories.age` do. Nothing is ended: the Article 10 categories of a child past 16 are
the officer's to close, with a reason.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from server.models import Child, ChildCategoryEpisode
from server.models.registry import ChildStatus
from server.registry.categories import apply_codes
from sync.categories.age import completed_years

AGEOUT = "AGEOUT-16-22"
ENTITLING = ("HCDB-A", "HCDB-B", "HCDB-C")  # orphaned, abandoned, no one to rely on
OPEN = ("provisional", "confirmed")
IN_SCHOOL = "in_school"
FROM_AGE, UNTIL_AGE = 16, 22
AGEING_ACTOR = "ageing"


def earliest_birthday(dob: str | None) -> date | None:
    """``2010`` → 2010-01-01, ``2010-05`` → 2010-05-01, a full date as it is; None for text
    that is no date (the column is plain text, and one bad row must not stop an export)."""
    if not dob:
        return None
    try:
        parts = [int(part) for part in dob.split("-")] + [1, 1]
        return date(parts[0], parts[1], parts[2])
    except ValueError:
        return None


def _candidates(session: Session, project_id: int | None) -> list[Child]:
    entitling = aliased(ChildCategoryEpisode)
    ageout = aliased(ChildCategoryEpisode)
    query = (select(Child).where(
        Child.status == ChildStatus.ACTIVE.value, Child.school_status == IN_SCHOOL,
        Child.dob.is_not(None),
        select(entitling.id).where(entitling.child_id == Child.id,
                                   entitling.code.in_(ENTITLING),
                                   entitling.status.in_(OPEN)).exists(),
        ~select(ageout.id).where(ageout.child_id == Child.id, ageout.code == AGEOUT,
                                 ageout.status != "ended").exists()))
    if project_id is not None:
        query = query.where(Child.project_id == project_id)
    return list(session.scalars(query))


def open_age_outs(session: Session, today: date, now: datetime,
                  project_id: int | None = None) -> list[str]:
    """Open AGEOUT-16-22 on every child who has reached it; → their ids."""
    opened = []
    for child in _candidates(session, project_id):
        born = earliest_birthday(child.dob)
        if born is None or not FROM_AGE <= completed_years(born, today) < UNTIL_AGE:
            continue
        apply_codes(session, child.id, [AGEOUT], source=f"age:{FROM_AGE}",
                    by=AGEING_ACTOR, now=now)
        opened.append(child.id)
    return opened
