"""A reviewer's choice of which value of a field is right when a child's records disagree,
over JSON (docs/registry.md §2): `POST` chooses, `DELETE` withdraws (the default rule again).

The same rule as the child's page (`server.registry.field_choices`): the caller needs
`registry.review` in the child's village; the value must be one a record of the child holds.
Audited with the field, never the value (a name). Both answer the child's detail.
"""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace, Resource
from marshmallow import fields, validate

from server import problems
from server.api.v1 import shapes
from server.api.v1.common import load_json
from server.api.v1.openapi import documented
from server.api.v1.registry import child_detail
from server.api.v1.registry_common import BASE, Body
from server.context import db
from server.registry import field_choices
from server.route_access import allowed, audit, caller, registry_errors, visible_child

ns = Namespace("registry_field_choices", description="Choosing which value of a child's "
               "field is right when its records disagree", path="/")


class ChoiceInput(Body):
    value = fields.String(required=True, validate=validate.Length(min=1, max=255))
    why = fields.String(required=True, validate=validate.Length(min=1, max=1000))


@ns.route(f"{BASE}/children/<string:child_id>/fields/<string:field>/choice")
class FieldChoice(Resource):
    @documented(shapes.ChildDetail, body=ChoiceInput, errors=(409,))
    @ns.doc(params={"field": ", ".join(field_choices.CHOOSABLE)})
    def post(self, project_id: int, child_id: str, field: str) -> Any:
        """Make `{"value"}` (one a record of the child holds) the child's value of the field,
        with a reason `{"why"}`; a choice already made on it is withdrawn."""
        who, access = caller(project_id)
        child = visible_child(project_id, child_id, access)
        allowed(access.review, child.village_code)
        if field not in field_choices.CHOOSABLE:
            raise problems.not_found()
        body = load_json(ChoiceInput())
        with registry_errors():
            field_choices.choose(db(), child, field, body["value"], body["why"], who.actor_id)
        audit(who, "registry.child.field_choice", f"child:{child.id}",
              {"projectId": project_id, "field": field})
        return child_detail(who, access, child)

    @documented(shapes.ChildDetail, errors=(409,))
    def delete(self, project_id: int, child_id: str, field: str) -> Any:
        """Withdraw the choice made on the field: the view's default rule applies again
        (409 when there is none)."""
        who, access = caller(project_id)
        child = visible_child(project_id, child_id, access)
        allowed(access.review, child.village_code)
        with registry_errors():
            field_choices.withdraw(db(), child, field, who.actor_id)
        audit(who, "registry.child.field_choice.withdraw", f"child:{child.id}",
              {"projectId": project_id, "field": field})
        return child_detail(who, access, child)
