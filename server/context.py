"""Per-request access to the services, the database session and the caller, for route code.

The database session is opened on first use and committed after a successful response
(`app.after_request`) — routes that must see the outcome of the commit (submission ingest)
commit themselves; either way there is one commit per request.
"""

from __future__ import annotations

import base64
import binascii

from flask import current_app, g, request
from sqlalchemy.orm import Session as DbSession

from server import problems
from server.auth.principal import (
    ANONYMOUS,
    Principal,
    principal_from_field_key,
    principal_from_session_token,
)
from server.services import Services

FIELD_KEY_ENVIRON = "diemtua.field_key"
WEB_SESSION_COOKIE = "session"


def services() -> Services:
    svc: Services = current_app.extensions["diemtua"]
    return svc


def db() -> DbSession:
    if "db" not in g:
        g.db = services().database.sessions()
    session: DbSession = g.db
    return session


def field_key() -> str | None:
    """The app-user token of `/v1/key/<token>/…` URLs (or Central's `?st=` query)."""
    return request.environ.get(FIELD_KEY_ENVIRON) or request.args.get("st") or None


def _basic_credentials(header: str) -> tuple[str, str]:
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True)
    except binascii.Error as exc:
        raise problems.auth_failed() from exc
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        # OkHttp (ODK Collect) encodes Basic credentials as ISO-8859-1, not UTF-8.
        decoded = raw.decode("latin-1")
    email, sep, password = decoded.partition(":")
    if not sep:
        raise problems.auth_failed()
    return email, password


def _resolve_principal() -> Principal:
    key = field_key()
    if key:
        return principal_from_field_key(db(), key)
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return principal_from_session_token(db(), header[7:].strip())
    if header[:6].lower() == "basic ":
        if request.scheme != "https":
            raise problems.https_only()
        email, password = _basic_credentials(header)
        # Throttled and audited as every password check; imported here because it uses db().
        from server.auth.sign_in import password_principal

        return password_principal(email, password, via="basic")
    cookie = request.cookies.get(WEB_SESSION_COOKIE)
    if cookie and request.method in {"GET", "HEAD"}:
        # Cookie sessions (the web UI) are honoured for reads only on API paths; writes from
        # the browser go through the web blueprint, which checks its CSRF token.
        try:
            return principal_from_session_token(db(), cookie)
        except problems.Problem:
            return ANONYMOUS
    return ANONYMOUS


def principal() -> Principal:
    if "principal" not in g:
        g.principal = _resolve_principal()
    resolved: Principal = g.principal
    return resolved


def public_base() -> str:
    """Scheme and host every emitted URL starts with: DIEMTUA_PUBLIC_URL, else the request's."""
    configured = services().settings.public_url
    return configured or request.host_url.rstrip("/")


def api_base() -> str:
    """`{public}/v1`, or `{public}/v1/key/<token>` when the caller came with an app-user URL.

    Phones set up with a key URL must get every URL back with the same key, or their next
    request would be anonymous (Central builds them from `originalUrl` the same way).
    """
    # A caller that came with Central's `?st=<token>` gets key URLs: equivalent, and they keep
    # working when a client drops the query string of a URL it was handed.
    key = field_key()
    return f"{public_base()}/v1/key/{key}" if key else f"{public_base()}/v1"
