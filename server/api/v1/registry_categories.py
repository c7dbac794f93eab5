"""Special-circumstance categories over JSON (docs/categories.md §5–6): the catalogue, and a person
confirming, ending or accepting a child's category, or recording that its intervention plan was
approved (docs/reports.md §3).

Who may change which category is `RegistryAccess.may_change_category`; a category the caller
may not see is 404, as if the child had none. Every change is audited (codes, never names)
and answers the child's detail as the caller may see it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_restx import Namespace, Resource
from marshmallow import fields, validate

from server import problems
from server.api.v1 import shapes
from server.api.v1.common import load_json
from server.api.v1.openapi import documented
from server.api.v1.registry import child_detail
from server.api.v1.registry_common import BASE, Body
from server.auth.principal import Principal
from server.context import db
from server.db import utcnow
from server.models import Child
from server.registry import categories as registry_categories
from server.registry.access import RegistryAccess
from server.registry.category_actions import CategoryAction, change_category
from server.registry.children_query import VIETNAM, vietnam_day_start
from server.registry.json_shapes import category_json
from server.route_access import (
    acting_user,
    actor_ref,
    audit,
    caller,
    changeable_category,
    registry_errors,
    visible_child,
)
from sync.categories import default_catalogue

ns = Namespace("registry_categories", description="Special-circumstance categories: the "
               "catalogue, confirm, end, accept a referral", path="/")


class WhyInput(Body):
    why = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    subcode = fields.String(load_default=None, allow_none=True)


class PlanInput(Body):
    approved_on = fields.Date(required=True, data_key="approvedOn")
    why = fields.String(required=True, validate=validate.Length(min=1, max=1000))


@ns.route("/registry/categories")
class CategoryCatalogue(Resource):
    @documented(shapes.Category(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The category catalogue (docs/categories.md §5), sensitive codes included: it is the law's
        list, not anybody's data. Any signed-in web user."""
        acting_user()
        return [category_json(category) for category in default_catalogue()]


def _changeable(project_id: int, child_id: str, code: str
                ) -> tuple[Principal, RegistryAccess, Child]:
    """The caller and the child whose active episode of `code` it may change: 404 when it
    does not see one, 403 when it sees it without the right to change it (the rule the child's
    page applies too: `server.registry.category_actions`)."""
    who, access = caller(project_id)
    child = visible_child(project_id, child_id, access)
    changeable_category(access, child, code)
    return who, access, child


def _change_category(project_id: int, child_id: str, code: str, action: str) -> Any:
    who, access, child = _changeable(project_id, child_id, code)
    body = load_json(WhyInput())
    with registry_errors():
        change_category(db(), child.id, code, CategoryAction(action), by=actor_ref(who),
                        why=body["why"], now=utcnow(), subcode=body["subcode"])
    audit(who, f"registry.category.{action}", f"child:{child.id}",
          {"projectId": project_id, "code": code})
    return child_detail(who, access, child)


def _approve_plan(project_id: int, child_id: str, code: str) -> Any:
    """The day the commune chair approved the child's plan, stored as its start in Vietnamese
    time (UTC+7); a day still to come is refused, since a plan is recorded once approved. The
    same callers as a confirmation, audited like one."""
    who, access, child = _changeable(project_id, child_id, code)
    body = load_json(PlanInput())
    approved_on = body["approved_on"]
    today = datetime.now(VIETNAM).date()
    if approved_on > today:
        raise problems.unexpected_value(
            "approvedOn", f"ngày phê duyệt {approved_on} sau hôm nay ({today}, giờ Việt Nam) / "
            f"{approved_on} is after today ({today}, Vietnamese time)")
    with registry_errors():
        registry_categories.approve_plan(db(), child.id, code, by=actor_ref(who),
                                         why=body["why"], at=vietnam_day_start(approved_on))
    audit(who, "registry.category.plan", f"child:{child.id}",
          {"projectId": child.project_id, "code": code, "approvedOn": approved_on.isoformat()})
    return child_detail(who, access, child)


@ns.route(f"{BASE}/children/<string:child_id>/categories/<string:code>/confirm")
class CategoryConfirm(Resource):
    @documented(shapes.ChildDetail, body=WhyInput, errors=(409,))
    def post(self, project_id: int, child_id: str, code: str) -> Any:
        """Confirm the child's active episode of `code` `{"why", "subcode"?}`: the officer, or
        the health station for health categories. Answers the child's detail."""
        return _change_category(project_id, child_id, code, "confirm")


@ns.route(f"{BASE}/children/<string:child_id>/categories/<string:code>/end")
class CategoryEnd(Resource):
    @documented(shapes.ChildDetail, body=WhyInput, errors=(409,))
    def post(self, project_id: int, child_id: str, code: str) -> Any:
        """End the child's active episode of `code` with a reason `{"why"}`."""
        return _change_category(project_id, child_id, code, "end")


@ns.route(f"{BASE}/children/<string:child_id>/categories/<string:code>/accept")
class CategoryAcceptReferral(Resource):
    @documented(shapes.ChildDetail, body=WhyInput, errors=(409,))
    def post(self, project_id: int, child_id: str, code: str) -> Any:
        """Accept a confidential referral as a provisional category `{"why"}` (officer)."""
        return _change_category(project_id, child_id, code, "accept")


@ns.route(f"{BASE}/children/<string:child_id>/categories/<string:code>/plan")
class CategoryPlan(Resource):
    @documented(shapes.ChildDetail, body=PlanInput, errors=(409,))
    def post(self, project_id: int, child_id: str, code: str) -> Any:
        """Record that the intervention plan of the child's open episode of `code` was approved
        `{"approvedOn": "YYYY-MM-DD", "why"}` (docs/reports.md §3): whoever may confirm it.
        The indicator sheet counts a plan approved within the deadline of
        `exports/indicators.json` as in time. Answers the child's detail."""
        return _approve_plan(project_id, child_id, code)
