"""The master registry over JSON (issue 3 §6): children, the review queue, flags, categories.

Every route checks the caller's registry verb and village scope (`server.registry.access`):
a child outside the caller's villages is 404, as if it did not exist; sensitive categories,
confidential episodes and confidential history entries are absent for roles without
`registry.read_sensitive` (domain.md §7(d)4), and opening a child with any of them shown
writes an audit row (§7(d)5; codes only, never names). App users get 403: their children
reach them through the `children` entity list.

A merged child's id answers 307 with `Location:` its survivor. Temporary, not permanent:
undoing the decision that merged it brings the id back.

Paged lists take `limit` (default 100, at most 1000) and `offset`, and give the number of
matching rows in `X-Total-Count`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Response, request
from flask_restx import Namespace, Resource
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy import Select, case, exists, func, select

from server import problems
from server.api.v1.common import acting_user, audit, load_json
from server.api.v1.projects import readable_project
from server.api.v1.registry_json import (
    candidate_json,
    category_json,
    child_detail_json,
    child_item_json,
    flag_json,
)
from server.auth import permissions
from server.auth.principal import Principal
from server.context import api_base, db
from server.db import utcnow
from server.models import (
    Child,
    ChildCategoryEpisode,
    ChildMembership,
    ChildRecord,
    Flag,
    MatchCandidate,
)
from server.models.registry import CandidateStatus, ChildStatus, FlagStatus, ReviewDecision
from server.registry import categories as registry_categories
from server.registry import errors as registry_errors
from server.registry import flags as registry_flags
from server.registry import merge, review
from server.registry.access import RegistryAccess, VillageScope, redact_episodes
from sync.categories import CategoryError, UnknownCategory, default_catalogue
from sync.vietnamese import clean, fold

ns = Namespace("registry", description="The master registry of a commune's children: "
               "children, review queue, flags, categories (issue 3 §6)", path="/")

BASE = "/projects/<int:project_id>/registry"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
OPEN_STATUSES = ("provisional", "confirmed")

PAGING = {"limit": f"rows per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})",
          "offset": "rows to skip"}


class _Body(Schema):
    class Meta:
        unknown = EXCLUDE


class DecisionInput(_Body):
    decision = fields.String(required=True,
                             validate=validate.OneOf([d.value for d in ReviewDecision]))


class MergeInput(_Body):
    other_id = fields.String(data_key="otherId", required=True,
                             validate=validate.Length(min=1, max=36))


class ReasonInput(_Body):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class WhyInput(_Body):
    why = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    subcode = fields.String(load_default=None, allow_none=True)


# --- who is asking ----------------------------------------------------------------------------


def _caller(project_id: int) -> tuple[Principal, RegistryAccess]:
    """The web user and their registry access: 401/403 without `registry.read`, 404 for a
    project that does not exist."""
    who = acting_user()
    readable_project(who, project_id, permissions.REGISTRY_READ)
    return who, RegistryAccess.of(who, project_id)


def _allowed(scope: VillageScope, *villages: str) -> None:
    """403 when the caller sees the thing but may not act on it there."""
    if not all(scope.covers(village) for village in villages):
        raise problems.insufficient_rights()


@contextmanager
def _registry_errors() -> Iterator[None]:
    """Registry operations raise domain errors; here they become Central-style problems."""
    try:
        yield
    except (registry_errors.NotFound, UnknownCategory) as error:
        raise problems.not_found() from error
    except (registry_errors.InvalidDecision, CategoryError) as error:
        raise problems.registry_conflict(str(error)) from error


def _actor_ref(who: Principal) -> str:
    """`by` in category histories: the actor's id, never a name (histories are shown)."""
    return f"actor:{who.actor_id}"


# --- paging and filters -------------------------------------------------------------------


def _int_arg(name: str, default: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise problems.invalid_data_type(name, "integer") from None
    if value < 0 or (maximum is not None and value > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        raise problems.unexpected_value(name, f"it must be between 0{upper}")
    return value


def _paged(query: Select[*tuple[Any, ...]]) -> tuple[list[Any], int]:
    """One page of `query`'s rows and the number of all matching rows."""
    total = db().scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    limit = _int_arg("limit", DEFAULT_LIMIT, MAX_LIMIT)
    offset = _int_arg("offset", 0)
    return list(db().execute(query.limit(limit).offset(offset))), total


def _with_total(body: Any, total: int) -> tuple[Any, int, dict[str, str]]:
    return body, 200, {"X-Total-Count": str(total)}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _children_query(project_id: int, access: RegistryAccess) -> Select[Any]:
    query = select(Child).where(Child.project_id == project_id,
                                Child.status == ChildStatus.ACTIVE.value,
                                access.child_clause())
    args = request.args
    if village := args.get("village"):
        query = query.where(Child.village_code == village)
    if status := args.get("status"):
        query = query.where(Child.vital_status == status)
    if text := fold(clean(args.get("q"))):
        query = query.where(Child.name_folded.like(_like(text), escape="\\"))
    if code := args.get("category"):
        if code not in default_catalogue():
            raise problems.unexpected_value("category", f"{code} is not a category code")
        query = query.where(exists().where(
            ChildCategoryEpisode.child_id == Child.id, ChildCategoryEpisode.code == code,
            ChildCategoryEpisode.status.in_(OPEN_STATUSES), access.episode_clause()))
    if kind := args.get("flag"):
        wanted = [Flag.child_id == Child.id, Flag.status != FlagStatus.CLOSED.value,
                  access.flag_clause()]
        if kind not in ("true", "any"):
            wanted.append(Flag.kind == kind)
        query = query.where(exists().where(*wanted))
    return query.order_by(Child.name_folded, Child.id)


def _list_extras(children: list[Child], access: RegistryAccess
                 ) -> tuple[dict[str, list[ChildCategoryEpisode]], dict[str, int]]:
    """Each listed child's visible active episodes and its count of visible unclosed flags."""
    ids = [child.id for child in children]
    villages = {child.id: child.village_code for child in children}
    episodes: dict[str, list[ChildCategoryEpisode]] = {}
    for episode in db().scalars(select(ChildCategoryEpisode).where(
            ChildCategoryEpisode.child_id.in_(ids), ChildCategoryEpisode.status != "ended")
            .order_by(ChildCategoryEpisode.opened_at, ChildCategoryEpisode.id)):
        if access.sees_category(episode.code, villages[episode.child_id],
                                confidential=episode.confidential):
            episodes.setdefault(episode.child_id, []).append(episode)
    flags: dict[str, int] = {}
    for child_id, code, confidential in db().execute(select(
            Flag.child_id, Flag.code, Flag.confidential).where(
            Flag.child_id.in_(ids), Flag.status != FlagStatus.CLOSED.value)):
        if access.sees_category(code, villages[child_id], confidential=confidential):
            flags[child_id] = flags.get(child_id, 0) + 1
    return episodes, flags


# --- children -------------------------------------------------------------------------------


def _child(project_id: int, child_id: str, access: RegistryAccess) -> Child:
    """The child (a merged id's survivor) when it is in the project and the caller's villages;
    404 otherwise, so an id outside them tells nothing."""
    with _registry_errors():
        child = merge.resolve(db(), child_id, project_id)
    if not access.sees_child(child.village_code):
        raise problems.not_found()
    return child


def _redirect(project_id: int, child: Child, suffix: str = "") -> Response:
    location = f"{api_base()}/projects/{project_id}/registry/children/{child.id}{suffix}"
    return Response(status=307, headers={"Location": location})


@ns.route(f"{BASE}/children")
class ChildList(Resource):
    @ns.doc(params={"village": "village code", "category": "has an open episode of this code",
                    "flag": "has an unclosed flag: `true`, or a kind (new_special_circumstance,"
                            " urgent, referral)",
                    "q": "part of the name, marks and case ignored", "status":
                    "active, moved_away or died", **PAGING})
    def get(self, project_id: int) -> Any:
        """Active registry children in the caller's villages, by name; redacted categories."""
        _who, access = _caller(project_id)
        rows, total = _paged(_children_query(project_id, access))
        children = [row[0] for row in rows]
        episodes, flags = _list_extras(children, access)
        return _with_total([child_item_json(child, episodes.get(child.id, []),
                                            flags.get(child.id, 0)) for child in children],
                           total)


@ns.route(f"{BASE}/children/<string:child_id>")
class ChildDetail(Resource):
    def get(self, project_id: int, child_id: str) -> Any:
        """One child: current view, categories with history, source records, links, flags,
        follow-up updates. A merged id answers 307 to its survivor."""
        who, access = _caller(project_id)
        child = _child(project_id, child_id, access)
        if child.id != child_id:
            return _redirect(project_id, child)
        return _detail(who, access, child)


def _detail(who: Principal, access: RegistryAccess, child: Child) -> dict[str, Any]:
    """The child's detail as this caller may see it; an audit row when it shows anything
    sensitive (domain.md §7(d)4–5)."""
    db().flush()
    episodes = db().scalars(select(ChildCategoryEpisode).where(
        ChildCategoryEpisode.child_id == child.id)
        .order_by(ChildCategoryEpisode.opened_at, ChildCategoryEpisode.id))
    redacted = redact_episodes(access, child.village_code, episodes)
    flags = _child_flags(child, access)
    sensitive = sorted({*redacted.sensitive_codes,
                        *(flag.code for flag in flags if flag.confidential)})
    if sensitive:
        audit(who, "registry.child.read_sensitive", f"child:{child.id}",
              {"projectId": child.project_id, "codes": sensitive})
    return child_detail_json(db(), child, redacted.episodes, flags)


def _child_flags(child: Child, access: RegistryAccess) -> list[Flag]:
    rows = db().scalars(select(Flag).where(Flag.child_id == child.id)
                        .order_by(Flag.raised_at, Flag.id))
    return [flag for flag in rows
            if access.sees_category(flag.code, child.village_code,
                                    confidential=flag.confidential)]


# --- categories -----------------------------------------------------------------------------


@ns.route("/registry/categories")
class CategoryCatalogue(Resource):
    def get(self) -> list[dict[str, Any]]:
        """The category catalogue (domain.md §7(a)), sensitive codes included: it is the law's
        list, not anybody's data. Any signed-in web user."""
        acting_user()
        return [category_json(category) for category in default_catalogue()]


def _change_category(project_id: int, child_id: str, code: str, action: str) -> Any:
    who, access = _caller(project_id)
    child = _child(project_id, child_id, access)
    episode = db().scalar(select(ChildCategoryEpisode).where(
        ChildCategoryEpisode.child_id == child.id, ChildCategoryEpisode.code == code,
        ChildCategoryEpisode.status != "ended"))
    if episode is None or not access.sees_category(code, child.village_code,
                                                   confidential=episode.confidential):
        raise problems.not_found()
    if not access.may_change_category(code, child.village_code,
                                      confidential=episode.confidential):
        raise problems.insufficient_rights()
    body = load_json(WhyInput())
    with _registry_errors():
        if action == "confirm":
            registry_categories.confirm(db(), child.id, code, by=_actor_ref(who),
                                        why=body["why"], now=utcnow(), subcode=body["subcode"])
        elif action == "end":
            registry_categories.end(db(), child.id, code, by=_actor_ref(who), why=body["why"],
                                    now=utcnow())
        else:
            registry_categories.accept_referral(db(), child.id, code, by=_actor_ref(who),
                                                why=body["why"], now=utcnow())
    audit(who, f"registry.category.{action}", f"child:{child.id}",
          {"projectId": project_id, "code": code})
    return _detail(who, access, child)


@ns.route(f"{BASE}/children/<string:child_id>/categories/<string:code>/confirm")
class CategoryConfirm(Resource):
    def post(self, project_id: int, child_id: str, code: str) -> Any:
        """Confirm the child's active episode of `code` `{"why", "subcode"?}`: the officer, or
        the health station for health categories. Answers the child's detail."""
        return _change_category(project_id, child_id, code, "confirm")


@ns.route(f"{BASE}/children/<string:child_id>/categories/<string:code>/end")
class CategoryEnd(Resource):
    def post(self, project_id: int, child_id: str, code: str) -> Any:
        """End the child's active episode of `code` with a reason `{"why"}`."""
        return _change_category(project_id, child_id, code, "end")


@ns.route(f"{BASE}/children/<string:child_id>/categories/<string:code>/accept")
class CategoryAcceptReferral(Resource):
    def post(self, project_id: int, child_id: str, code: str) -> Any:
        """Accept a confidential referral as a provisional category `{"why"}` (officer)."""
        return _change_category(project_id, child_id, code, "accept")


# --- flags ----------------------------------------------------------------------------------


def _flags_query(project_id: int, access: RegistryAccess) -> Select[Flag, Child]:
    query = select(Flag, Child).join(Child, Child.id == Flag.child_id).where(
        Flag.project_id == project_id, access.flag_clause())
    args = request.args
    if status := args.get("status"):
        query = query.where(Flag.status == status)
    if kind := args.get("kind"):
        query = query.where(Flag.kind == kind)
    if village := args.get("village"):
        query = query.where(Child.village_code == village)
    # Deadlines first, soonest first (nulls last on both databases), then oldest raised.
    return query.order_by(Flag.deadline.is_(None), Flag.deadline, Flag.raised_at, Flag.id)


@ns.route(f"{BASE}/flags")
class FlagList(Resource):
    @ns.doc(params={"status": "open, acknowledged or closed", "kind":
                    "new_special_circumstance, urgent or referral", "village": "village code",
                    **PAGING})
    def get(self, project_id: int) -> Any:
        """Flags the caller may see, soonest deadline first, then oldest."""
        _who, access = _caller(project_id)
        rows, total = _paged(_flags_query(project_id, access))
        return _with_total([flag_json(flag, child) for flag, child in rows], total)


def _flag(project_id: int, flag_id: int, access: RegistryAccess) -> tuple[Flag, Child]:
    row = db().execute(select(Flag, Child).join(Child, Child.id == Flag.child_id).where(
        Flag.id == flag_id, Flag.project_id == project_id, access.flag_clause())).first()
    if row is None:
        raise problems.not_found()
    return row[0], row[1]


@ns.route(f"{BASE}/flags/<int:flag_id>/acknowledge")
class FlagAcknowledge(Resource):
    def post(self, project_id: int, flag_id: int) -> dict[str, Any]:
        """Someone is acting on it: the flag stays on lists as acknowledged."""
        who, access = _caller(project_id)
        flag, child = _flag(project_id, flag_id, access)
        _allowed(access.flag, child.village_code)
        with _registry_errors():
            registry_flags.acknowledge(db(), flag.id, who.actor_id)
        audit(who, "registry.flag.acknowledge", f"flag:{flag.id}", {"projectId": project_id})
        return flag_json(flag, child)


@ns.route(f"{BASE}/flags/<int:flag_id>/close")
class FlagClose(Resource):
    def post(self, project_id: int, flag_id: int) -> dict[str, Any]:
        """Close the flag with a reason `{"reason"}`."""
        who, access = _caller(project_id)
        flag, child = _flag(project_id, flag_id, access)
        _allowed(access.flag_close, child.village_code)
        body = load_json(ReasonInput())
        with _registry_errors():
            registry_flags.close(db(), flag.id, who.actor_id, body["reason"])
        audit(who, "registry.flag.close", f"flag:{flag.id}", {"projectId": project_id})
        return flag_json(flag, child)


# --- review queue ---------------------------------------------------------------------------


def _queue_query(project_id: int, access: RegistryAccess
                 ) -> Select[MatchCandidate, ChildRecord, Child, str]:
    """Open rows whose both sides lie in the caller's villages (a row showing a child of
    another village would leak that child's name and parents), in `review.review_queue`'s
    order: undecided before "unsure", then the highest score."""
    record_child = ChildMembership.child_id
    unsure_last = case((MatchCandidate.decision == ReviewDecision.UNSURE.value, 1), else_=0)
    return (select(MatchCandidate, ChildRecord, Child, record_child)
            .join(ChildRecord, ChildRecord.id == MatchCandidate.record_id)
            .join(Child, Child.id == MatchCandidate.child_id)
            .outerjoin(ChildMembership, ChildMembership.record_id == ChildRecord.id)
            .where(Child.project_id == project_id,
                   MatchCandidate.status == CandidateStatus.OPEN.value,
                   access.child_clause(), access.read.clause(ChildRecord.village_code))
            .order_by(unsure_last, MatchCandidate.score.desc(), MatchCandidate.id))


@ns.route(f"{BASE}/review-queue")
class ReviewQueue(Resource):
    @ns.doc(params=PAGING)
    def get(self, project_id: int) -> Any:
        """Pairs waiting for a person, highest score first: the new record, the child it may
        be, the score, the reasons and the field-by-field explanation."""
        _who, access = _caller(project_id)
        rows, total = _paged(_queue_query(project_id, access))
        return _with_total([candidate_json(*row) for row in rows], total)


def _candidate(project_id: int, candidate_id: int, access: RegistryAccess
               ) -> tuple[MatchCandidate, ChildRecord, Child]:
    """A queue row of the project (any status) whose both sides the caller reviews."""
    row = db().execute(
        select(MatchCandidate, ChildRecord, Child)
        .join(ChildRecord, ChildRecord.id == MatchCandidate.record_id)
        .join(Child, Child.id == MatchCandidate.child_id)
        .where(MatchCandidate.id == candidate_id, Child.project_id == project_id)).first()
    if row is None:
        raise problems.not_found()
    candidate, record, child = row
    if not (access.sees_child(record.village_code) and access.sees_child(child.village_code)):
        raise problems.not_found()
    _allowed(access.review, record.village_code, child.village_code)
    return candidate, record, child


def _candidate_answer(candidate: MatchCandidate) -> dict[str, Any]:
    db().flush()
    record = db().get_one(ChildRecord, candidate.record_id)
    child = db().get_one(Child, candidate.child_id)
    membership = db().scalar(select(ChildMembership.child_id).where(
        ChildMembership.record_id == record.id))
    return candidate_json(candidate, record, child, membership)


@ns.route(f"{BASE}/review-queue/<int:candidate_id>/decision")
class ReviewDecisionResource(Resource):
    def post(self, project_id: int, candidate_id: int) -> dict[str, Any]:
        """Decide a row `{"decision": "same" | "not_same" | "unsure"}`. "same" merges the
        record's child into the candidate child (its id then redirects)."""
        who, access = _caller(project_id)
        candidate, _record, _child_row = _candidate(project_id, candidate_id, access)
        body = load_json(DecisionInput())
        assert who.actor_id is not None
        with _registry_errors():
            decided = review.decide(db(), candidate.id, ReviewDecision(body["decision"]),
                                    who.actor_id)
        audit(who, "registry.review.decide", f"candidate:{candidate.id}",
              {"projectId": project_id, "decision": body["decision"]})
        return _candidate_answer(decided)


@ns.route(f"{BASE}/review-queue/<int:candidate_id>/undo")
class ReviewUndo(Resource):
    def post(self, project_id: int, candidate_id: int) -> dict[str, Any]:
        """Undo a decision: the row is open again and what it changed is reverted."""
        who, access = _caller(project_id)
        candidate, _record, _child_row = _candidate(project_id, candidate_id, access)
        assert who.actor_id is not None
        with _registry_errors():
            reopened = review.undo(db(), candidate.id, who.actor_id)
        audit(who, "registry.review.undo", f"candidate:{candidate.id}",
              {"projectId": project_id})
        return _candidate_answer(reopened)


# --- merge and unmerge by hand --------------------------------------------------------------


@ns.route(f"{BASE}/children/<string:child_id>/merge")
class ChildMerge(Resource):
    def post(self, project_id: int, child_id: str) -> Any:
        """Merge `{"otherId"}` into this child (kept); the other id then redirects here."""
        who, access = _caller(project_id)
        keep = _child(project_id, child_id, access)
        other = _child(project_id, load_json(MergeInput())["other_id"], access)
        _allowed(access.review, keep.village_code, other.village_code)
        if keep.id == other.id:
            raise problems.registry_conflict("a child cannot be merged into itself")
        assert who.actor_id is not None
        with _registry_errors():
            kept = merge.merge_children(db(), keep.id, other.id, who.actor_id)
        audit(who, "registry.child.merge", f"child:{kept.id}",
              {"projectId": project_id, "merged": other.id})
        return _detail(who, access, kept)


@ns.route(f"{BASE}/children/<string:child_id>/records/<int:record_id>/unmerge")
class RecordUnmerge(Resource):
    def post(self, project_id: int, child_id: str, record_id: int) -> dict[str, Any]:
        """Take one source record out of this child; it answers the child that now holds it."""
        who, access = _caller(project_id)
        child = _child(project_id, child_id, access)
        _allowed(access.review, child.village_code)
        held = db().scalar(select(ChildMembership.child_id).where(
            ChildMembership.record_id == record_id))
        if held != child.id:
            raise problems.not_found()
        assert who.actor_id is not None
        with _registry_errors():
            now_in = merge.unmerge_record(db(), record_id, who.actor_id)
        audit(who, "registry.record.unmerge", f"record:{record_id}",
              {"projectId": project_id, "from": child.id, "to": now_in})
        return {"recordId": record_id, "childId": now_in, "formerChildId": child.id}

