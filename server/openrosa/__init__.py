"""The OpenRosa endpoints ODK Collect talks to: form list, forms, manifests, media, submissions.

Routes are registered by the modules imported at the bottom; each exists once and serves both
`/v1/projects/<id>/…` and, through `server.middleware`, `/v1/key/<token>/projects/<id>/…`.
Every answer of this blueprint — errors included — carries the OpenRosa headers.
"""

from __future__ import annotations

from flask import Blueprint

from server.openrosa.responses import openrosa_headers

blueprint = Blueprint("openrosa", __name__)
blueprint.after_request(openrosa_headers)

from server.openrosa import (  # noqa: E402,F401
    draft_test,
    entity_lists,
    formlist,
    forms,
    submission,
)
