"""What a person does on a child's page (docs/pages.md, "The child's page"): confirm, end or
accept a special-circumstance category with a reason; find another child by name and merge the
two after comparing them side by side; choose which value of a field is right when the child's
records disagree, and withdraw that choice.

Each action runs the domain function the API runs, after the same checks: categories by
`server.registry.category_actions` (the API's `…/categories/{code}/confirm|end|accept`), merges by
`server.registry.merge.merge_children` with `registry.review` on both children (the API's
`POST …/children/{id}/merge`), field choices by `server.registry.field_choices` (the API's
`…/fields/{field}/choice`). Every action is audited like its API twin, with `via: web`, and
answers with a redirect to the page (post/redirect/get).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from server import problems
from server.context import db
from server.db import utcnow
from server.models import Child, Project
from server.registry import field_choices, merge
from server.registry.access import RegistryAccess
from server.registry.category_actions import CategoryAction, change_category
from server.registry.child_code import format_code, parse_code
from server.registry.children_query import ChildFilters, children_query
from server.registry.view import records_of
from server.route_access import (
    actor_ref,
    allowed,
    audit,
    caller,
    changeable_category,
    registry_errors,
    visible_child,
)
from server.web import blueprint, queries
from server.web.explain import Person, personal_id_text
from server.web.i18n import t

SEARCH_LIMIT = 20


def _child_url(project_id: int, child_id: str, done: str, anchor: str = "") -> str:
    return url_for("web.child", project_id=project_id, child_id=child_id, done=done,
                   _anchor=anchor or None)


def _text(name: str, *, required: bool = True) -> str:
    """A form field, trimmed; 400 naming it when a required one is empty."""
    value = (request.form.get(name) or "").strip()
    if required and not value:
        raise problems.missing_parameter(name)
    return value


# --- categories -------------------------------------------------------------------------------


def _change(project_id: int, child_id: str, code: str, action: CategoryAction
            ) -> ResponseReturnValue:
    who, access = caller(project_id)
    child = visible_child(project_id, child_id, access)
    changeable_category(access, child, code)
    why = _text("why")
    if action is CategoryAction.END and request.form.get("sure") != "yes":
        raise problems.missing_parameter("sure")  # ending asks for a ticked confirmation
    with registry_errors():
        change_category(db(), child.id, code, action, by=actor_ref(who), why=why[:1000],
                        now=utcnow(), subcode=_text("subcode", required=False) or None)
    audit(who, f"registry.category.{action.value}", f"child:{child.id}",
          {"projectId": project_id, "code": code, "via": "web"})
    return redirect(_child_url(project_id, child.id, f"category_{action.value}",
                               f"category-{code}"), 303)


@blueprint.post("/ui/p/<int:project_id>/children/<string:child_id>/categories/<string:code>"
                "/confirm")
def category_confirm(project_id: int, child_id: str, code: str) -> ResponseReturnValue:
    return _change(project_id, child_id, code, CategoryAction.CONFIRM)


@blueprint.post("/ui/p/<int:project_id>/children/<string:child_id>/categories/<string:code>"
                "/end")
def category_end(project_id: int, child_id: str, code: str) -> ResponseReturnValue:
    return _change(project_id, child_id, code, CategoryAction.END)


@blueprint.post("/ui/p/<int:project_id>/children/<string:child_id>/categories/<string:code>"
                "/accept")
def category_accept(project_id: int, child_id: str, code: str) -> ResponseReturnValue:
    return _change(project_id, child_id, code, CategoryAction.ACCEPT)


# --- merging two children ---------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One child as the side-by-side shows it."""

    child: Child
    code: str
    reports: int


def _side(child: Child) -> Side:
    return Side(child, format_code(child.number), len(records_of(db(), child.id)))


def _refusal(a: Child, b: Child) -> str | None:
    """Why the two can never be one child, in the page's words (`merge.merge_refusal`'s rule;
    its own message names internal record numbers, which a page never shows)."""
    reason = merge.merge_refusal(db(), a, b)
    if reason is None:
        return None
    for marker, key in (("household visit", "merge.refused.same_visit"),
                        ("personal IDs", "merge.refused.id_conflict"),
                        ("not the same child", "merge.refused.separated"),
                        ("different projects", "merge.refused.other_commune")):
        if marker in reason:
            return t(key)
    return t("merge.refused.other")


def _reviewable(project_id: int, child_id: str, access: RegistryAccess) -> Child:
    child = visible_child(project_id, child_id, access)
    allowed(access.review, child.village_code)
    return child


def _search(project_id: int, access: RegistryAccess, keep: Child, text: str) -> list[Child]:
    """Children the caller sees whose name holds ``text`` (marks and case ignored, the
    children list's own search) or whose code it is; never the child itself."""
    number = parse_code(text)
    query = children_query(project_id, access,
                           ChildFilters() if number is not None else ChildFilters(q=text))
    if number is not None:
        query = query.where(Child.number == number)
    return list(db().scalars(query.where(Child.id != keep.id).limit(SEARCH_LIMIT)))


@blueprint.get("/ui/p/<int:project_id>/children/<string:child_id>/merge")
def merge_search(project_id: int, child_id: str) -> ResponseReturnValue:
    """Find the other child (`q`), compare the two side by side (`other`), then merge."""
    _who, access = caller(project_id)
    keep = _reviewable(project_id, child_id, access)
    text = (request.args.get("q") or "").strip()
    if keep.id != child_id:  # a merged id: the child it is part of now
        return redirect(url_for("web.merge_search", project_id=project_id, child_id=keep.id,
                                q=text or None, other=request.args.get("other") or None))
    other = None
    refusal = None
    if other_id := request.args.get("other"):
        found = visible_child(project_id, other_id, access)
        if found.id == keep.id:
            raise problems.unexpected_value("other", "a child cannot be merged into itself")
        other = _side(found)
        refusal = _refusal(keep, found)
    villages = queries.villages(db(), project_id, access)
    return render_template(
        "web/child_merge.html", project=db().get_one(Project, project_id), keep=_side(keep),
        other=other, q=text, found=_search(project_id, access, keep, text) if text else [],
        searched=bool(text), refusal=refusal,
        may_merge=other is not None and access.review.covers(other.child.village_code),
        village_names={v.code: v.name for v in villages}, Person=Person,
        personal_id_text=personal_id_text)


@blueprint.post("/ui/p/<int:project_id>/children/<string:child_id>/merge")
def merge_children(project_id: int, child_id: str) -> ResponseReturnValue:
    """The API's merge, from the side-by-side page once the box "same child" is ticked."""
    who, access = caller(project_id)
    keep = _reviewable(project_id, child_id, access)
    other = _reviewable(project_id, _text("other"), access)
    if keep.id == other.id:
        raise problems.registry_conflict("a child cannot be merged into itself")
    if request.form.get("sure") != "yes":
        raise problems.missing_parameter("sure")
    if _refusal(keep, other) is not None:  # the page says why, in words
        return redirect(url_for("web.merge_search", project_id=project_id, child_id=keep.id,
                                other=other.id), 303)
    assert who.actor_id is not None
    with registry_errors():
        kept = merge.merge_children(db(), keep.id, other.id, who.actor_id)
    merged = other.id if kept.id == keep.id else keep.id
    audit(who, "registry.child.merge", f"child:{kept.id}",
          {"projectId": project_id, "merged": merged, "via": "web"})
    return redirect(_child_url(project_id, kept.id, "merged"), 303)


# --- choosing a field's value -----------------------------------------------------------------


@blueprint.post("/ui/p/<int:project_id>/children/<string:child_id>/fields/<string:field>"
                "/choice")
def field_choose(project_id: int, child_id: str, field: str) -> ResponseReturnValue:
    who, access = caller(project_id)
    child = _reviewable(project_id, child_id, access)
    if field not in field_choices.CHOOSABLE:
        raise problems.not_found()
    value, why = _text("value"), _text("why")
    with registry_errors():
        field_choices.choose(db(), child, field, value, why, who.actor_id)
    audit(who, "registry.child.field_choice", f"child:{child.id}",
          {"projectId": project_id, "field": field, "via": "web"})
    return redirect(_child_url(project_id, child.id, "field_chosen", f"field-{field}"), 303)


@blueprint.post("/ui/p/<int:project_id>/children/<string:child_id>/fields/<string:field>"
                "/choice/withdraw")
def field_withdraw(project_id: int, child_id: str, field: str) -> ResponseReturnValue:
    who, access = caller(project_id)
    child = _reviewable(project_id, child_id, access)
    with registry_errors():
        field_choices.withdraw(db(), child, field, who.actor_id)
    audit(who, "registry.child.field_choice.withdraw", f"child:{child.id}",
          {"projectId": project_id, "field": field, "via": "web"})
    return redirect(_child_url(project_id, child.id, "field_withdrawn", "fields"), 303)

