"""What the registry pages read, filtered by `server.registry.access` exactly as the JSON API
filters it (the same clauses, the same review-queue order), one page at a time. The children
list's filters are not here: they live in `server.registry.children_query`, shared with the
API, the exports and the dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from server.models import (
    Child,
    ChildCategoryEpisode,
    ChildRecord,
    Flag,
    MatchCandidate,
    Village,
)
from server.models.registry import CandidateStatus, FlagStatus
from server.registry.access import RegistryAccess, is_health_code, is_sensitive_code
from sync.categories import default_catalogue

PAGE_SIZE = 50
RECENT_DECISIONS = 10


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    total: int
    number: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def page_number() -> int:
    """The ``?page=`` asked for; anything unreadable is the first page."""
    try:
        return int(request.args.get("page", "1"))
    except ValueError:
        return 1


def count(session: Session, query: Select[*tuple[Any, ...]]) -> int:
    """How many rows the query lists (the total a list page shows)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return total or 0


def paged(session: Session, query: Select[*tuple[Any, ...]], number: int) -> Page:
    total = count(session, query)
    number = min(max(1, number), max(1, -(-total // PAGE_SIZE)))
    rows = list(session.execute(query.limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)))
    return Page(rows, total, number)


# --- villages and categories the filters offer -------------------------------------------------


def villages(session: Session, project_id: int, access: RegistryAccess) -> list[Village]:
    return list(session.scalars(select(Village).where(
        Village.project_id == project_id, access.read.clause(Village.code))
        .order_by(Village.code)))


def filter_codes(access: RegistryAccess) -> list[str]:
    """Codes worth offering: those the caller could see on some child of its villages."""
    return [c.code for c in default_catalogue()
            if not access.sensitive.is_empty or not is_sensitive_code(c.code)
            or (is_health_code(c.code) and not access.health.is_empty)]


# --- children ----------------------------------------------------------------------------------


def list_extras(session: Session, children: Sequence[Child], access: RegistryAccess
                ) -> tuple[dict[str, list[ChildCategoryEpisode]], dict[str, int]]:
    """Each listed child's visible active categories and its count of visible open flags."""
    ids = [child.id for child in children]
    village = {child.id: child.village_code for child in children}
    episodes: dict[str, list[ChildCategoryEpisode]] = {}
    for episode in session.scalars(select(ChildCategoryEpisode).where(
            ChildCategoryEpisode.child_id.in_(ids), ChildCategoryEpisode.status != "ended")
            .order_by(ChildCategoryEpisode.opened_at, ChildCategoryEpisode.id)):
        if access.sees_category(episode.code, village[episode.child_id],
                                confidential=episode.confidential):
            episodes.setdefault(episode.child_id, []).append(episode)
    flags: dict[str, int] = {}
    for child_id, code, confidential in session.execute(select(
            Flag.child_id, Flag.code, Flag.confidential).where(
            Flag.child_id.in_(ids), Flag.status != FlagStatus.CLOSED.value)):
        if access.sees_category(code, village[child_id], confidential=confidential):
            flags[child_id] = flags.get(child_id, 0) + 1
    return episodes, flags


def child_flags(session: Session, child: Child, access: RegistryAccess) -> list[Flag]:
    """A child's flags seen in full (a masked urgent alert stays off the child's page)."""
    rows = session.scalars(select(Flag).where(Flag.child_id == child.id)
                           .order_by(Flag.raised_at, Flag.id))
    return [flag for flag in rows if access.sees_category(
        flag.code, child.village_code, confidential=flag.confidential)]


# --- review queue ------------------------------------------------------------------------------


def recent_decisions(session: Session, project_id: int, access: RegistryAccess
                     ) -> list[tuple[MatchCandidate, ChildRecord, Child]]:
    """The latest decisions a person made (not rows a merge settled), newest first; only
    pairs whose both sides the caller sees."""
    proposed = aliased(Child)
    return [(row, record, child) for row, record, child in session.execute(
        select(MatchCandidate, ChildRecord, proposed)
        .join(ChildRecord, ChildRecord.id == MatchCandidate.record_id)
        .join(proposed, proposed.id == MatchCandidate.child_id)
        .where(ChildRecord.project_id == project_id,
               MatchCandidate.status == CandidateStatus.DECIDED.value,
               MatchCandidate.decision.is_not(None),
               access.read.clause(ChildRecord.village_code),
               access.read.clause(proposed.village_code))
        .order_by(MatchCandidate.decided_at.desc(), MatchCandidate.id.desc())
        .limit(RECENT_DECISIONS))]


# --- flags -------------------------------------------------------------------------------------


def open_flags_query(project_id: int, access: RegistryAccess) -> Select[*tuple[Any, ...]]:
    """Flags not closed that the caller sees in full or masked, soonest deadline first."""
    return (select(Flag, Child).join(Child, Child.id == Flag.child_id)
            .where(Flag.project_id == project_id, Flag.status != FlagStatus.CLOSED.value,
                   access.flag_list_clause())
            .order_by(Flag.deadline.is_(None), Flag.deadline, Flag.raised_at, Flag.id))


def closed_flags_query(project_id: int, access: RegistryAccess) -> Select[*tuple[Any, ...]]:
    """Closed flags the caller sees in full or masked, the most recently closed first."""
    return (select(Flag, Child).join(Child, Child.id == Flag.child_id)
            .where(Flag.project_id == project_id, Flag.status == FlagStatus.CLOSED.value,
                   access.flag_list_clause())
            .order_by(Flag.closed_at.desc(), Flag.id.desc()))
