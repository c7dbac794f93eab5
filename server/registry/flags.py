"""Flags the commune acts on: acknowledge, close with a reason, list (docs/categories.md §6).

A flag is raised by `server.registry.categories` (a new child in special circumstances, an
urgent case with its Decree 56 Art. 26 deadline, a referral). People move it open →
acknowledged → closed; closing needs a reason and happens once. Merges and unmerges move flags
with their children (`server.registry.merge`); a flag that became a duplicate in a merge is
closed with `MERGE_DUPLICATE` in its reason, and opens again if the merge is undone.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.db import utcnow
from server.models import Child, Flag
from server.models.registry import FlagStatus
from server.registry.errors import InvalidDecision, NotFound

# Prefix of the reason of a flag closed because a merge made it a copy of another flag.
MERGE_DUPLICATE = "merge duplicate:"


def get_flag(session: Session, flag_id: int, project_id: int | None = None) -> Flag:
    flag = session.get(Flag, flag_id)
    if flag is None or (project_id is not None and flag.project_id != project_id):
        raise NotFound(f"flag {flag_id} not found")
    return flag


def acknowledge(session: Session, flag_id: int, actor_id: int | None,
                now: datetime | None = None) -> Flag:
    """Someone has seen the flag and is acting on it; acknowledging twice changes nothing."""
    flag = get_flag(session, flag_id)
    if flag.status == FlagStatus.CLOSED.value:
        raise InvalidDecision(f"flag {flag_id} is closed")
    if flag.status == FlagStatus.OPEN.value:
        flag.status = FlagStatus.ACKNOWLEDGED.value
        flag.acknowledged_by, flag.acknowledged_at = actor_id, now or utcnow()
        session.flush()
    return flag


def close(session: Session, flag_id: int, actor_id: int | None, reason: str,
          now: datetime | None = None) -> Flag:
    """Close with the reason the commune gives (what was done, or why nothing is needed)."""
    flag = get_flag(session, flag_id)
    if not reason.strip():
        raise InvalidDecision("closing a flag needs a reason")
    if flag.status == FlagStatus.CLOSED.value:
        raise InvalidDecision(f"flag {flag_id} is already closed")
    flag.status = FlagStatus.CLOSED.value
    flag.closed_by, flag.closed_at = actor_id, now or utcnow()
    flag.close_reason = reason.strip()[:1000]
    session.flush()
    return flag


def open_flags(session: Session, project_id: int, *, villages: Collection[str] | None = None,
               codes: Collection[str] | None = None, include_acknowledged: bool = True,
               include_confidential: bool = True) -> list[Flag]:
    """Flags not closed yet, the nearest deadline first, then the oldest.

    ``villages`` (None = all) keeps flags of children of those villages; a role that may not
    see sensitive categories passes ``include_confidential=False``.
    """
    statuses = [FlagStatus.OPEN.value]
    if include_acknowledged:
        statuses.append(FlagStatus.ACKNOWLEDGED.value)
    query = (select(Flag).join(Child, Child.id == Flag.child_id)
             .where(Flag.project_id == project_id, Flag.status.in_(statuses)))
    if villages is not None:
        query = query.where(Child.village_code.in_(list(villages)))
    if codes is not None:
        query = query.where(Flag.code.in_(list(codes)))
    if not include_confidential:
        query = query.where(Flag.confidential.is_(False))
    found = list(session.scalars(query))
    return sorted(found, key=lambda f: (f.deadline is None, f.deadline or f.raised_at,
                                        f.raised_at, f.id))


def close_duplicates(session: Session, child_id: str, actor_id: int | None,
                     now: datetime) -> list[Flag]:
    """After a merge: of the child's unclosed flags of one code and kind, the earliest stays;
    the others are closed as merge duplicates (and return if the merge is undone)."""
    seen: dict[tuple[str, str], Flag] = {}
    closed = []
    flags = session.scalars(select(Flag).where(
        Flag.child_id == child_id, Flag.status != FlagStatus.CLOSED.value))
    for flag in sorted(flags, key=lambda f: (f.raised_at, f.id)):
        first = seen.setdefault((flag.code, flag.kind), flag)
        if first is not flag:
            flag.status = FlagStatus.CLOSED.value
            flag.closed_by, flag.closed_at = actor_id, now
            flag.close_reason = f"{MERGE_DUPLICATE} same child as flag {first.id}"
            closed.append(flag)
    session.flush()
    return closed


def reopen_duplicate(flag: Flag) -> None:
    """A flag closed as a merge duplicate is open again once its child is apart again."""
    if flag.status == FlagStatus.CLOSED.value and (flag.close_reason or "").startswith(
            MERGE_DUPLICATE):
        flag.status = (FlagStatus.ACKNOWLEDGED.value if flag.acknowledged_at
                       else FlagStatus.OPEN.value)
        flag.closed_by = flag.closed_at = flag.close_reason = None
