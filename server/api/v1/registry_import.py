"""`POST /v1/projects/<p>/registry/imports`: a commune's children list into the registry.

The body is the file itself (``text/csv`` or the XLSX type; pyodk-style raw upload) or a
multipart form with the file in ``file`` (any file field will do). Query: ``source`` (the list's
name for rows whose own ``source`` is empty; default the uploaded file's name, else ``import``),
``createVillages=true``, ``dryRun=true``. The answer is the import report
(`ImportReport.as_json`): counts and one entry per row; a refused row has every problem found in
it in ``problems`` (``[{vi, en, column}]``), the first also as ``reasonVi`` / ``reason`` (the
report's shape before ``problems``); a row kept with doubtful fields lists them in ``doubtful``
(``[{field, value, reason, vi, en, column}]``, docs/registry.md "Doubtful fields"), and
``keptWithDoubts`` counts such rows. A file refused whole is 400.1 with the reason
(``details.reasonVi`` in Vietnamese); refused rows are in the report, not errors.

The body is copied to a temporary file as it arrives (memory only for the first MiB) and read
from there as a stream, within the limits of `server.registry.import_files`.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePath
from typing import IO, Any

from flask import request
from flask_restx import Namespace, Resource

from server import problems
from server.api.v1 import shapes
from server.api.v1.common import flag, store
from server.api.v1.openapi import documented
from server.auth import permissions
from server.context import db, services
from server.registry.importer import FileRefused, Outcome, import_file
from server.route_access import acting_user, audit, readable_project

ns = Namespace("registry_import", description="Import children lists kept in Excel", path="/")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Browsers and Windows label CSV files inconsistently (application/vnd.ms-excel for .csv):
# the file's own bytes decide the format, the type only keeps clearly wrong bodies out.
ACCEPTED_TYPES = frozenset({"text/csv", "text/plain", XLSX, "application/vnd.ms-excel",
                            "application/octet-stream", "multipart/form-data"})


SPOOL_IN_MEMORY = 1 << 20


@contextmanager
def _upload() -> Iterator[tuple[IO[bytes], str]]:
    """The file as a seekable stream, and a default source name (the uploaded file's name).

    A multipart file is already spooled by Werkzeug (to disk past 500 KB); a raw body is
    copied in chunks to a temporary file, never read into one bytes object.
    """
    content_type = (request.mimetype or "").lower()
    if content_type not in ACCEPTED_TYPES:
        raise problems.invalid_header("Content-Type", request.content_type)
    if content_type == "multipart/form-data":
        upload = request.files.get("file") or next(iter(request.files.values()), None)
        if upload is None:
            raise problems.missing_multipart_field("file")
        yield upload.stream, PurePath(upload.filename or "").stem
        return
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        shutil.copyfileobj(request.stream, spool, 1 << 16)
        spool.seek(0)
        yield spool, ""


@ns.route("/projects/<int:project_id>/registry/imports")
class RegistryImports(Resource):
    @documented(shapes.ImportReport, consumes=("text/csv", XLSX, "multipart/form-data"))
    def post(self, project_id: int) -> dict[str, Any]:
        """Import a CSV or XLSX children list with the same matching as phone submissions."""
        who = acting_user()
        readable_project(who, project_id, permissions.REGISTRY_IMPORT)
        dry_run = flag("dryRun")
        with _upload() as (file, file_stem):
            source = (request.args.get("source") or "").strip() or file_stem or "import"
            try:
                report = import_file(
                    db(), project_id, file, source=source,
                    create_villages=flag("createVillages"), dry_run=dry_run, store=store(),
                    allowed_villages=permissions.villages_for(who, permissions.REGISTRY_IMPORT,
                                                              project_id),
                    max_rows=services().settings.import_max_rows)
            except FileRefused as exc:
                problem = problems.unparseable("children list", str(exc))
                problem.details["reasonVi"] = exc.vi
                raise problem from exc
        if not dry_run:
            audit(who, "registry.import", f"project:{project_id}",
                  {"source": source, "counts": {o.value: report.count(o) for o in Outcome},
                   "villagesCreated": report.villages_created})
        return {"projectId": project_id, "source": source, **report.as_json()}
