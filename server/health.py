"""Liveness (`/healthz`, no I/O) and readiness (`/readyz`: database and storage reachable)."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from server.context import services

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> ResponseReturnValue:
    svc = services()
    checks: dict[str, str] = {}
    try:
        with svc.database.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
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
