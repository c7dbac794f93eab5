"""Who is using the pages: the session cookie, its CSRF token, signing in and out.

The cookie (`server.context.WEB_SESSION_COOKIE`) carries the token of a `Session` row, the same
row `POST /v1/sessions` makes; the row's `csrf` value must come back with every form posted.
Only web users get in: an app user's token in the cookie counts as nobody (phones have their
key URL and no business on these pages).

The cookie's name is Flask's default session cookie name, so these pages never use
`flask.session` or `flash` (Flask would overwrite the cookie with its own); messages after a
redirect travel in the query string instead.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask import g, request
from sqlalchemy.orm import Session as DbSession
from werkzeug.wrappers import Response

from server import problems
from server.auth.principal import (
    ANONYMOUS,
    Principal,
    find_session,
    new_token,
    open_session,
    principal_from_session_token,
)
from server.auth.sign_in import password_principal
from server.context import WEB_SESSION_COOKIE, db, services
from server.models import Session

CSRF_FIELD = "csrf"
# Sign-in has no session yet: its form is protected by a double-submit cookie instead.
LOGIN_CSRF_COOKIE = "diemtua_login"


@dataclass(frozen=True)
class WebUser:
    principal: Principal
    session: Session


def _from_cookie(session: DbSession) -> WebUser | None:
    token = request.cookies.get(WEB_SESSION_COOKIE)
    if not token:
        return None
    try:
        who = principal_from_session_token(session, token)
    except problems.Problem:
        return None
    row = find_session(session, token)
    if who.user is None or row is None:
        return None
    return WebUser(who, row)


def load_web_user() -> None:
    """Resolve the cookie once per request and make it *the* caller, so the registry API's
    own checks (`server.route_access.caller`) judge page requests too."""
    user = _from_cookie(db())
    g.web_user = user
    g.principal = user.principal if user else ANONYMOUS


def web_user() -> WebUser | None:
    user: WebUser | None = g.get("web_user")
    return user


def csrf_token() -> str:
    user = web_user()
    return user.session.csrf if user else ""


def check_csrf() -> None:
    """A posted form must carry its session's token: 403 otherwise, nothing changed."""
    user = web_user()
    sent = request.form.get(CSRF_FIELD, "")
    if user is None:
        raise problems.auth_failed()
    if not sent or not secrets.compare_digest(sent, user.session.csrf):
        raise CsrfRefused()


class CsrfRefused(problems.Problem):
    def __init__(self) -> None:
        super().__init__("403.1", "The form's CSRF token is missing or wrong.")


# --- signing in and out -----------------------------------------------------------------------


def login_csrf(response: Response) -> str:
    """A fresh token for the sign-in form, also set as a cookie the POST must match."""
    token = new_token()
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="Lax",
                        secure=request.is_secure, path="/ui/login")
    return token


def login_csrf_ok() -> bool:
    sent = request.form.get(CSRF_FIELD, "")
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(sent and expected) and secrets.compare_digest(sent, expected)


def sign_in(email: str, password: str) -> tuple[Principal, Session]:
    """A session row for a web user, as `POST /v1/sessions` makes; a 401 Problem otherwise, or
    429.1 while failed sign-ins to this account or from this address are throttled."""
    who = password_principal(email, password, via="web")
    if who.actor is None or who.user is None:
        raise problems.auth_failed()
    row = open_session(db(), who.actor, services().settings.session_lifetime_hours)
    return who, row


def set_session_cookie(response: Response, row: Session) -> None:
    lifetime = services().settings.session_lifetime_hours * 3600
    assert row.token is not None, "only a session just opened carries its token"
    response.set_cookie(WEB_SESSION_COOKIE, row.token, max_age=lifetime, httponly=True,
                        samesite="Lax", secure=request.is_secure, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui/login")


def sign_out(response: Response) -> None:
    user = web_user()
    if user is not None:
        db().delete(user.session)
    response.delete_cookie(WEB_SESSION_COOKIE, path="/")
