"""The registry's children: the list with its filters, one child, taking a record out."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from server.api.v1.common import audit
from server.api.v1.registry_common import (
    caller,
    unmerge_visible_record,
    visible_child,
)
from server.api.v1.registry_json import child_detail_json
from server.context import db
from server.models import ChildCategoryEpisode, Project
from server.operations.audit_records import record_sensitive_list
from server.registry.access import redact_episodes
from server.web import blueprint, queries
from server.web.explain import plain
from server.web.i18n import has, t


def done_message() -> str | None:
    """The outcome of the form just posted (post/redirect/get carries it in `?done=`)."""
    key = f"done.{request.args.get('done')}"
    return t(key) if has(key) else None


@blueprint.get("/ui/p/<int:project_id>/children")
def children(project_id: int) -> ResponseReturnValue:
    who, access = caller(project_id)
    codes = queries.filter_codes(access)
    filters = queries.ChildFilters(
        village=request.args.get("village", ""),
        category=request.args.get("category", "") if request.args.get("category") in codes
        else "",
        flagged=request.args.get("flag") == "true", q=request.args.get("q", ""))
    page = queries.paged(db(), queries.children_query(project_id, access, filters),
                         queries.page_number())
    found = [row[0] for row in page.rows]
    episodes, flags = queries.list_extras(db(), found, access)
    record_sensitive_list(db(), who, project_id, episodes, via="web")
    villages = queries.villages(db(), project_id, access)
    return render_template(
        "web/children.html", project=db().get_one(Project, project_id), page=page,
        children=found, episodes=episodes, flags=flags, villages=villages,
        village_names={v.code: v.name for v in villages}, codes=codes, filters=filters)


@blueprint.get("/ui/p/<int:project_id>/children/<string:child_id>")
def child(project_id: int, child_id: str) -> ResponseReturnValue:
    who, access = caller(project_id)
    found = visible_child(project_id, child_id, access)
    if found.id != child_id:  # a merged id: show the child it is part of now
        return redirect(url_for("web.child", project_id=project_id, child_id=found.id))
    episodes = db().scalars(select(ChildCategoryEpisode).where(
        ChildCategoryEpisode.child_id == found.id)
        .order_by(ChildCategoryEpisode.opened_at, ChildCategoryEpisode.id))
    redacted = redact_episodes(access, found.village_code, episodes)
    flags = queries.child_flags(db(), found, access)
    sensitive = sorted({*redacted.sensitive_codes, *(f.code for f in flags if f.confidential)})
    if sensitive:  # docs/privacy.md §4–5: opening sensitive categories is logged (codes only)
        audit(who, "registry.child.read_sensitive", f"child:{found.id}",
              {"projectId": project_id, "codes": sensitive, "via": "web"})
    detail: dict[str, Any] = child_detail_json(db(), found, redacted.episodes, flags)
    villages = queries.villages(db(), project_id, access)
    return render_template(
        "web/child.html", project=db().get_one(Project, project_id), child=detail,
        village_names={v.code: v.name for v in villages},
        may_unmerge=access.review.covers(found.village_code) and len(detail["records"]) > 1,
        explain=plain, done=done_message())


@blueprint.post("/ui/p/<int:project_id>/children/<string:child_id>/records/<int:record_id>"
                "/unmerge")
def unmerge(project_id: int, child_id: str, record_id: int) -> ResponseReturnValue:
    """The same checks as `POST …/records/<id>/unmerge` of the API."""
    who, found, now_in = unmerge_visible_record(project_id, child_id, record_id)
    audit(who, "registry.record.unmerge", f"record:{record_id}",
          {"projectId": project_id, "from": found.id, "to": now_in, "via": "web"})
    return redirect(url_for("web.child", project_id=project_id, child_id=found.id,
                            done="unmerged"), 303)
