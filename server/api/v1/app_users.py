"""App users: one per phone (Central: lib/resources/app-users.js), and their Collect QR code.

An app user authenticates with the token inside its server URL, `/v1/key/<token>/projects/<id>`.
Deleting it ends that URL at once. `villages` (thôn codes) is our addition: the villages the
collaborator covers, used to scope what they may see.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_restx import Namespace, Resource
from sqlalchemy import func, select

from server import problems
from server.api.v1.common import acting_user, audit, extended, load_json, success
from server.api.v1.projects import readable_project
from server.api.v1.schemas import (
    AppUserInput,
    AppUserUpdateInput,
    actor_json,
    app_user_json,
    iso,
)
from server.context import db, public_base
from server.models import Actor, AppUser, Project, Submission
from server.operations import qrcode
from server.operations.users import (
    create_app_user,
    delete_app_user,
    get_app_user,
    normalise_villages,
    update_app_user,
)

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


def _listed(project_id: int) -> list[AppUser]:
    """Active app users first (Central), newest first."""
    rows = db().scalars(select(AppUser).join(Actor, Actor.id == AppUser.actor_id).where(
        AppUser.project_id == project_id, Actor.deleted_at.is_(None))
        .order_by(AppUser.actor_id.desc()))
    return sorted(rows, key=lambda app_user: app_user.token is None)


@ns.route("/projects/<int:project_id>/app-users")
class AppUserList(Resource):
    def get(self, project_id: int) -> list[dict[str, Any]]:
        """The project's app users, with their tokens (for a new QR code)."""
        readable_project(acting_user(), project_id, "field_key.list")
        render = _extended_json if extended() else app_user_json
        return [render(app_user) for app_user in _listed(project_id)]

    def post(self, project_id: int) -> dict[str, Any]:
        """Create an app user `{displayName, villages?}`; the answer holds its token."""
        who = acting_user()
        readable_project(who, project_id, "field_key.create")
        body = load_json(AppUserInput())
        app_user = create_app_user(db(), project_id, body["display_name"],
                                   normalise_villages(body["villages"]),
                                   created_by=who.actor_id)
        audit(who, "field_key.create", f"actor:{app_user.actor_id}",
              {"projectId": project_id, "villages": app_user.villages})
        return app_user_json(app_user)


@ns.route(ONE)
class AppUserDetail(Resource):
    def get(self, project_id: int, actor_id: int) -> dict[str, Any]:
        """One app user."""
        readable_project(acting_user(), project_id, "field_key.list")
        app_user = get_app_user(db(), project_id, actor_id)
        return _extended_json(app_user) if extended() else app_user_json(app_user)

    def patch(self, project_id: int, actor_id: int) -> dict[str, Any]:
        """Change `displayName` and/or `villages` (our addition to Central)."""
        who = acting_user()
        readable_project(who, project_id, "field_key.create")
        app_user = get_app_user(db(), project_id, actor_id)
        body = load_json(AppUserUpdateInput())
        update_app_user(app_user, body.get("display_name"), body.get("villages"))
        db().flush()
        audit(who, "field_key.update", f"actor:{actor_id}",
              {"displayName": app_user.actor.display_name, "villages": app_user.villages})
        return app_user_json(app_user)

    def delete(self, project_id: int, actor_id: int) -> dict[str, bool]:
        """Delete the app user: its phone's URL stops working and its assignments end."""
        who = acting_user()
        readable_project(who, project_id, "field_key.delete")
        delete_app_user(db(), get_app_user(db(), project_id, actor_id))
        audit(who, "field_key.delete", f"actor:{actor_id}")
        return success()


def _qr_settings(project_id: int, actor_id: int) -> tuple[str, dict[str, Any]]:
    """The Collect URL and settings of an app user whose token is still valid."""
    project: Project = readable_project(acting_user(), project_id, "field_key.list")
    app_user = get_app_user(db(), project_id, actor_id)
    if app_user.token is None:
        # A revoked app user has no URL to hand out.
        raise problems.not_found()
    url = qrcode.collect_url(public_base(), app_user.token, project_id)
    return url, qrcode.collect_settings(url, project.name, project_id,
                                        username=app_user.actor.display_name)


@ns.route(f"{ONE}/qr")
class AppUserQrSettings(Resource):
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
