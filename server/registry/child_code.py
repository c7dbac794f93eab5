"""The code people use for a registry child: its number in the commune and a check digit.

A UUID cannot be read aloud or copied onto a paper list; an internal row number changes
meaning when children merge. Each child gets the next number of its commune when it is made
(`projects.next_child_number`, taken under the project row's lock, so two syncs never hand out
the same one) and keeps it for ever: a merged child's code still leads to its survivor, like its
id. The code is the number, at least five digits, then a Damm check digit: `00042-7`. The Damm
digit catches every single wrong digit and every swap of two neighbouring digits, the two
mistakes made copying numbers by hand (docs/reports.md §1).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from server.models import Project

# The quasigroup of order 10 from H. Michael Damm's thesis (2004), with a zero diagonal.
DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
_CODE = re.compile(r"^\s*(\d{1,12})\s*-?\s*(\d)\s*$")


def check_digit(digits: str) -> int:
    interim = 0
    for digit in digits:
        interim = DAMM[interim][int(digit)]
    return interim


def format_code(number: int) -> str:
    digits = f"{number:05d}"
    return f"{digits}-{check_digit(digits)}"


def parse_code(text: str) -> int | None:
    """The number a typed code names, or None when it is not a code or its check digit is
    wrong (a mistyped code finds nobody rather than another child)."""
    found = _CODE.match(text or "")
    if not found or check_digit(found.group(1)) != int(found.group(2)):
        return None
    return int(found.group(1))


def take_numbers(session: Session, project_id: int, count: int = 1) -> range:
    """Reserve `count` consecutive child numbers of the project (locks its row until commit)."""
    last = session.execute(
        update(Project).where(Project.id == project_id)
        .values(next_child_number=Project.next_child_number + count)
        .returning(Project.next_child_number)
        .execution_options(synchronize_session=False)).scalar_one()
    _forget_next_number(session, project_id)
    return range(last - count, last)


def give_back_numbers(session: Session, project_id: int, unused: Sequence[int]) -> None:
    """Return the unused end of a range `take_numbers` reserved in this transaction, so numbers
    stay consecutive: the reservation locked the project's row, nobody took any after them."""
    if unused:
        session.execute(update(Project)
                        .where(Project.id == project_id,
                               Project.next_child_number == unused[-1] + 1)
                        .values(next_child_number=unused[0])
                        .execution_options(synchronize_session=False))
        _forget_next_number(session, project_id)


def _forget_next_number(session: Session, project_id: int) -> None:
    """Expire the counter on the project's object, if the session holds one, so it is read
    again when asked. The ORM's own synchronisation would instead test the UPDATE's criteria
    on every object in the session: a sync batch holds thousands, and that scan was a thirtieth
    of a re-survey's sync (README "Benchmarks")."""
    project = session.identity_map.get(identity_key(Project, project_id))
    if project is not None:
        session.expire(project, ["next_child_number"])
