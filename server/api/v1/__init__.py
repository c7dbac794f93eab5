"""`/v1`: ODK Central's management API, one flask-restx Namespace per resource module.

Swagger UI is served at `/v1/docs`, the OpenAPI document at `/v1/swagger.json`.
"""

from __future__ import annotations

from flask import Blueprint
from flask_restx import Api

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

_register_namespaces()
