"""`/v1`: ODK Central's management API, one flask-restx Namespace per resource module.

Swagger UI is served at `/v1/docs`, the OpenAPI document at `/v1/swagger.json`.
"""

from __future__ import annotations

from typing import NoReturn

from flask import Blueprint

from server import problems
from server.api.v1.openapi import DocumentedApi

blueprint = Blueprint("api_v1", __name__, url_prefix="/v1")

# DocumentedApi: bodies, answers and errors from the marshmallow schemas (openapi.py).
api = DocumentedApi(
    blueprint,
    version="1",
    title="Điểm Tựa API",
    description="ODK Central-compatible management API (sessions, users, projects, forms, app "
    "users, submissions, exports), plus Điểm Tựa's own additions.",
    doc="/docs",
    authorizations={"bearer": {"type": "apiKey", "in": "header", "name": "Authorization"}},
    security="bearer",
)


@api.errorhandler(problems.Problem)
def _problem(problem: problems.Problem) -> NoReturn:
    """Hand Problems on to the app's own handler (server/app.py), the one place that renders
    them; flask-restx would otherwise answer 500, or rewrite 404 messages."""
    raise problem


# One module per resource; each holds a Namespace `ns` created with path="/" (flask-restx
# treats path="" as unset and would prefix every route with the namespace's name).
from server.api.v1 import (  # noqa: E402
    app_users,
    assignments,
    datasets,
    form_drafts,
    forms,
    odata,
    projects,
    roles,
    sessions,
    submissions,
    users,
)
from server.api.v1.common import register_error_handlers  # noqa: E402

for _module in (sessions, users, roles, projects, assignments, app_users, forms, form_drafts,
                submissions, odata, datasets):
    api.add_namespace(_module.ns)
from server.api.v1 import (  # noqa: E402
    registry,
    registry_categories,
    registry_flags,
    registry_review,
)

for _module in (registry, registry_categories, registry_review, registry_flags):
    api.add_namespace(_module.ns)
from server.api.v1 import registry_import  # noqa: E402

api.add_namespace(registry_import.ns)
from server.api.v1 import registry_reports  # noqa: E402

api.add_namespace(registry_reports.ns)
from server.api.v1 import registry_exports  # noqa: E402

api.add_namespace(registry_exports.ns)
from server.api.v1 import registry_field_choices  # noqa: E402

api.add_namespace(registry_field_choices.ns)
from server.api.v1 import audits  # noqa: E402

api.add_namespace(audits.ns)
register_error_handlers(api)
