"""`/v1`: ODK Central's management API, one flask-restx Namespace per resource module.

Swagger UI is served at `/v1/docs`, the OpenAPI document at `/v1/swagger.json`.
"""

from __future__ import annotations

from typing import NoReturn

from flask import Blueprint
from flask_restx import Api

from server import problems

blueprint = Blueprint("api_v1", __name__, url_prefix="/v1")

api = Api(
    blueprint,
    version="1",
    title="Điểm Tựa API",
    description="ODK Central-compatible management API (sessions, users, projects, forms, app "
    "users, submissions, exports), plus Điểm Tựa's own additions.",
    doc="/docs",
    authorizations={"bearer": {"type": "apiKey", "in": "header", "name": "Authorization"}},
    security="bearer",
)


def _register_namespaces() -> None:
    from server.api.v1 import NAMESPACES

    for namespace in NAMESPACES:
        api.add_namespace(namespace, path="")


NAMESPACES: list = []  # filled by the resource modules below


@api.errorhandler(problems.Problem)
def _problem(problem: problems.Problem) -> NoReturn:
    """Hand Problems on to the app's own handler (server/app.py), the one place that renders
    them; flask-restx would otherwise answer 500, or rewrite 404 messages."""
    raise problem


from server.api.v1 import odata, submissions  # noqa: E402

NAMESPACES += [submissions.ns, odata.ns]

from server.api.v1 import (  # noqa: E402
    app_users,
    assignments,
    form_drafts,
    forms,
    projects,
    roles,
    sessions,
    users,
)
from server.api.v1.common import register_error_handlers  # noqa: E402

NAMESPACES += [sessions.ns, users.ns, roles.ns, projects.ns, assignments.ns, app_users.ns,
               forms.ns, form_drafts.ns]
register_error_handlers(api)

_register_namespaces()
