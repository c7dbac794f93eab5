"""The master registry over JSON (README "The master registry", docs/matching.md §5): the
children, and merging them by hand.

The review queue is in `registry_review`, flags in `registry_flags`, categories in
`registry_categories`; what they share with the pages (caller, village scope, errors) in
`server.route_access`, paging in `registry_common`.

Every route checks the caller's registry verb and village scope (`server.registry.access`):
a child outside the caller's villages is 404, as if it did not exist; sensitive categories,
confidential episodes and confidential history entries are absent for roles without
`registry.read_sensitive` (docs/privacy.md §4), and opening a child with any of them shown
writes an audit row (§5; codes only, never names). App users get 403: their children
reach them through the `children` entity list.

A merged child's id answers 307 with `Location:` its survivor. Temporary, not permanent:
undoing the decision that merged it brings the id back.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_restx import Namespace, Resource
from marshmallow import fields, validate
from sqlalchemy import Select, select

from server import problems
from server.api.v1 import shapes
from server.api.v1.common import load_json
from server.api.v1.openapi import documented
from server.api.v1.registry_common import BASE, PAGING, TOTAL, Body, paged, with_total
from server.auth.principal import Principal
from server.context import api_base, db
from server.models import Child, ChildCategoryEpisode, Flag
from server.models.registry import FlagStatus
from server.operations.audit_records import record_sensitive_list
from server.registry import merge
from server.registry.access import RegistryAccess, redact_episodes
from server.registry.children_query import InvalidFilter, children_query, parse_filters
from server.registry.json_shapes import child_detail_json, child_item_json
from server.route_access import (
    allowed,
    audit,
    caller,
    registry_errors,
    unmerge_visible_record,
    visible_child,
)

ns = Namespace("registry", description="The master registry of a commune's children: "
               "list, detail, merge and unmerge", path="/")

OPEN_STATUSES = ("provisional", "confirmed")


class MergeInput(Body):
    other_id = fields.String(data_key="otherId", required=True,
                             validate=validate.Length(min=1, max=36))


# --- the list ---------------------------------------------------------------------------------


def _children_query(project_id: int, access: RegistryAccess) -> Select[Any]:
    try:
        filters = parse_filters(request.args)
    except InvalidFilter as exc:
        raise problems.unexpected_value(exc.name, exc.reason) from None
    return children_query(project_id, access, filters)


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
    @documented(shapes.ChildItem(many=True), headers=TOTAL)
    def get(self, project_id: int) -> Any:
        """Active registry children in the caller's villages, by name; redacted categories."""
        who, access = caller(project_id)
        rows, total = paged(_children_query(project_id, access))
        children = [row[0] for row in rows]
        episodes, flags = _list_extras(children, access)
        record_sensitive_list(db(), who, project_id, episodes)
        return with_total([child_item_json(child, episodes.get(child.id, []),
                                            flags.get(child.id, 0)) for child in children],
                           total)


@ns.route(f"{BASE}/children/<string:child_id>")
class ChildDetail(Resource):
    @documented(shapes.ChildDetail)
    def get(self, project_id: int, child_id: str) -> Any:
        """One child: current view, categories with history, source records, links, flags,
        follow-up updates. A merged id answers 307 to its survivor."""
        who, access = caller(project_id)
        child = visible_child(project_id, child_id, access)
        if child.id != child_id:
            return _redirect(project_id, child)
        return child_detail(who, access, child)


def child_detail(who: Principal, access: RegistryAccess, child: Child) -> dict[str, Any]:
    """The child's detail as this caller may see it; an audit row when it shows anything
    sensitive (docs/privacy.md §4–5)."""
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


# --- merge and unmerge by hand --------------------------------------------------------------


@ns.route(f"{BASE}/children/<string:child_id>/merge")
class ChildMerge(Resource):
    @documented(shapes.ChildDetail, body=MergeInput, errors=(409,))
    def post(self, project_id: int, child_id: str) -> Any:
        """Merge `{"otherId"}` into this child (kept); the other id then redirects here."""
        who, access = caller(project_id)
        keep = visible_child(project_id, child_id, access)
        # Who may merge here is decided before the body is read: a caller without the
        # right hears 403, not what its body lacks.
        allowed(access.review, keep.village_code)
        other = visible_child(project_id, load_json(MergeInput())["other_id"], access)
        allowed(access.review, other.village_code)
        if keep.id == other.id:
            raise problems.registry_conflict("a child cannot be merged into itself")
        assert who.actor_id is not None
        with registry_errors():
            kept = merge.merge_children(db(), keep.id, other.id, who.actor_id)
        audit(who, "registry.child.merge", f"child:{kept.id}",
              {"projectId": project_id, "merged": other.id})
        return child_detail(who, access, kept)


@ns.route(f"{BASE}/children/<string:child_id>/records/<int:record_id>/unmerge")
class RecordUnmerge(Resource):
    @documented(shapes.Unmerged, errors=(409,))
    def post(self, project_id: int, child_id: str, record_id: int) -> dict[str, Any]:
        """Take one source record out of this child; it answers the child that now holds it."""
        who, child, now_in = unmerge_visible_record(project_id, child_id, record_id)
        audit(who, "registry.record.unmerge", f"record:{record_id}",
              {"projectId": project_id, "from": child.id, "to": now_in})
        return {"recordId": record_id, "childId": now_in, "formerChildId": child.id}

