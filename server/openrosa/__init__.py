"""The OpenRosa endpoints ODK Collect talks to: form list, forms, manifests, media, submissions.

Routes are registered by the modules imported at the bottom; each exists once and serves both
`/v1/projects/<id>/…` and, through `server.middleware`, `/v1/key/<token>/projects/<id>/…`.
"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("openrosa", __name__)

from server.openrosa import routes  # noqa: E402,F401
