"""Every password check: `POST /v1/sessions`, the sign-in page and HTTP Basic (phones).

One path, so every one of them is throttled (`server.auth.throttle`) and audited alike: a
failure is counted and written to the audit log (`user.session.create.failure`, with the
email tried and the address, never the password) in its own short transaction, because the
request's unit of work rolls back with its 401; the failure that brings an account or an
address to its limit also writes `user.session.throttled`. While throttled, attempts are
answered 429.1 with a `Retry-After` header, without checking the password.

`sign_in_with_password` is plain Python; `password_principal` gives it what a request knows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Response, after_this_request, current_app, request
from redis.exceptions import RedisError
from sqlalchemy.orm import Session as DbSession

from server import problems
from server.auth.principal import Principal, principal_from_password
from server.auth.throttle import (
    DatabaseFailures,
    FailureStore,
    Limits,
    RedisFailures,
    SignInThrottle,
    Throttled,
    address_of,
    normalise_email,
)
from server.config import Settings
from server.context import db, services
from server.db import Database
from server.models import Audit

log = logging.getLogger(__name__)

FAILED = "user.session.create.failure"
THROTTLED = "user.session.throttled"
# When to try again after the throttle's store could not be reached.
UNAVAILABLE_RETRY_SECONDS = 30


@dataclass(frozen=True)
class Attempt:
    """One password check: `via` is `api`, `web` or `basic`; `address` as `address_of` gives."""

    email: str
    password: str
    address: str
    via: str

    @property
    def account(self) -> str:
        return normalise_email(self.email)


def sign_in_with_password(session: DbSession, database: Database, throttle: SignInThrottle,
                          attempt: Attempt) -> Principal:
    """The user the password belongs to; 401.2 when it does not, 429.1 while throttled.

    `session` is the request's; `database` writes what must outlive a refused request.
    """
    try:
        tally = throttle.check(attempt.account, attempt.address)
    except Throttled as refused:
        raise problems.too_many_failed_sign_ins(refused.retry_after) from None
    try:
        who = principal_from_password(session, attempt.email, attempt.password)
    except problems.Problem:
        # The answer is a 401 either way; ending the request's transaction now keeps SQLite's
        # single write lock free for the failure's own transaction.
        session.rollback()
        _record_failure(database, throttle, attempt)
        raise
    throttle.succeeded(attempt.account, tally)
    return who


def _record_failure(database: Database, throttle: SignInThrottle, attempt: Attempt) -> None:
    reached = throttle.failed(attempt.account, attempt.address)
    # An email is at most 254 characters: a longer one is junk, not worth keeping whole.
    seen = {"email": attempt.account[:254], "address": attempt.address, "via": attempt.via}
    with database.unit_of_work() as session:
        session.add(Audit(actor_id=None, action=FAILED, actee=None, details=seen))
        session.add_all(
            Audit(actor_id=None, action=THROTTLED, actee=None,
                  details={**seen, "limit": limit.scope, "retryAfter": limit.retry_after})
            for limit in reached)


# --- the request's side -----------------------------------------------------------------------


def limits_of(settings: Settings) -> Limits:
    return Limits(window=timedelta(seconds=settings.sign_in_window_seconds),
                  per_account=settings.sign_in_failures_per_account,
                  per_address=settings.sign_in_failures_per_address)


def _redis_client(url: str) -> Any:
    """One client (one connection pool) per app and URL."""
    clients: dict[str, Any] = current_app.extensions.setdefault("diemtua.redis", {})
    if url not in clients:
        import redis

        # Short timeouts: an unreachable Redis fails the sign-in (503, Retry-After) rather
        # than hanging a worker thread; a throttle that cannot count lets no guess through.
        clients[url] = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
    return clients[url]


def _store(settings: Settings, database: Database, session: DbSession) -> FailureStore:
    if settings.redis_url:
        return RedisFailures(_redis_client(settings.redis_url))
    return DatabaseFailures(database, session)


def password_principal(email: str, password: str, via: str) -> Principal:
    """`sign_in_with_password` for this request, from `request.remote_addr`.

    Behind a reverse proxy that address is the client's only when DIEMTUA_PROXY_HOPS trusts
    the proxy's X-Forwarded-For (ProxyFix in `server.app`); otherwise every caller would
    share the proxy's address and its limit.
    """
    svc = services()
    throttle = SignInThrottle(_store(svc.settings, svc.database, db()), limits_of(svc.settings))
    attempt = Attempt(email=email, password=password, address=address_of(request.remote_addr),
                      via=via)
    try:
        return sign_in_with_password(db(), svc.database, throttle, attempt)
    except RedisError as exc:
        # Counting is impossible: refuse the attempt as an outage, not a 500 (a phone with a
        # password retries it later, a person is told to), and let no guess through.
        log.warning("sign-in throttle store unreachable: %s", type(exc).__name__)
        unavailable = problems.sign_in_unavailable(UNAVAILABLE_RETRY_SECONDS)
        _add_retry_after(UNAVAILABLE_RETRY_SECONDS)
        raise unavailable from exc
    except problems.Problem as problem:
        if problem.http_status == 429:
            _add_retry_after(int(problem.details["retryAfter"]))
        raise


def _add_retry_after(seconds: int) -> None:
    @after_this_request
    def _header(response: Response) -> Response:
        response.headers["Retry-After"] = str(seconds)
        return response
