"""Logging in and out (Central: lib/resources/sessions.js).

`POST /v1/sessions` trades an email and password for a bearer token; `DELETE
/v1/sessions/<token>` ends it. Central's web UI also revokes an app user's access by deleting
that app user's token this way, so an app-user token is accepted here too.
"""

from __future__ import annotations

from typing import Any

from flask_restx import Namespace, Resource
from sqlalchemy import select

from server import problems
from server.api.v1 import shapes
from server.api.v1.common import load_json, success
from server.api.v1.openapi import documented
from server.api.v1.schemas import SessionInput, session_json
from server.auth import permissions
from server.auth.grants import GrantScope
from server.auth.principal import Principal, find_session, open_session
from server.auth.sign_in import password_principal
from server.context import db, principal, services
from server.models import AppUser
from server.operations.users import revoke_app_user_token
from server.route_access import acting_user, audit

ns = Namespace("sessions", description="Log in and out (bearer tokens)",
               path="/")

# Central's alias for the caller's own token in `DELETE /v1/sessions/current`.
CURRENT = "current"


@ns.route("/sessions")
class SessionCreate(Resource):
    @documented(shapes.Session, body=SessionInput, public=True, errors=(401, 429))
    def post(self) -> dict[str, Any]:
        """Log in with `{email, password}`; answers `{token, csrf, expiresAt, createdAt}`.

        Failed attempts are counted per account and per address: past the limit, 429.1 with
        `Retry-After` (README "Signing in").
        """
        body = load_json(SessionInput())
        who = password_principal(body["email"], body["password"], via="api")
        assert who.actor is not None
        session = open_session(db(), who.actor, services().settings.session_lifetime_hours)
        audit(who, "user.session.create", f"actor:{who.actor.id}")
        return session_json(session)


def _end_app_user_token(who: Principal, token: str) -> bool:
    app_user = db().scalar(select(AppUser).where(AppUser.token == token))
    if app_user is None:
        return False
    acting_user()
    permissions.require(who, "field_key.delete", app_user.project_id)
    # A manager limited to villages revokes only its own villages' phones (docs/access.md).
    GrantScope.of(who, "field_key.delete", app_user.project_id).check_app_user(
        [str(code) for code in app_user.villages or []])
    revoke_app_user_token(app_user)
    audit(who, "field_key.session.end", f"actor:{app_user.actor_id}")
    return True


@ns.route("/sessions/<string:token>")
class SessionEnd(Resource):
    def delete(self, token: str) -> dict[str, bool]:
        """Log out (`current` means the caller's own token), or revoke an app user's token."""
        who = principal()
        if who.is_anonymous:
            raise problems.auth_failed()
        if token == CURRENT:
            token = who.session_token or ""
        session = find_session(db(), token)
        if session is not None:
            if session.actor_id != who.actor_id:
                permissions.require_admin(who)
            db().delete(session)
            return success()
        if token and _end_app_user_token(who, token):
            return success()
        # Central answers 403 whether or not the token exists, so tokens cannot be probed.
        raise problems.insufficient_rights()
