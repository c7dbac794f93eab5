"""Records for the matching tests, built through the same functions the sync uses."""

from __future__ import annotations

from itertools import count

from sync.dates import PartialDate
from sync.matching import ChildRecord, InMemoryIndex, MatchModel, MatchRecord, Sex, prepare

_ids = count(1)


def child(
    full_name: str,
    dob: str | None = "2015-03-04",
    *,
    sex: str = "M",
    submission: str = "s-registry",
    mother: str = "Trần Thị Lan",
    father: str = "Nguyễn Văn Hùng",
    head: str = "Nguyễn Văn Hùng",
    village: str = "T01",
    commune: str = "X1",
    personal_id: str = "",
    record_id: str | None = None,
    home_name: str = "",
) -> MatchRecord:
    return prepare(ChildRecord(
        record_id=record_id or f"r{next(_ids)}",
        submission_id=submission,
        full_name=full_name,
        sex=Sex(sex),
        dob=PartialDate.parse(dob),
        village=village,
        commune=commune,
        household_head=head,
        mother_name=mother,
        father_name=father,
        personal_id=personal_id,
        home_name=home_name,
    ))


def registry(*records: tuple[MatchRecord, str]) -> InMemoryIndex:
    index = InMemoryIndex()
    for record, child_id in records:
        index.add(record, child_id)
    return index


def model() -> MatchModel:
    return MatchModel.load()
