"""Liveness (`/healthz`, no I/O) and readiness (`/readyz`: database and storage reachable)."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from server.context import services
from server.migrations import current_heads
from server.services import Services

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__)


def expected_heads(svc: Services) -> list[str]:
    return current_heads(svc.settings.database_url)


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> ResponseReturnValue:
    svc = services()
    checks: dict[str, str] = {}
    try:
        with svc.database.engine.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        # A database that answers but was never migrated (or is behind) is not ready either.
        checks["database"] = "ok" if revision in expected_heads(svc) else "not migrated"
    except Exception as exc:
        log.warning("readiness: database check failed: %s", exc)
        # Only the exception class reaches the client: no hostnames or credentials.
        checks["database"] = f"failed: {type(exc).__name__}"
    try:
        svc.store.check()
        checks["storage"] = "ok"
    except Exception as exc:
        log.warning("readiness: storage check failed: %s", exc)
        checks["storage"] = f"failed: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503
