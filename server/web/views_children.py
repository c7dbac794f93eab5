"""The registry's children: the list with its filters, one child, taking a record out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from server.auth import permissions
from server.context import db
from server.models import ChildCategoryEpisode, Project
from server.models.registry import VitalStatus
from server.operations.audit_records import record_sensitive_list
from server.registry.access import redact_episodes
from server.registry.children_query import (
    AGE_GROUPS,
    CARE_FORMS,
    SEXES,
    SUPPORT_VALUES,
    ChildFilters,
    InvalidFilter,
    children_query,
    parse_filters,
)
from server.registry.followup_scope import NOT_APPLIED_KIND
from server.registry.json_shapes import child_detail_json
from server.route_access import audit, caller, unmerge_visible_record, visible_child
from server.web import blueprint, error_page, queries
from server.web.child_page import child_page, value_text
from server.web.explain import plain
from server.web.format import category_label, coded, partial_date, sex
from server.web.i18n import has, language, t
from server.web.views_exports import registry_api
from sync.categories.status import FlagKind


def done_message() -> str | None:
    """The outcome of the form just posted (post/redirect/get carries it in `?done=`)."""
    key = f"done.{request.args.get('done')}"
    return t(key) if has(key) else None


@dataclass(frozen=True)
class ActiveFilter:
    """One filter the list is showing, in words, with the address of the list without it."""

    name: str  # the query parameter
    text: str
    clear_url: str


# How a set filter's value reads (query-parameter name → text of the value).
_VALUE_TEXT: dict[str, Callable[[str], str]] = {
    "category": lambda code: f"{code} – {category_label(code)}",
    "flag": lambda kind: t("filters.flag_any") if kind in ("true", "any")
    else coded("flag.kind", kind),
    "status": lambda value: coded("vital", value),
    "reportedFrom": partial_date,
    "reportedTo": partial_date,
    "sex": sex,
    "ageGroup": lambda group: coded("age", group),
    "support": lambda value: coded("support", value),
    "care": lambda form: coded("care", form),
}

# Values the list's form offers (query-parameter name → values, in order).
FILTER_CHOICES: dict[str, tuple[str, ...]] = {
    "sex": SEXES, "ageGroup": tuple(AGE_GROUPS), "support": SUPPORT_VALUES,
    "care": (*CARE_FORMS, "unknown"), "status": tuple(v.value for v in VitalStatus),
    "flag": ("true", *(kind.value for kind in FlagKind), NOT_APPLIED_KIND),
}


@blueprint.app_template_filter("filter_value")
def filter_value(value: str, name: str) -> str:
    """A filter's value as the list's form and its active filters show it."""
    return _VALUE_TEXT.get(name, str)(value)


def _filter_text(name: str, value: str, village_names: dict[str, str]) -> str:
    """A set filter as people read it: "Thôn: Thôn Đông", "Nhóm tuổi: Từ 6 đến dưới 11"."""
    if name == "special":
        return t("filters.special_only")
    text = village_names.get(value, value) if name == "village" else filter_value(value, name)
    return t("filters.shown", name=t(f"filters.{name}"), value=text)


def active_filters(project_id: int, filters: ChildFilters,
                   village_names: dict[str, str]) -> list[ActiveFilter]:
    asked = filters.as_dict()
    return [ActiveFilter(name, _filter_text(name, value, village_names), url_for(
        "web.children", project_id=project_id,
        **{other: kept for other, kept in asked.items() if other != name}))
        for name, value in asked.items()]


@blueprint.errorhandler(InvalidFilter)
def _invalid_filter(error: InvalidFilter) -> ResponseReturnValue:
    """A filter value the list does not understand (a link typed by hand): the 400 page,
    naming the filter."""
    return error_page(400, "error.400", t("filters.invalid", name=error.name))


@blueprint.get("/ui/p/<int:project_id>/children")
def children(project_id: int) -> ResponseReturnValue:
    """The children list, filtered by `server.registry.children_query` as the API, the
    exports and the dashboard's links are: a number on the dashboard opens these rows."""
    who, access = caller(project_id)
    filters = parse_filters(request.args)
    page = queries.paged(db(), children_query(project_id, access, filters),
                         queries.page_number())
    found = [row[0] for row in page.rows]
    episodes, flags = queries.list_extras(db(), found, access)
    record_sensitive_list(db(), who, project_id, episodes, via="web")
    villages = queries.villages(db(), project_id, access)
    village_names = {v.code: v.name for v in villages}
    return render_template(
        "web/children.html", project=db().get_one(Project, project_id), page=page,
        children=found, episodes=episodes, flags=flags, villages=villages,
        village_names=village_names, codes=queries.filter_codes(access), filters=filters,
        active=active_filters(project_id, filters, village_names), choices=FILTER_CHOICES,
        downloads=list_downloads(project_id, filters)
        if permissions.can(who, permissions.REGISTRY_EXPORT, project_id) else None)


def list_downloads(project_id: int, filters: ChildFilters) -> dict[str, str]:
    """This list, same filters, as the registry API's CSV and XLSX files."""
    query = urlencode({**filters.as_dict(), "lang": language()})
    base = f"{registry_api(project_id)}/children"
    return {"csv": f"{base}.csv?{query}&bom=true", "xlsx": f"{base}.xlsx?{query}"}


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
    village_names = {v.code: v.name for v in villages}
    return render_template(
        "web/child.html", project=db().get_one(Project, project_id), child=detail,
        village_names=village_names,
        shown=child_page(db(), access, found, detail, village_names), value_text=value_text,
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
