"""What the API's routes and the pages share about the caller: who is asking, the commune and
registry they may reach, the village rule, and domain errors turned into problems.

The JSON API (`server.api.v1`) and the pages (`server.web`) both answer through these
functions, so a child, a queue row or a category is judged by one rule whichever door the
request came through (docs/access.md). Request-bound (Flask's `g` and the request's database
session), hence here rather than in the Flask-free `server.registry`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ColumnElement, Select, select

from server import problems
from server.auth import permissions
from server.auth.principal import Principal
from server.context import db, principal
from server.models import Audit, Child, ChildMembership, ChildRecord, MatchCandidate, Project
from server.models.registry import CandidateStatus
from server.operations.projects import get_project
from server.registry import merge, review
from server.registry.access import RegistryAccess, VillageScope
from server.registry.category_actions import NotAllowed, changeable_episode
from server.registry.errors import InvalidDecision, NotFound
from sync.categories import CategoryError, UnknownCategory


def acting_user() -> Principal:
    """The web user behind this request: 401 for nobody, 403.1 for an app user.

    Central's app-user role holds no management verbs, so a phone's key URL must not reach
    these endpoints even where our project-level grant would let it read.
    """
    who = principal()
    if who.is_anonymous:
        raise problems.auth_failed()
    if who.user is None:
        raise problems.insufficient_rights()
    return who


def audit(who: Principal, action: str, actee: str | None,
          details: dict[str, Any] | None = None) -> None:
    """An audit row in the request's unit of work: it commits with the change or not at all."""
    db().add(Audit(actor_id=who.actor_id, action=action, actee=actee, details=details))


def readable_project(who: Principal, project_id: int, verb: str = "project.read") -> Project:
    """The project once the caller may `verb` on it; 404 if it does not exist."""
    project = get_project(db(), project_id)
    permissions.require(who, verb, project.id)
    return project


def caller(project_id: int) -> tuple[Principal, RegistryAccess]:
    """The web user and their registry access: 401/403 without `registry.read`, 404 for a
    project that does not exist."""
    who = acting_user()
    readable_project(who, project_id, permissions.REGISTRY_READ)
    return who, RegistryAccess.of(who, project_id)


def allowed(scope: VillageScope, *villages: str) -> None:
    """403 when the caller sees the thing but may not act on it there."""
    if not all(scope.covers(village) for village in villages):
        raise problems.insufficient_rights()


@contextmanager
def registry_errors() -> Iterator[None]:
    """Registry operations raise domain errors; here they become Central-style problems."""
    try:
        yield
    except (NotFound, UnknownCategory) as error:
        raise problems.not_found() from error
    except (InvalidDecision, CategoryError) as error:
        raise problems.registry_conflict(str(error)) from error


def actor_ref(who: Principal) -> str:
    """`by` in category histories: the actor's id, never a name (histories are shown)."""
    return f"actor:{who.actor_id}"


def changeable_category(access: RegistryAccess, child: Child, code: str) -> None:
    """404 when the caller sees no active episode of `code` on the child, 403 when it sees
    one it may not change (`server.registry.category_actions`): the API's and the child's
    page's rule."""
    try:
        changeable_episode(db(), access, child, code)
    except NotFound:
        raise problems.not_found() from None
    except NotAllowed:
        raise problems.insufficient_rights() from None


def visible_child(project_id: int, child_id: str, access: RegistryAccess) -> Child:
    """The child (a merged id's survivor) when it is in the project and the caller's villages;
    404 otherwise, so an id outside them tells nothing."""
    with registry_errors():
        child = merge.resolve(db(), child_id, project_id)
    if not access.sees_child(child.village_code):
        raise problems.not_found()
    return child


def current_child(child_id: str) -> Child:
    """The child an id names now; a broken redirect chain shows the row's own child."""
    try:
        return merge.resolve(db(), child_id)
    except NotFound:
        return db().get_one(Child, child_id)


def visible_candidate(project_id: int, candidate_id: int, access: RegistryAccess, *,
                      acting: bool = True) -> tuple[MatchCandidate, ChildRecord, Child]:
    """A queue row of the project (any status) whose both sides the caller sees (else 404)
    and, when ``acting``, reviews (else 403). The child is the current one. The API and the
    web pages both use it, so a row is judged by one rule."""
    row = db().execute(
        select(MatchCandidate, ChildRecord)
        .join(ChildRecord, ChildRecord.id == MatchCandidate.record_id)
        .where(MatchCandidate.id == candidate_id, ChildRecord.project_id == project_id)).first()
    if row is None:
        raise problems.not_found()
    candidate, record = row
    child = current_child(candidate.child_id)
    if not (access.sees_child(record.village_code) and access.sees_child(child.village_code)):
        raise problems.not_found()
    if acting:
        allowed(access.review, record.village_code, child.village_code)
    return candidate, record, child


def unmerge_visible_record(project_id: int, child_id: str, record_id: int
                           ) -> tuple[Principal, Child, str]:
    """Take a record the caller may review out of a child it sees; → (who, former child,
    the record's child now). 404 when the record is not in that child."""
    who, access = caller(project_id)
    child = visible_child(project_id, child_id, access)
    allowed(access.review, child.village_code)
    held = db().scalar(select(ChildMembership.child_id).where(
        ChildMembership.record_id == record_id))
    if held != child.id:
        raise problems.not_found()
    assert who.actor_id is not None
    with registry_errors():
        now_in = merge.unmerge_record(db(), record_id, who.actor_id)
    return who, child, now_in


def special_circumstances_seen(access: RegistryAccess, record_child: Any, proposed_child: Any
                               ) -> ColumnElement[bool]:
    """Either side of a queue row in special circumstances, judged on what the caller may see
    (a masked urgent alert counts: the commune chair receives it anyway)."""
    return review.special_circumstances(record_child, proposed_child,
                                        flag_seen=access.flag_list_clause,
                                        episode_seen=access.episode_clause)


def visible_queue_query(project_id: int, access: RegistryAccess
                        ) -> Select[MatchCandidate, ChildRecord, Child, str, bool]:
    """Open rows whose both sides lie in the caller's villages, in the queue's order
    (`server.registry.review`: undecided before "unsure", special circumstances first, then
    the highest score): (row, record, proposed child, the record's child, special). Open rows
    always name a current child: merges re-point them. The API and the web pages list this."""
    record_child = ChildMembership.child_id
    special = special_circumstances_seen(access, record_child, MatchCandidate.child_id)
    return (select(MatchCandidate, ChildRecord, Child, record_child, special)
            .join(ChildRecord, ChildRecord.id == MatchCandidate.record_id)
            .join(Child, Child.id == MatchCandidate.child_id)
            .outerjoin(ChildMembership, ChildMembership.record_id == ChildRecord.id)
            .where(Child.project_id == project_id,
                   MatchCandidate.status == CandidateStatus.OPEN.value,
                   access.child_clause(), access.read.clause(ChildRecord.village_code))
            .order_by(*review.queue_order(special)))
