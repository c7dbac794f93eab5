"""The registry's downloads: the commune's merged children list as CSV and XLSX
(`exports.children_export`, docs/reports.md).

`GET …/registry/children.csv` and `…/children.xlsx` take the children list's filters
(`server.registry.children_query.parse_filters`: village, category, flag, status, q,
reportedFrom, reportedTo, sex, ageGroup, support, care, special) and `lang=vi|en`; the CSV also
`bom=true` (a UTF-8 byte order mark, for older Excel) and `raw=true` (cells exactly as stored,
for programs). They need `registry.read` and `registry.export` (manager, cp_officer in full;
health_reviewer and commune_leader redacted; docs/privacy.md §3): 403 without, 404 for a
project that does not exist.

The body streams after the request: the generator opens its own read-only snapshot
(`Database.read_snapshot`), so every page of children comes from one registry even while a
sync commits, and the request's session is long closed. In that snapshot it first counts the
rows and writes the export's audit row (`record_registry_export`: who, filters, row count,
full or redacted) in a unit of work of its own, committed before the first child leaves the
server: the count is exact, and no export goes unlogged. On PostgreSQL the CSV is written by
the database and relayed as it comes (`exports.children_csv_sql`). The XLSX is written to a
temporary file (a zip cannot be streamed before it is complete), then sent in chunks and
deleted; its headers go out at once so the browser shows the download while the file is made.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Response, request
from flask_restx import Namespace, Resource
from sqlalchemy.orm import Session

from exports import children_export as export
from exports.children_csv_sql import children_csv
from exports.registry_rows import ChildRow, count_children, iter_child_rows
from server import problems
from server.api.v1.openapi import documented
from server.api.v1.registry_common import BASE
from server.auth import permissions
from server.auth.principal import Principal
from server.context import db, services
from server.db import Database, utcnow
from server.httputil import RAW_PARAMETER, attachment_disposition, raw_requested
from server.operations.audit_records import record_registry_export
from server.operations.projects import get_project
from server.registry.access import RegistryAccess
from server.registry.children_query import (
    VIETNAM,
    ChildFilters,
    InvalidFilter,
    children_query,
    parse_filters,
)
from server.route_access import caller

ns = Namespace("registry_exports", description="The registry's children list as a file "
               "(CSV, XLSX) for officers", path="/")

PARAMS = {
    "village": "village code", "category": "has an open episode of this code",
    "flag": "has an unclosed flag: `true`, or a kind", "status": "active, moved_away or died",
    "q": "part of the name, marks and case ignored",
    "reportedFrom": "first reported on or after this day (YYYY-MM-DD, Vietnam)",
    "reportedTo": "first reported on or before this day (YYYY-MM-DD, Vietnam)",
    "lang": "headers and labels: vi (default) or en",
}
CSV_PARAMS = {**PARAMS, "bom": "`true`: start with a UTF-8 byte order mark (older Excel)",
              RAW_PARAMETER: "`true`: cells exactly as stored, formulas included (programs)"}


@dataclass(frozen=True)
class ChildrenExport:
    """One download, as the request decided it: everything the streamed body needs, since
    it runs after the request (no `flask.g`, no request session)."""

    database: Database
    who: Principal
    project_id: int
    access: RegistryAccess
    filters: ChildFilters
    layout: export.ChildrenLayout
    about: export.About

    @property
    def redacted(self) -> bool:
        return self.about.redacted

    def _audit(self, session: Session, output: str) -> None:
        """Count the rows in the export's snapshot and commit its audit row, before the first
        child leaves the server."""
        query = children_query(self.project_id, self.access, self.filters, self.layout.today)
        total = count_children(session, query)
        with self.database.unit_of_work() as audit_session:
            record_registry_export(audit_session, self.who, self.project_id, "children",
                                   format=output, rows=total, redacted=self.redacted,
                                   filters=self.filters.as_dict())

    def rows(self, output: str) -> Iterator[ChildRow]:
        """The children from one snapshot, once the export's audit row is committed."""
        with self.database.read_snapshot() as session:
            self._audit(session, output)
            yield from iter_child_rows(session, self.project_id, self.access, self.filters,
                                       self.layout.today)

    def csv(self, *, bom: bool, raw: bool) -> Iterator[bytes]:
        """The CSV from one snapshot, once the audit row is committed (written by PostgreSQL
        itself there: `exports.children_csv_sql`)."""
        with self.database.read_snapshot() as session:
            self._audit(session, "csv")
            yield from children_csv(session, self.project_id, self.access, self.filters,
                                    self.layout, bom=bom, raw=raw)


def _exported_by(who: Principal) -> str:
    """Name and email, as the first sheet names who made the file."""
    name = who.actor.display_name if who.actor else ""
    email = who.user.email if who.user else ""
    return f"{name} <{email}>" if name and email else name or email


def _start(project_id: int) -> ChildrenExport:
    """Check the caller and read the query string, before anything is sent."""
    who, page_access = caller(project_id)
    permissions.require(who, permissions.REGISTRY_EXPORT, project_id)
    access = page_access.for_outputs()  # full, or no sensitive category at all
    try:
        filters = parse_filters(request.args)
    except InvalidFilter as exc:
        raise problems.unexpected_value(exc.name, exc.reason) from None
    language = request.args.get("lang", "") or "vi"
    try:
        today = datetime.now(VIETNAM).date()
        layout = export.ChildrenLayout.for_caller(access, language, today)
    except export.UnknownLanguage as exc:
        raise problems.unexpected_value("lang", str(exc)) from None
    project = get_project(db(), project_id)
    about = export.About(project.name, _exported_by(who), utcnow(), filters,
                         export.is_redacted(access))
    return ChildrenExport(services().database, who, project_id, access, filters, layout, about)


def _download(body: Iterator[bytes], content_type: str, name: str) -> Response:
    return Response(body, content_type=content_type, headers={
        "Content-Disposition": attachment_disposition(name), "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})


def _flag(name: str) -> bool:
    return raw_requested(request.args.get(name))


def _xlsx_body(job: ChildrenExport) -> Iterator[bytes]:
    yield b""  # the headers, now: the file takes a while to write
    handle, path = tempfile.mkstemp(prefix="diemtua-children-", suffix=".xlsx")
    os.close(handle)
    try:
        export.write_xlsx(path, job.rows("xlsx"), job.layout, job.about)
        with open(path, "rb") as written:
            while chunk := written.read(export.CHUNK_BYTES):
                yield chunk
    finally:
        os.unlink(path)


@ns.route(f"{BASE}/children.csv")
class ChildrenCsv(Resource):
    @documented(produces=("text/csv",))
    @ns.doc(params=CSV_PARAMS)
    def get(self, project_id: int) -> Any:
        """The children list (filters as the list's) as CSV, UTF-8; audited."""
        job = _start(project_id)
        body = job.csv(bom=_flag("bom"), raw=_flag(RAW_PARAMETER))
        return _download(body, export.CSV_TYPE,
                         export.file_name(job.about.project, job.layout.today, "csv"))


@ns.route(f"{BASE}/children.xlsx")
class ChildrenXlsx(Resource):
    @documented(produces=(export.XLSX_TYPE,))
    @ns.doc(params=PARAMS)
    def get(self, project_id: int) -> Any:
        """The children list (filters as the list's) as XLSX: a sheet saying who exported
        what, then the children, typed cells; audited."""
        job = _start(project_id)
        return _download(_xlsx_body(job), export.XLSX_TYPE,
                         export.file_name(job.about.project, job.layout.today, "xlsx"))
