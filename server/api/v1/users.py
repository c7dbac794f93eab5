"""Web users (Central: lib/resources/users.js): list, create, read, update, password, delete.

Administrators manage everybody; a user may read and change their own account. pyodk calls
`GET /v1/users/current` to check that its cached token still works.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_restx import Namespace, Resource
from sqlalchemy import func, or_, select

from server.api.v1 import shapes
from server.api.v1.common import extended, load_json, success
from server.api.v1.openapi import documented
from server.api.v1.roles import ADMIN
from server.api.v1.schemas import (
    PasswordInput,
    UserCreateInput,
    UserUpdateInput,
    user_json,
)
from server.auth import permissions
from server.auth.passwords import WeakPassword
from server.auth.principal import Principal
from server.context import db
from server.models import Actor, User
from server.operations.users import (
    SiteAdministratorNeeded,
    change_password,
    create_user,
    delete_user,
    get_user,
    update_user,
)
from server.route_access import acting_user, audit

ns = Namespace("users", description="Web users",
               path="/")


def _self_or_admin(who: Principal, actor_id: int) -> None:
    if who.actor_id != actor_id:
        permissions.require_admin(who)


def _search(q: str | None, admin: bool) -> list[User]:
    """Admins list everyone (`q` filters); others may only look up one exact email (Central)."""
    query = select(User).join(Actor, Actor.id == User.actor_id).where(
        Actor.deleted_at.is_(None)).order_by(User.email)
    if not admin:
        if not q:
            return []
        return list(db().scalars(query.where(User.email == q.strip().lower())))
    if q:
        pattern = f"%{q.strip().lower()}%"
        query = query.where(or_(User.email.like(pattern),
                                func.lower(Actor.display_name).like(pattern)))
    return list(db().scalars(query))


@ns.route("/users")
class UserList(Resource):
    @documented(shapes.User(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Users, by email. `?q=` searches (admins) or finds one exact email (others)."""
        who = acting_user()
        return [user_json(user) for user in _search(request.args.get("q"), who.is_admin)]

    @documented(shapes.User, body=UserCreateInput, errors=(409,))
    def post(self) -> dict[str, Any]:
        """Create a user `{email, password?, displayName?}` (administrators only)."""
        who = acting_user()
        permissions.require_admin(who)
        body = load_json(UserCreateInput())
        try:
            user = create_user(db(), body["email"], body["password"],
                               display_name=body["display_name"])
        except WeakPassword as exc:
            raise exc.problem() from exc
        audit(who, "user.create", f"actor:{user.actor_id}", {"data": {"email": user.email}})
        return user_json(user)


@ns.route("/users/current")
class CurrentUser(Resource):
    @documented(shapes.User, extended=True)
    def get(self) -> dict[str, Any]:
        """The logged-in user; `X-Extended-Metadata: true` adds their site-wide verbs."""
        who = acting_user()
        assert who.user is not None
        body = user_json(who.user)
        if extended():
            body["verbs"] = ADMIN.verbs if who.is_admin else []
        return body


@ns.route("/users/<int:actor_id>")
class UserDetail(Resource):
    @documented(shapes.User)
    def get(self, actor_id: int) -> dict[str, Any]:
        """One user (administrators, or the user themself)."""
        _self_or_admin(acting_user(), actor_id)
        return user_json(get_user(db(), actor_id))

    @documented(shapes.User, body=UserUpdateInput, errors=(409,))
    def patch(self, actor_id: int) -> dict[str, Any]:
        """Change `email` and/or `displayName`."""
        who = acting_user()
        _self_or_admin(who, actor_id)
        user = get_user(db(), actor_id)
        body = load_json(UserUpdateInput())
        update_user(db(), user, email=body.get("email"), display_name=body.get("display_name"))
        audit(who, "user.update", f"actor:{actor_id}",
              {"data": dict(body)})
        return user_json(user)

    def delete(self, actor_id: int) -> dict[str, bool]:
        """Delete a user: their sessions and roles end; their history stays. Refused (409.42)
        for one's own account and for the last site administrator."""
        who = acting_user()
        permissions.require_admin(who)
        try:
            delete_user(db(), get_user(db(), actor_id), by=who.actor_id)
        except SiteAdministratorNeeded as exc:
            raise exc.problem() from exc
        audit(who, "user.delete", f"actor:{actor_id}")
        return success()


@ns.route("/users/<int:actor_id>/password")
class UserPassword(Resource):
    @documented(body=PasswordInput)
    def put(self, actor_id: int) -> dict[str, bool]:
        """Change a password with `{old, new}`; a wrong `old` is 401.2, a weak `new` 400.21."""
        who = acting_user()
        _self_or_admin(who, actor_id)
        user = get_user(db(), actor_id)
        body = load_json(PasswordInput())
        try:
            change_password(user, body["old"], body["new"])
        except WeakPassword as exc:
            raise exc.problem() from exc
        audit(who, "user.update", f"actor:{actor_id}", {"data": {"password": "changed"}})
        return success()
