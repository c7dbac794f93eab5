"""Children whose personal ID is also in another commune's registry (docs/matching.md §3.1).

Each commune (project) is a registry of its own: a report is matched against the children of
its commune and nothing else, so a child registered by two communes of one server — a family
that moved, or a number copied onto the wrong child — is neither linked nor queued. The
personal ID is national, and its blocking key is stored without the commune, so the same valid
number in two communes is found here, from the key index, and the data-quality report lists it
for each commune's officer (docs/reports.md §2). Only the other communes' names are told: the
other child's answers stay with the commune that holds them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from server.db import plain_rows
from server.models import ChildMembership, ChildRecord, MatchKey, Project
from server.registry.candidates import CHUNK, records_under_keys
from sync.matching import KeyType

# The project's own numbers first, from its records (by the project's index), then the records
# of every project under those numbers, by the registry's own key lookup (one index probe per
# number on PostgreSQL), then which of those records are another commune's, by primary key.
# Joined in one query, PostgreSQL without statistics started from every other commune's
# records instead.
_OWN = (select(MatchKey.key_value, ChildMembership.child_id)
        .join(ChildRecord, ChildRecord.id == MatchKey.record_id)
        .join(ChildMembership, ChildMembership.record_id == ChildRecord.id)
        .where(ChildRecord.project_id == bindparam("project"),
               MatchKey.key_type == KeyType.PERSONAL_ID.value))
_OTHER_COMMUNE = (select(ChildRecord.id, Project.name)
                  .join(Project, Project.id == ChildRecord.project_id)
                  .where(ChildRecord.id.in_(bindparam("ids", expanding=True)),
                         ChildRecord.project_id != bindparam("project"),
                         Project.deleted_at.is_(None)))


def ids_in_other_communes(session: Session, project_id: int,
                          children: Select[Any] | None = None) -> dict[str, list[str]]:
    """Child id → the names of the other communes whose registry holds a report with the same
    personal ID, for the project's children (those of ``children``, a select of child ids,
    when given). Only IDs that are keys count: a number marked doubtful is no evidence."""
    own = _OWN if children is None else _OWN.where(ChildMembership.child_id.in_(children))
    children_of: dict[str, set[str]] = {}
    for number, child_id in session.execute(own, {"project": project_id}):
        children_of.setdefault(number, set()).add(child_id)
    found: dict[str, set[str]] = {}
    for number, commune in _elsewhere(session, project_id, sorted(children_of)):
        for child_id in children_of[number]:
            found.setdefault(child_id, set()).add(commune)
    return {child_id: sorted(communes) for child_id, communes in found.items()}


def _elsewhere(session: Session, project_id: int, numbers: Sequence[str]
               ) -> list[tuple[str, str]]:
    """(number, commune name) for each of ``numbers`` another commune's registry holds."""
    key_type = KeyType.PERSONAL_ID.value
    wanted = set(numbers)
    number_of: dict[int, str] = {}
    for start in range(0, len(numbers), CHUNK):
        pairs = [(key_type, number) for number in numbers[start:start + CHUNK]]
        number_of.update((record_id, value) for kind, value, record_id
                         in records_under_keys(session, pairs)
                         if kind == key_type and value in wanted)
    ids = sorted(number_of)
    return [(number_of[record_id], commune) for start in range(0, len(ids), CHUNK)
            for record_id, commune in plain_rows(session, _OTHER_COMMUNE, {
                "ids": ids[start:start + CHUNK], "project": project_id})]
