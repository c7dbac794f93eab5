"""Rebuilding the stored blocking keys of a project's records after the keys change.

Every record is stored under the keys `sync.matching.blocking.blocking_keys` gives it when it
is synced or imported (`match_keys`, docs/matching.md §3.1). When a release adds a key — the
village, mother's given name and birth year key, for instance — the records stored before it
lack that key, so a new report that only that key would find is never compared with them.
`rebuild_match_keys` recomputes every record's keys from the record itself, in batches, so an
operator runs it once after such an upgrade (README "Upgrading"; `diemtua registry
rebuild-keys`). It is safe to run again, and while the server runs: each batch replaces its own
records' keys in one transaction, and records synced meanwhile store their keys themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from server.models import ChildRecord, MatchKey
from server.registry.candidates import match_input
from sync.matching import blocking_keys, prepare

BATCH = 2000


@dataclass(frozen=True)
class RebuildSummary:
    records: int
    keys_before: int
    keys_after: int


def _record_ids(session: Session, project_id: int) -> list[int]:
    return list(session.scalars(select(ChildRecord.id).where(ChildRecord.project_id == project_id)
                                .order_by(ChildRecord.id)))


def _rebuild_batch(session: Session, ids: list[int]) -> tuple[int, int]:
    """Replace the keys of the records `ids`; (keys removed, keys written)."""
    rows = session.scalars(select(ChildRecord).where(ChildRecord.id.in_(ids))).all()
    keys = [{"key_type": str(key.key_type), "key_value": key.key_value, "record_id": row.id}
            for row in rows for key in blocking_keys(prepare(match_input(row)))]
    removed = session.scalar(select(func.count()).select_from(MatchKey)
                             .where(MatchKey.record_id.in_(ids))) or 0
    session.execute(delete(MatchKey).where(MatchKey.record_id.in_(ids)))
    if keys:
        session.execute(insert(MatchKey), keys)
    return removed, len(keys)


def rebuild_match_keys(begin: Callable[[], AbstractContextManager[Session]], project_id: int,
                       batch: int = BATCH, progress: Callable[[int], None] | None = None
                       ) -> RebuildSummary:
    """Recompute the stored keys of every record of the project, one committed batch at a
    time (`begin` opens a unit of work that commits when its block ends)."""
    with begin() as session:
        ids = _record_ids(session, project_id)
    before = after = 0
    for start in range(0, len(ids), batch):
        with begin() as session:
            removed, written = _rebuild_batch(session, ids[start:start + batch])
        before, after = before + removed, after + written
        if progress:
            progress(min(start + batch, len(ids)))
    return RebuildSummary(len(ids), before, after)
