"""`POST /v1/projects/<p>/registry/imports`: a commune's children list into the registry.

The body is the file itself (``text/csv`` or the XLSX type; pyodk-style raw upload) or a
multipart form with the file in ``file`` (any file field will do). Query: ``source`` (the list's
name for rows whose own ``source`` is empty; default the uploaded file's name, else ``import``),
``createVillages=true``, ``dryRun=true``. The answer is the import report
(`ImportReport.as_json`): counts and one entry per row. A file refused whole is 400.1 with the
reason; refused rows are in the report, not errors.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from flask import request
from flask_restx import Namespace, Resource

from server import problems
from server.api.v1.common import acting_user, audit, flag, store
from server.api.v1.projects import readable_project
from server.auth import permissions
from server.context import db
from server.registry.importer import FileRefused, Outcome, import_file

ns = Namespace("registry_import", description="Import children lists kept in Excel", path="/")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Browsers and Windows label CSV files inconsistently (application/vnd.ms-excel for .csv):
# the file's own bytes decide the format, the type only keeps clearly wrong bodies out.
ACCEPTED_TYPES = frozenset({"text/csv", "text/plain", XLSX, "application/vnd.ms-excel",
                            "application/octet-stream", "multipart/form-data"})


def _upload() -> tuple[bytes, str]:
    """The file's bytes and a default source name (the uploaded file's name, if any)."""
    content_type = (request.mimetype or "").lower()
    if content_type not in ACCEPTED_TYPES:
        raise problems.invalid_header("Content-Type", request.content_type)
    if content_type == "multipart/form-data":
        upload = request.files.get("file") or next(iter(request.files.values()), None)
        if upload is None:
            raise problems.missing_multipart_field("file")
        return upload.read(), PurePath(upload.filename or "").stem
    return request.get_data(cache=False), ""


@ns.route("/projects/<int:project_id>/registry/imports")
class RegistryImports(Resource):
    def post(self, project_id: int) -> dict[str, Any]:
        """Import a CSV or XLSX children list with the same matching as phone submissions."""
        who = acting_user()
        readable_project(who, project_id, permissions.REGISTRY_IMPORT)
        data, file_stem = _upload()
        source = (request.args.get("source") or "").strip() or file_stem or "import"
        dry_run = flag("dryRun")
        try:
            report = import_file(
                db(), project_id, data, source=source, create_villages=flag("createVillages"),
                dry_run=dry_run, store=store(),
                allowed_villages=permissions.villages_for(who, permissions.REGISTRY_IMPORT,
                                                          project_id))
        except FileRefused as exc:
            raise problems.unparseable("children list", str(exc)) from exc
        if not dry_run:
            audit(who, "registry.import", f"project:{project_id}",
                  {"source": source, "counts": {o.value: report.count(o) for o in Outcome},
                   "villagesCreated": report.villages_created})
        return {"projectId": project_id, "source": source, **report.as_json()}
