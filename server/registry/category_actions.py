"""A person confirming, ending or accepting a child's special-circumstance category: who may,
and the change itself (docs/categories.md §6).

The API (`…/categories/{code}/confirm|end|accept`) and the child's page both go through
`changeable_episode` and `change_category`, so a category is changed by one rule wherever it
is changed: a category the caller may not see does not exist for it (`NotFound`), one it sees
without the right to change it is refused (`NotAllowed`) — `RegistryAccess.may_change_category`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.models import Child, ChildCategoryEpisode
from server.registry import categories
from server.registry.access import RegistryAccess
from server.registry.errors import NotFound, RegistryError


class NotAllowed(RegistryError):
    """The caller sees the thing but may not act on it there."""


class CategoryAction(StrEnum):
    CONFIRM = "confirm"
    END = "end"
    ACCEPT = "accept"  # a confidential referral becomes a provisional category


def changeable_episode(session: Session, access: RegistryAccess, child: Child,
                       code: str) -> ChildCategoryEpisode:
    """The child's active episode of ``code`` that the caller may change."""
    episode = session.scalar(select(ChildCategoryEpisode).where(
        ChildCategoryEpisode.child_id == child.id, ChildCategoryEpisode.code == code,
        ChildCategoryEpisode.status != "ended"))
    if episode is None or not access.sees_category(code, child.village_code,
                                                   confidential=episode.confidential):
        raise NotFound(f"child {child.id} has no active {code} category")
    if not access.may_change_category(code, child.village_code,
                                      confidential=episode.confidential):
        raise NotAllowed(f"{code} may not be changed by this caller")
    return episode


def change_category(session: Session, child_id: str, code: str, action: CategoryAction, *,
                    by: str, why: str, now: datetime, subcode: str | None = None) -> None:
    """Apply ``action`` to the child's active episode of ``code`` (the caller checked who may).
    `InvalidTransition` (a `CategoryError`) propagates: confirming an ended episode, …"""
    if action is CategoryAction.CONFIRM:
        categories.confirm(session, child_id, code, by=by, why=why, now=now, subcode=subcode)
    elif action is CategoryAction.END:
        categories.end(session, child_id, code, by=by, why=why, now=now)
    else:
        categories.accept_referral(session, child_id, code, by=by, why=why, now=now)
