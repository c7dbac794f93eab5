"""Special-circumstance categories over JSON (docs/categories.md §5–6): the catalogue, and a person
confirming, ending or accepting a child's category.

Who may change which category is `RegistryAccess.may_change_category`; a category the caller
may not see is 404, as if the child had none. Every change is audited (codes, never names)
and answers the child's detail as the caller may see it.
"""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace, Resource
from marshmallow import fields, validate
from sqlalchemy import select

from server import problems
from server.api.v1.common import acting_user, audit, load_json
from server.api.v1.registry import child_detail
from server.api.v1.registry_common import (
    BASE,
    Body,
    actor_ref,
    caller,
    registry_errors,
    visible_child,
)
from server.api.v1.registry_json import category_json
from server.context import db
from server.db import utcnow
from server.models import ChildCategoryEpisode
from server.registry import categories as registry_categories
from sync.categories import default_catalogue

ns = Namespace("registry_categories", description="Special-circumstance categories: the "
               "catalogue, confirm, end, accept a referral", path="/")


class WhyInput(Body):
    why = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    subcode = fields.String(load_default=None, allow_none=True)


@ns.route("/registry/categories")
class CategoryCatalogue(Resource):
    def get(self) -> list[dict[str, Any]]:
        """The category catalogue (docs/categories.md §5), sensitive codes included: it is the law's
        list, not anybody's data. Any signed-in web user."""
        acting_user()
        return [category_json(category) for category in default_catalogue()]


def _change_category(project_id: int, child_id: str, code: str, action: str) -> Any:
    who, access = caller(project_id)
    child = visible_child(project_id, child_id, access)
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
    with registry_errors():
        if action == "confirm":
            registry_categories.confirm(db(), child.id, code, by=actor_ref(who),
                                        why=body["why"], now=utcnow(), subcode=body["subcode"])
        elif action == "end":
            registry_categories.end(db(), child.id, code, by=actor_ref(who), why=body["why"],
                                    now=utcnow())
        else:
            registry_categories.accept_referral(db(), child.id, code, by=actor_ref(who),
                                                why=body["why"], now=utcnow())
    audit(who, f"registry.category.{action}", f"child:{child.id}",
          {"projectId": project_id, "code": code})
    return child_detail(who, access, child)


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
