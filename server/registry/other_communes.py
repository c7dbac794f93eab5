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

from sqlalchemy import Select, bindparam, select, text
from sqlalchemy.orm import Session

from server.db import plain_rows
from server.models import ChildMembership, ChildRecord, MatchKey, Project
from sync.matching import KeyType

# The project's own numbers first, from its records (by the project's index), then each number
# looked up among the other projects' keys: one probe of the (key_type, key_value) index per
# number on PostgreSQL (a LATERAL subquery kept by OFFSET 0, as the registry's candidate
# lookups, `server.registry.candidates`), whatever the statistics. Joined in one query,
# PostgreSQL without statistics started from every other commune's records instead.
_OWN = (select(MatchKey.key_value, ChildMembership.child_id)
        .join(ChildRecord, ChildRecord.id == MatchKey.record_id)
        .join(ChildMembership, ChildMembership.record_id == ChildRecord.id)
        .where(ChildRecord.project_id == bindparam("project"),
               MatchKey.key_type == KeyType.PERSONAL_ID.value))
_ELSEWHERE_ANY = text(
    "SELECT wanted.v, p.name FROM unnest(CAST(:values AS text[])) AS wanted(v)"
    " CROSS JOIN LATERAL (SELECT m.record_id FROM match_keys m"
    " WHERE m.key_type = :key_type AND m.key_value = wanted.v OFFSET 0) AS k"
    " JOIN child_records r ON r.id = k.record_id"
    " JOIN projects p ON p.id = r.project_id"
    " WHERE r.project_id <> :project AND p.deleted_at IS NULL")
_ELSEWHERE_IN = (select(MatchKey.key_value, Project.name)
                 .join(ChildRecord, ChildRecord.id == MatchKey.record_id)
                 .join(Project, Project.id == ChildRecord.project_id)
                 .where(MatchKey.key_type == KeyType.PERSONAL_ID.value,
                        MatchKey.key_value.in_(bindparam("values", expanding=True)),
                        ChildRecord.project_id != bindparam("project"),
                        Project.deleted_at.is_(None)))
# Bound parameters of one statement on SQLite stay well under its limit.
_CHUNK = 2000


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
    if not numbers:
        return []
    if session.get_bind().dialect.name == "postgresql":
        rows = plain_rows(session, _ELSEWHERE_ANY, {
            "values": list(numbers), "key_type": KeyType.PERSONAL_ID.value,
            "project": project_id})
        return [(number, commune) for number, commune in rows]
    return [(number, commune) for start in range(0, len(numbers), _CHUNK)
            for number, commune in plain_rows(session, _ELSEWHERE_IN, {
                "values": list(numbers[start:start + _CHUNK]), "project": project_id})]
