"""Liveness (`/healthz`, no I/O) and readiness (`/readyz`: the database answers and is
migrated; the blob store is writable and, on local disk, has more free space than
DIEMTUA_MIN_FREE_MB — a full disk would refuse every photo, README "Limits and headers").

A failed check names the part and its reason, never a hostname or a credential.
"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from server import outages
from server.context import services
from server.migrations import current_heads
from server.services import Services

log = logging.getLogger(__name__)
blueprint = Blueprint("health", __name__)
MB = 1024 * 1024
LOW_SPACE = "blob storage free space"


def expected_heads(svc: Services) -> list[str]:
    return current_heads(svc.settings.database_url)


@blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@blueprint.get("/readyz")
def readyz() -> ResponseReturnValue:
    svc = services()
    checks = {"database": _database(svc), "storage": _storage(svc)}
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503


def _failed(part: str, exc: Exception) -> str:
    # An outage is logged once per episode (`server.outages`), other failures each time.
    if outages.outage_of(exc) is not None:
        outages.OUTAGES.seen(part, exc)
    else:
        log.warning("readiness: %s check failed: %s", part, exc)
    return f"failed: {type(exc).__name__}"


def _database(svc: Services) -> str:
    try:
        with svc.database.engine.connect() as connection:
            revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception as exc:
        return _failed(outages.DATABASE, exc)
    # A database that answers but was never migrated (or is behind) is not ready either.
    return "ok" if revision in expected_heads(svc) else "not migrated"


def _storage(svc: Services) -> str:
    try:
        svc.store.check()
        free = svc.store.free_bytes()
    except Exception as exc:
        return _failed(outages.STORAGE, exc)
    outages.OUTAGES.works(outages.STORAGE)
    floor_mb = svc.settings.min_free_mb
    if free is not None and free < floor_mb * MB:
        low = f"low free space ({free // MB} MB free, {floor_mb} MB needed)"
        # Logged once until the space is back, like an outage: probes come every few seconds.
        outages.OUTAGES.seen(LOW_SPACE, f"DIEMTUA_MIN_FREE_MB: {low}")
        return f"failed: {low}"
    outages.OUTAGES.works(LOW_SPACE)
    return "ok"
