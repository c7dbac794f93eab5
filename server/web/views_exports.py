"""Downloads (Xuất dữ liệu): the children list and the reports, as files.

The page only *offers* the downloads: each is a plain GET form whose action is the registry
API's own address (`/v1/projects/{id}/registry/children.csv`, `…/reports/{name}.xlsx`), which
honours the page's session cookie for reads. The file then streams from the API at once, with
the API's checks, filters and audit row (docs/reports.md); the page holds no second copy of
any of that. It is shown to callers holding `registry.export`, and says whether what they
download is the full or the redacted registry, and that every download is logged.
"""

from __future__ import annotations

from datetime import datetime

from flask import render_template, request
from flask.typing import ResponseReturnValue

from exports.children_export import is_redacted
from server import problems
from server.auth import permissions
from server.context import db
from server.models import Project
from server.registry.children_query import VIETNAM
from server.route_access import caller
from server.web import blueprint, queries
from server.web.views_dashboard import chosen_period, period_choices

# The reports of docs/reports.md, in the order officers use them.
REPORTS = ("new-children", "by-category", "indicators", "national", "data-quality", "audit")


def registry_api(project_id: int) -> str:
    """The registry API's address for this commune, as the browser reaches it."""
    return f"{request.script_root}/v1/projects/{project_id}/registry"


@blueprint.get("/ui/p/<int:project_id>/exports")
def exports(project_id: int) -> ResponseReturnValue:
    who, access = caller(project_id)
    if not permissions.can(who, permissions.REGISTRY_EXPORT, project_id):
        raise problems.insufficient_rights()
    now = datetime.now(VIETNAM)
    villages = queries.villages(db(), project_id, access)
    return render_template(
        "web/exports.html", project=db().get_one(Project, project_id),
        api=registry_api(project_id), villages=villages,
        limited=access.read.is_limited, codes=queries.filter_codes(access),
        redacted=is_redacted(access), reports=REPORTS,
        period=chosen_period(now), periods=period_choices(now))
