"""The officers' reports over HTTP (docs/reports.md): JSON, or an XLSX file, of one report.

* `GET /v1/projects/{id}/registry/reports` — the reports this caller may have: name, title in
  Vietnamese and English, formats;
* `GET /v1/projects/{id}/registry/reports/{name}` — the report as JSON;
* `GET /v1/projects/{id}/registry/reports/{name}.xlsx` — the same report as a workbook, its
  first sheet "Thông tin" saying who made it, when, of what, full or redacted.

Query: `period` (`2026`, `2026-H2`, `2026-Q4`; default the current quarter, Vietnamese
calendar), `lang` (`vi`, default, or `en`), and the children list's filters (`village`,
`category`, `sex`, `ageGroup`, …, `server.registry.children_query`) where a report lists
children. A report needs `registry.read` and `registry.export`; the `audit` report also
`registry.read_sensitive` in every village (403 otherwise). The report reads one consistent
registry (`Database.read_snapshot`) while phones keep submitting; the workbook is written to
a temporary file, streamed, and deleted. Each one writes a `registry.export` audit row.

Thin: the reports are `exports.reports`, plain Python the CLI (`diemtua report`) calls too.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from flask import Response, request
from flask_restx import Namespace, Resource

from exports.periods import InvalidPeriod, Period, current_quarter, parse_period
from exports.reports import ReportContext, ReportResult, build_report, report_names
from exports.reports.audit_report import AuditReportRefused, may_read
from exports.reports.presentation import (
    FORMATS,
    LANGUAGES,
    TITLES,
    envelope,
    write_xlsx,
)
from server import problems
from server.api.v1 import shapes
from server.api.v1.openapi import documented
from server.api.v1.registry_common import BASE
from server.auth import permissions
from server.auth.principal import Principal
from server.context import api_base, db, services
from server.db import utcnow
from server.operations.audit_records import record_registry_export
from server.registry.access import RegistryAccess
from server.registry.children_query import VIETNAM, InvalidFilter, parse_filters
from server.route_access import acting_user, readable_project

ns = Namespace("registry_reports", description="The officers' reports on the registry: "
               "new children, the list by category, indicators, the national list, data "
               "quality, the sensitive-records log", path="/")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 1 << 16
PARAMS = {"period": "2026, 2026-H2 or 2026-Q4 (default: the current quarter, UTC+7)",
          "lang": "vi (default) or en", "village": "village code", "category": "category code",
          "sex": "M, F or U", "ageGroup": "0-6, 6-11, 11-16, 16-18 or 16-22"}


def _reporter(project_id: int) -> tuple[Principal, str, RegistryAccess]:
    """The caller, the project's name and its registry access: 401/403 without
    `registry.read` and `registry.export`, 404 for a project that does not exist."""
    who = acting_user()
    project = readable_project(who, project_id, permissions.REGISTRY_READ)
    permissions.require(who, permissions.REGISTRY_EXPORT, project_id)
    return who, project.name, RegistryAccess.of(who, project_id).for_outputs()


def _period() -> Period:
    text = (request.args.get("period") or "").strip()
    try:
        return parse_period(text) if text else current_quarter()
    except InvalidPeriod as exc:
        raise problems.unexpected_value("period", str(exc)) from None


def _language() -> str:
    language = (request.args.get("lang") or "vi").strip().lower()
    if language not in LANGUAGES:
        raise problems.unexpected_value("lang", "it must be vi or en")
    return language


def _context(session: Any, project_id: int, project_name: str, who: Principal,
             access: RegistryAccess) -> ReportContext:
    try:
        filters = parse_filters(request.args)
    except InvalidFilter as exc:
        raise problems.unexpected_value(exc.name, exc.reason) from None
    return ReportContext(
        session=session, project_id=project_id, project_name=project_name, principal=who,
        access=access, redacted=not access.sees_everything, period=_period(),
        today=datetime.now(VIETNAM).date(), now=utcnow(), language=_language(),
        filters=filters, base_url=api_base())


def _audited(who: Principal, context: ReportContext, result: ReportResult, fmt: str) -> None:
    record_registry_export(
        db(), who, context.project_id, f"report:{result.name}", format=fmt, rows=result.rows,
        redacted=context.redacted,
        filters={**context.filters.as_dict(), "period": context.period.name,
                 "lang": context.language})


def _report(project_id: int, name: str, fmt: str) -> Any:
    """Build `name` for the caller in a read snapshot; the JSON answer or the XLSX file."""
    who, project_name, access = _reporter(project_id)
    if name not in report_names():
        raise problems.not_found()
    with services().database.read_snapshot() as session:
        context = _context(session, project_id, project_name, who, access)
        try:
            result = build_report(name, context)
        except AuditReportRefused:
            raise problems.insufficient_rights() from None
        answer = envelope(context, result) if fmt == "json" else _workbook(context, result)
    _audited(who, context, result, fmt)
    return answer


def _workbook(context: ReportContext, result: ReportResult) -> Response:
    spool: IO[bytes] = tempfile.TemporaryFile(suffix=".xlsx")
    try:
        write_xlsx(spool, context, result)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    filename = f"{result.name}-{context.period.name}.xlsx"
    return Response(_chunks(spool), mimetype=XLSX, direct_passthrough=True, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Content-Length": str(size)})


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    """The file, then it is gone (a temporary file has no name to delete)."""
    try:
        while block := spool.read(CHUNK):
            yield block
    finally:
        spool.close()


@ns.route(f"{BASE}/reports")
class ReportList(Resource):
    @documented(shapes.ReportListing(many=True))
    def get(self, project_id: int) -> list[dict[str, Any]]:
        """The reports this caller may have, with their titles and formats."""
        _who, _name, access = _reporter(project_id)
        return [{"name": name, "title": dict(zip(LANGUAGES, TITLES.get(name, (name, name)),
                                                 strict=True)),
                 "formats": list(FORMATS)}
                for name in report_names() if name != "audit" or may_read(access)]


@ns.route(f"{BASE}/reports/<string:name>")
class ReportJson(Resource):
    @documented(shapes.Report)
    @ns.doc(params=PARAMS)
    def get(self, project_id: int, name: str) -> Any:
        """One report as JSON (404 for a name that is no report)."""
        return _report(project_id, name, "json")


@ns.route(f"{BASE}/reports/<string:name>.xlsx")
class ReportXlsx(Resource):
    @documented(produces=(XLSX,))
    @ns.doc(params=PARAMS)
    def get(self, project_id: int, name: str) -> Any:
        """One report as an XLSX workbook."""
        return _report(project_id, name, "xlsx")
