"""The server audit log as Central serves it (lib/resources/audits.js): `GET /v1/audits`.

Site administrators only (Central's `audit.read` on the site). Filters and paging as Central:
`action` (one action, or a group: `nonverbose`, `user`, `field_key`, `project`, `form`,
`submission`, `dataset`, `entity`; ours: `registry`, `export`), `start` and `end` (ISO 8601,
both inclusive; an `end` date alone includes that whole day), `limit` and `offset`. Newest
first. With `X-Extended-Metadata: true` each row also carries the `actor` and the `actee`:
a project, form or actor as their own endpoints show them; for the registry's things
(`child:…`, `candidate:…`, `flag:…`) only `{id, species}` — the log never shows a child's
name. `acteeId` is our actee reference (`form:3`), where Central has a UUID.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import request
from flask_restx import Namespace, Resource
from sqlalchemy import select

from server import problems
from server.api.v1 import shapes
from server.api.v1.common import extended
from server.api.v1.openapi import documented
from server.api.v1.registry_common import int_arg
from server.api.v1.schemas import actor_json, form_json, project_json
from server.auth import permissions
from server.context import db
from server.models import Actor, Audit, Form, Project
from server.operations.audit_log import (
    GROUPS,
    AuditFilter,
    BadMoment,
    actee_kind,
    actors_by_id,
    audit_json,
    parse_moment,
    read_audits,
)
from server.route_access import acting_user

ns = Namespace("audits", description="The server audit log (Central's system endpoint)",
               path="/")

PARAMS = {
    "action": "an action (`form.create`) or a group: " + ", ".join(sorted(GROUPS)),
    "start": "ISO 8601 date or timestamp; rows logged at or after it (no zone: UTC)",
    "end": "ISO 8601 date or timestamp; rows logged at or before it (a date: the whole day)",
    "limit": "rows to return (default: all)",
    "offset": "rows to skip",
}


def _moment(name: str, *, end: bool = False) -> datetime | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return parse_moment(raw, end=end)
    except BadMoment:
        raise problems.unexpected_value(name, "expected an ISO 8601 date or timestamp, "
                                        "e.g. 2026-12-04 or 2026-12-04T08:30:00+07:00") from None


def _limit() -> int | None:
    """Central returns every row when no `limit` is given."""
    return int_arg("limit", 0) if request.args.get("limit") else None


def _by_id(model: Any, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    return {row.id: row for row in db().scalars(select(model).where(model.id.in_(ids)))}


def _ids_of(rows: list[Audit], kind: str) -> set[int]:
    found = set()
    for row in rows:
        parts = actee_kind(row.actee)
        if parts and parts[0] == kind and parts[1].isdigit():
            found.add(int(parts[1]))
    return found


def _actee_json(actee: str | None, actors: dict[int, Actor], forms: dict[int, Form],
                projects: dict[int, Project]) -> dict[str, Any] | None:
    parts = actee_kind(actee)
    if parts is None:
        return None
    kind, ident = parts
    number = int(ident) if ident.isdigit() else None
    if kind == "actor" and number in actors:
        return actor_json(actors[number])
    if kind == "form" and number in forms:
        return form_json(forms[number], forms[number].current_def)
    if kind == "project" and number in projects:
        return project_json(projects[number])
    return {"id": actee, "species": kind}


def extended_rows(rows: list[Audit]) -> list[dict[str, Any]]:
    """Rows with their `actor` and `actee` objects, loaded once for the page."""
    actors = actors_by_id(db(), rows)
    forms = _by_id(Form, _ids_of(rows, "form"))
    projects = _by_id(Project, _ids_of(rows, "project"))
    return [{**audit_json(row),
             "actor": actor_json(actors[row.actor_id]) if row.actor_id in actors else None,
             "actee": _actee_json(row.actee, actors, forms, projects)} for row in rows]


@ns.route("/audits")
class AuditList(Resource):
    @documented(shapes.Audit(many=True), extended=True)
    @ns.doc(params=PARAMS)
    def get(self) -> list[dict[str, Any]]:
        """Audit log entries, newest first (site administrators); `X-Extended-Metadata: true`
        adds `actor` and `actee`."""
        permissions.require_admin(acting_user())
        wanted = AuditFilter(action=(request.args.get("action") or "").strip() or None,
                             start=_moment("start"), end=_moment("end", end=True))
        rows = read_audits(db(), wanted, limit=_limit(), offset=int_arg("offset", 0))
        if extended():
            return extended_rows(rows)
        return [audit_json(row) for row in rows]

