"""Flags over JSON (docs/categories.md §6): list, acknowledge, close with a reason.

A caller sees a flag when it would see the flag's category; the commune chair also receives
urgent alerts it may not read, masked (`server.registry.access`, `FlagView.MASKED`): such a
flag is listed with its code, kind, labels, child name, record and close reason left out, may
be acknowledged but not closed, and matches no `kind` filter (its kind is not shown); the
`urgent` filter finds it.

A follow-up visit the registry did not apply (a child outside the phone's villages,
`server.registry.followup`) raises a flag of kind `followup_not_applied` whose `note` gives the
reason and whose `submission` names the visit as sent; its code is no category, so only the
roles that read sensitive data see it.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_restx import Namespace, Resource
from marshmallow import fields, validate
from sqlalchemy import Select, select

from server import problems
from server.api.v1 import shapes
from server.api.v1.common import load_json
from server.api.v1.openapi import documented
from server.api.v1.registry_common import BASE, PAGING, TOTAL, Body, paged, with_total
from server.context import db
from server.models import Child, Flag
from server.registry import flags as registry_flags
from server.registry.access import FlagView, RegistryAccess
from server.registry.json_shapes import flag_json
from server.route_access import allowed, audit, caller, registry_errors

ns = Namespace("registry_flags", description="Flags the commune acts on: new children in "
               "special circumstances, urgent cases, referrals", path="/")


class ReasonInput(Body):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


def _view(access: RegistryAccess, flag: Flag, child: Child) -> FlagView:
    return access.flag_view(flag.code, child.village_code, confidential=flag.confidential,
                            urgent=flag.deadline is not None)


def _shown(access: RegistryAccess, flag: Flag, child: Child) -> dict[str, Any]:
    return flag_json(flag, child, masked=_view(access, flag, child) is FlagView.MASKED)


def _flags_query(project_id: int, access: RegistryAccess) -> Select[Flag, Child]:
    query = select(Flag, Child).join(Child, Child.id == Flag.child_id).where(
        Flag.project_id == project_id, access.flag_list_clause())
    args = request.args
    if status := args.get("status"):
        query = query.where(Flag.status == status)
    if kind := args.get("kind"):
        query = query.where(Flag.kind == kind, access.flag_clause())
    if urgent := args.get("urgent"):
        if urgent not in ("true", "false"):
            raise problems.unexpected_value("urgent", "it must be true or false")
        query = query.where(Flag.deadline.is_not(None) if urgent == "true"
                            else Flag.deadline.is_(None))
    if village := args.get("village"):
        query = query.where(Child.village_code == village)
    # Deadlines first, soonest first (nulls last on both databases), then oldest raised.
    return query.order_by(Flag.deadline.is_(None), Flag.deadline, Flag.raised_at, Flag.id)


@ns.route(f"{BASE}/flags")
class FlagList(Resource):
    @ns.doc(params={"status": "open, acknowledged or closed", "kind":
                    "new_special_circumstance, urgent, referral or followup_not_applied", "urgent":
                    "`true`: only flags with a Decree 56 Art. 26 deadline; `false`: none",
                    "village": "village code", **PAGING})
    @documented(shapes.Flag(many=True), headers=TOTAL)
    def get(self, project_id: int) -> Any:
        """Flags the caller may see, soonest deadline first, then oldest."""
        _who, access = caller(project_id)
        rows, total = paged(_flags_query(project_id, access))
        return with_total([_shown(access, flag, child) for flag, child in rows], total)


def _flag(project_id: int, flag_id: int, access: RegistryAccess) -> tuple[Flag, Child]:
    row = db().execute(select(Flag, Child).join(Child, Child.id == Flag.child_id).where(
        Flag.id == flag_id, Flag.project_id == project_id, access.flag_list_clause())).first()
    if row is None:
        raise problems.not_found()
    return row[0], row[1]


@ns.route(f"{BASE}/flags/<int:flag_id>/acknowledge")
class FlagAcknowledge(Resource):
    @documented(shapes.Flag, errors=(409,))
    def post(self, project_id: int, flag_id: int) -> dict[str, Any]:
        """Someone is acting on it: the flag stays on lists as acknowledged."""
        who, access = caller(project_id)
        flag, child = _flag(project_id, flag_id, access)
        allowed(access.flag, child.village_code)
        with registry_errors():
            registry_flags.acknowledge(db(), flag.id, who.actor_id)
        audit(who, "registry.flag.acknowledge", f"flag:{flag.id}", {"projectId": project_id})
        return _shown(access, flag, child)


@ns.route(f"{BASE}/flags/<int:flag_id>/close")
class FlagClose(Resource):
    @documented(shapes.Flag, body=ReasonInput, errors=(409,))
    def post(self, project_id: int, flag_id: int) -> dict[str, Any]:
        """Close the flag with a reason `{"reason"}`. A masked flag is the officer's to
        close: 403."""
        who, access = caller(project_id)
        flag, child = _flag(project_id, flag_id, access)
        allowed(access.flag_close, child.village_code)
        if _view(access, flag, child) is not FlagView.FULL:
            raise problems.insufficient_rights()
        body = load_json(ReasonInput())
        with registry_errors():
            registry_flags.close(db(), flag.id, who.actor_id, body["reason"])
        audit(who, "registry.flag.close", f"flag:{flag.id}", {"projectId": project_id})
        return _shown(access, flag, child)
