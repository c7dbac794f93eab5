"""App users: one per phone (Central: lib/resources/app-users.js), and their Collect QR code.

An app user authenticates with the token inside its server URL, `/v1/key/<token>/projects/<id>`.
Deleting it ends that URL at once. `villages` (thôn codes) is our addition: the villages the
collaborator covers, used to scope what they may see; they must be villages of the project when
it has a village list.

No escalation (`server.auth.grants`): a manager limited to villages creates app users only for
its villages, and lists, reads, changes, deletes and prints the QR code of only those whose
villages are among its own — the token is a key to the phone's villages' children. Others are
absent from its list and refused (403) one by one.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_restx import Namespace, Resource
from sqlalchemy import func, select

from server import problems
from server.api.v1 import shapes
from server.api.v1.common import extended, load_json, success
from server.api.v1.openapi import documented
from server.api.v1.schemas import (
    AppUserInput,
    AppUserUpdateInput,
    actor_json,
    app_user_json,
    iso,
)
from server.auth.grants import GrantScope
from server.auth.principal import Principal
from server.context import db, public_base, services
from server.models import Actor, AppUser, Project, Submission
from server.operations import app_user_rules, qrcode
from server.operations.users import (
    create_app_user,
    delete_app_user,
    normalise_villages,
    update_app_user,
)
from server.route_access import acting_user, audit, readable_project

ns = Namespace("app_users", description="App users (one per phone) and their QR codes",
               path="/")

ONE = "/projects/<int:project_id>/app-users/<int:actor_id>"


def _extended_json(app_user: AppUser) -> dict[str, Any]:
    """Central's extended field key: `createdBy` as an actor, and when it last submitted."""
    creator = db().get(Actor, app_user.created_by) if app_user.created_by else None
    last_used = db().scalar(select(func.max(Submission.created_at)).where(
        Submission.submitter_id == app_user.actor_id))
    return {**app_user_json(app_user), "createdBy": actor_json(creator) if creator else None,
            "lastUsed": iso(last_used)}


def _reachable(who: Principal, project_id: int, actor_id: int, verb: str) -> AppUser:
    """An app user of the project the caller may `verb` (`field_key.*`): within its villages."""
    return app_user_rules.reachable_app_user(db(), who, project_id, actor_id, verb)


def _grantable(who: Principal, project_id: int, villages: list[str]) -> list[str]:
    """Villages the caller may give an app user (its own, when limited), each a village of the
    project."""
    return app_user_rules.grantable_villages(db(), who, project_id, villages,
                                             services().store)


@ns.route("/projects/<int:project_id>/app-users")
class AppUserList(Resource):
    @documented(shapes.AppUser(many=True), extended=True)
    def get(self, project_id: int) -> list[dict[str, Any]]:
        """The project's app users, with their tokens (for a new QR code)."""
        who = acting_user()
        readable_project(who, project_id, "field_key.list")
        render = _extended_json if extended() else app_user_json
        scope = GrantScope.of(who, "field_key.list", project_id)
        return [render(app_user)
                for app_user in app_user_rules.listed_app_users(db(), project_id, scope)]

    @documented(shapes.AppUser, body=AppUserInput)
    def post(self, project_id: int) -> dict[str, Any]:
        """Create an app user `{displayName, villages?}`; the answer holds its token."""
        who = acting_user()
        readable_project(who, project_id, "field_key.create")
        body = load_json(AppUserInput())
        villages = _grantable(who, project_id, normalise_villages(body["villages"]))
        app_user = create_app_user(db(), project_id, body["display_name"], villages,
                                   created_by=who.actor_id)
        audit(who, "field_key.create", f"actor:{app_user.actor_id}",
              {"projectId": project_id, "villages": app_user.villages})
        return app_user_json(app_user)


@ns.route(ONE)
class AppUserDetail(Resource):
    @documented(shapes.AppUser, extended=True)
    def get(self, project_id: int, actor_id: int) -> dict[str, Any]:
        """One app user."""
        app_user = _reachable(acting_user(), project_id, actor_id, "field_key.list")
        return _extended_json(app_user) if extended() else app_user_json(app_user)

    @documented(shapes.AppUser, body=AppUserUpdateInput)
    def patch(self, project_id: int, actor_id: int) -> dict[str, Any]:
        """Change `displayName` and/or `villages` (our addition to Central)."""
        who = acting_user()
        app_user = _reachable(who, project_id, actor_id, "field_key.create")
        body = load_json(AppUserUpdateInput())
        villages = body.get("villages")
        if villages is not None:
            villages = _grantable(who, project_id, normalise_villages(villages))
        update_app_user(app_user, body.get("display_name"), villages)
        db().flush()
        audit(who, "field_key.update", f"actor:{actor_id}",
              {"projectId": project_id, "displayName": app_user.actor.display_name,
               "villages": app_user.villages})
        return app_user_json(app_user)

    def delete(self, project_id: int, actor_id: int) -> dict[str, bool]:
        """Delete the app user: its phone's URL stops working and its assignments end."""
        who = acting_user()
        delete_app_user(db(), _reachable(who, project_id, actor_id, "field_key.delete"))
        audit(who, "field_key.delete", f"actor:{actor_id}", {"projectId": project_id})
        return success()


def _qr_settings(project_id: int, actor_id: int) -> tuple[str, dict[str, Any]]:
    """The Collect URL and settings of an app user whose token is still valid."""
    who = acting_user()
    project: Project = readable_project(who, project_id, "field_key.list")
    app_user = _reachable(who, project_id, actor_id, "field_key.list")
    if app_user.token is None:
        # A revoked app user has no URL to hand out.
        raise problems.not_found()
    return app_user_rules.collect_settings_of(public_base(), project, app_user)


@ns.route(f"{ONE}/qr")
class AppUserQrSettings(Resource):
    @documented(shapes.CollectSettings)
    def get(self, project_id: int, actor_id: int) -> dict[str, Any]:
        """The Collect settings as JSON: `url`, `settings`, and the QR `payload` text."""
        url, settings = _qr_settings(project_id, actor_id)
        return {"url": url, "settings": settings,
                "payload": qrcode.encode_settings(settings)}


@ns.route(f"{ONE}/qr.png")
class AppUserQrPng(Resource):
    @ns.produces(["image/png"])
    def get(self, project_id: int, actor_id: int) -> Response:
        """The QR code to scan in Collect (Add project → Scan QR code), as a PNG."""
        _url, settings = _qr_settings(project_id, actor_id)
        png = qrcode.qr_png(qrcode.encode_settings(settings))
        response = Response(png, mimetype="image/png")
        # The image holds a credential: keep it out of shared caches.
        response.headers["Cache-Control"] = "private, no-store"
        return response
