"""Data out of the server: Central's CSV exports and the OData feed of a form's submissions
(Central: lib/resources/submissions.js `dataOutputs`, lib/resources/odata.js), and ours, the
same tables as a workbook for people (`submissions.xlsx`).

Routes stay thin: they check rights, read the query string, and hand plain values to
`exports/`. Long outputs are generators that read the database in their own short
transactions, since the request's session is closed before the body is sent.

Every output asks the one access rule (`server.auth.visibility`, docs/access.md): rows only of
the caller's villages, and the fields hidden from the caller absent from the schema that every
output walks — CSV columns, XLSX columns, OData properties and `$metadata` alike.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from flask import Response, request
from flask_restx import Namespace, Resource
from sqlalchemy import ColumnElement, and_

from exports import csv_export, edmx, odata_feed, odata_query, source, xlsx_submissions
from exports.form_labels import DEFAULT_LANGUAGE, LANGUAGES
from exports.odata_filter import QueryError, mentions_deleted, parse_filter
from exports.schema import FormSchema, form_schema
from server import context, problems
from server.api.v1 import shapes
from server.api.v1.openapi import documented
from server.api.v1.submissions import FORM, readable_form
from server.auth.visibility import DataView
from server.httputil import RAW_PARAMETER, attachment_disposition, raw_requested
from server.models import Audit, Form, FormDef, Project, Submission, SubmissionDef
from server.operations import visible_data
from server.operations.form_words import labels_of

ns = Namespace("odata", description="CSV and XLSX exports and the OData feed of a form's "
                                    "submissions", path="/")

ODATA_JSON = "application/json; charset=utf-8; odata.metadata=minimal"
ODATA_HEADERS = {"OData-Version": "4.0"}


@dataclass(frozen=True)
class Readable:
    """A form's data as one caller may read it: the published version's fields without those
    hidden from the caller, and the villages whose rows it reads."""

    form: Form
    form_def: FormDef
    view: DataView
    schema: FormSchema

    def where(self, extra: ColumnElement[bool] | None = None) -> ColumnElement[bool]:
        clause = visible_data.village_clause(self.view)
        return clause if extra is None else and_(clause, extra)


def _readable(project_id: int, xml_form_id: str) -> Readable:
    """The form, once the caller may read its submissions; a form never published has no
    data to show."""
    form, view = readable_form(project_id, xml_form_id)
    db = context.db()
    form_def = db.get(FormDef, form.current_def_id) if form.current_def_id else None
    if form_def is None:
        raise problems.not_found()
    schema = visible_data.export_schema(db, form, form_def, form_schema(form_def.xml), view)
    return Readable(form, form_def, view, schema)


def _problem(error: QueryError) -> problems.Problem:
    return problems.Problem(error.code, str(error))


def _start_export(project_id: int, xml_form_id: str, output: str) -> Readable:
    """Check rights and write Central's `form.submission.export` audit row, with what was
    exported to whom: the rows, the villages, whether fields were left out."""
    readable = _readable(project_id, xml_form_id)
    view = readable.view
    rows = source.count_rows(context.db(), readable.form.id, readable.where())
    context.db().add(Audit(
        actor_id=context.principal().actor_id, action="form.submission.export",
        actee=f"form:{readable.form.id}",
        details={"xmlFormId": readable.form.xml_form_id, "output": output, "rows": rows,
                 "filters": dict(request.args.items()),
                 "villages": None if view.villages.codes is None else sorted(view.villages.codes),
                 "redacted": not view.sees_every_field}))
    return readable


def _export_rows(readable: Readable) -> Iterator[source.ExportRow]:
    return source.iter_rows(context.services().database.sessions, readable.form.id,
                            where=readable.where())


def _visible_media(readable: Readable) -> Iterator[source.MediaFile]:
    """The received files of the rows exported, without those the caller may not have."""
    sessions = context.services().database.sessions
    media = source.iter_media(sessions, readable.form.id, readable.where())
    if readable.view.sees_every_field:
        return media
    db = context.db()
    hidden = visible_data.hidden_files(db, readable.form, readable.form_def, readable.view)
    paths = readable.view.hidden_paths(
        visible_data.form_policy(db, readable.form, readable.form_def))
    return _without_hidden(media, hidden, paths, sessions)


def _without_hidden(media: Iterable[source.MediaFile], hidden: visible_data.HiddenFiles,
                    paths: frozenset[str], sessions: source.SessionFactory
                    ) -> Iterator[source.MediaFile]:
    """Files left out for a redacted caller: the client audit log, and files named only in
    hidden fields (read from each version's XML, once per version). Runs while the body
    streams, after the request: it opens its own sessions."""
    named: dict[int, frozenset[str]] = {}
    for item in media:
        if item.is_client_audit:
            if not hidden.hides_client_audit:
                yield item
            continue
        if hidden.hidden_binary_paths:
            if item.submission_def_id not in named:
                with sessions() as db:
                    xml = db.get_one(SubmissionDef, item.submission_def_id).xml
                named[item.submission_def_id] = visible_data.names_still_referenced(xml, paths)
            if item.name not in named[item.submission_def_id]:
                continue
        yield item


def _neutralise() -> bool:
    """Cells that would start a spreadsheet formula are quoted unless `?raw=true` asks for
    Central's bytes (machine clients; README "Limits and headers")."""
    return not raw_requested(request.args.get(RAW_PARAMETER))


def _stream(body: Iterator[bytes], content_type: str, filename: str) -> Response:
    # The body is read after the request's unit of work has committed (the export's audit
    # row with it) and closed: the generators open their own sessions.
    return Response(body, content_type=content_type,
                    headers={"Content-Disposition": attachment_disposition(filename)})


@ns.route(f"{FORM}/submissions.csv.zip")
class CsvZipExport(Resource):
    @documented(produces=("application/zip",))
    def get(self, project_id: int, xml_form_id: str) -> Response:
        """All tables in a zip; received files under `media/` unless `attachments=false`."""
        readable = _start_export(project_id, xml_form_id, "csv.zip")
        form = readable.form
        store = context.services().store
        with_media = request.args.get("attachments", "").lower() != "false"
        media: Iterable[source.MediaFile] = _visible_media(readable) if with_media else ()
        body = csv_export.zip_stream(readable.schema, form.xml_form_id, _export_rows(readable),
                                     media, store.open if with_media else None,
                                     neutralise=_neutralise())
        return _stream(body, "application/zip",
                       f"{csv_export.safe_file_name(form.xml_form_id)}.zip")


@ns.route(f"{FORM}/submissions.csv")
class CsvExport(Resource):
    @documented(produces=("text/csv",))
    def get(self, project_id: int, xml_form_id: str) -> Response:
        """The main table alone, as plain CSV."""
        readable = _start_export(project_id, xml_form_id, "csv")
        form = readable.form
        body = csv_export.csv_stream(readable.schema, form.xml_form_id, _export_rows(readable),
                                     neutralise=_neutralise())
        return _stream(body, "text/csv; charset=utf-8",
                       f"{csv_export.safe_file_name(form.xml_form_id)}.csv")


def _label_language() -> str:
    wanted = request.args.get("lang", DEFAULT_LANGUAGE)
    if wanted not in LANGUAGES:
        raise problems.unexpected_value("lang", f"expected one of {', '.join(LANGUAGES)}")
    return wanted


def _export_info(readable: Readable, language: str) -> xlsx_submissions.ExportInfo:
    form, form_def, view = readable.form, readable.form_def, readable.view
    actor = context.principal().actor
    project = context.db().get_one(Project, form.project_id)
    return xlsx_submissions.ExportInfo(
        exported_by=actor.display_name if actor is not None else "",
        exported_at=datetime.now(UTC), project_name=project.name,
        form_id=form.xml_form_id, form_title=form_def.name or "", form_version=form_def.version,
        language=language, redacted=not view.sees_every_field, villages=view.villages.codes,
        form_url=f"{context.public_base()}/v1/projects/{form.project_id}/forms/"
                 f"{quote(form.xml_form_id, safe='')}")


@ns.route(f"{FORM}/submissions.xlsx")
class XlsxExport(Resource):
    @documented(produces=(xlsx_submissions.XLSX_TYPE,))
    @ns.doc(params={"lang": "labels in `vi` (default) or `en`"})
    def get(self, project_id: int, xml_form_id: str) -> Response:
        """Every table as a sheet, headed by the questions' labels, after a sheet saying who
        exported what and when (exports/xlsx_submissions.py)."""
        language = _label_language()
        readable = _start_export(project_id, xml_form_id, "xlsx")
        labels = labels_of(context.db(), context.services().store, readable.form_def,
                           language)
        body = xlsx_submissions.xlsx_stream(readable.schema, labels,
                                            _export_info(readable, language),
                                            _export_rows(readable))
        # The headers leave now; the workbook is written before its first byte can.
        return _stream(itertools.chain([b""], body), xlsx_submissions.XLSX_TYPE,
                       f"{csv_export.safe_file_name(readable.form.xml_form_id)}.xlsx")


def _service_root(project_id: int, xml_form_id: str) -> str:
    return f"{context.public_base()}/v1/projects/{project_id}/forms/{xml_form_id}.svc"


def _odata_response(body: Any) -> Response:
    response = Response(body, content_type=ODATA_JSON)
    response.headers.update(ODATA_HEADERS)
    return response


@ns.route(f"{FORM}.svc")
class ServiceDocument(Resource):
    @documented(shapes.ODataDocument)
    def get(self, project_id: int, xml_form_id: str) -> Response:
        """The OData service document: the form's tables (Central's feed for Power BI, Excel)."""
        readable = _readable(project_id, xml_form_id)
        document = edmx.service_document(
            readable.schema, f"{_service_root(project_id, xml_form_id)}/$metadata")
        return _odata_response(odata_feed.encode(document))


@ns.route(f"{FORM}.svc/$metadata")
class Metadata(Resource):
    @documented(produces=("application/xml",))
    def get(self, project_id: int, xml_form_id: str) -> Response:
        """The OData metadata document (EDMX): the form's tables and their columns."""
        readable = _readable(project_id, xml_form_id)
        document = edmx.metadata_document(readable.schema, readable.form.xml_form_id)
        response = Response(document.encode("utf-8"), content_type="application/xml")
        response.headers.update(ODATA_HEADERS)
        return response


def _next_link_maker() -> Callable[[str], str]:
    """The request's own URL with `$skip` dropped and `$skiptoken` set (Central's nextLink),
    made now: the link is written at the end of a body streamed after the request is gone."""
    url = f"{context.public_base()}{request.path}"
    params = [(k, v) for k, v in request.args.items(multi=True)
              if k not in {"$skip", "$skiptoken"}]
    return lambda token: f"{url}?{urlencode([*params, ('$skiptoken', token)])}"


class _Query:
    """What one OData table request asks for, checked before any byte is sent."""

    def __init__(self, readable: Readable, path: str) -> None:
        form = self.form = readable.form
        self.readable = readable
        self.schema = readable.schema
        try:
            self.path = odata_query.parse_table_path(path)
            self.table = odata_query.resolve_table(self.schema, self.path.table)
            self.options = odata_query.row_options(self.schema, self.table, request.args)
            self.paging = odata_query.paging(request.args)
            expression = request.args.get("$filter")
            self.where = parse_filter(expression)
        except QueryError as exc:
            raise _problem(exc) from exc
        self.include_deleted = mentions_deleted(expression)
        self.links = odata_feed.FeedLinks(
            context=f"{_service_root(form.project_id, form.xml_form_id)}/$metadata"
                    f"#{self.path.table}",
            next_link=_next_link_maker())

    def cursor(self) -> source.Cursor | None:
        token = self.paging.skiptoken
        if token is None:
            return None
        instance_id = token.get("instanceId")
        found = (source.cursor_for(context.db(), self.form.id, instance_id,
                                   self.readable.where())
                 if isinstance(instance_id, str) else None)
        if found is None:
            raise problems.Problem("400.34", "Record associated with the provided $skiptoken "
                                   "not found.")
        return found

    def rows(self, **paging: Any) -> Iterator[source.ExportRow]:
        return source.iter_rows(context.services().database.sessions, self.form.id,
                                where=self.readable.where(self.where),
                                include_deleted=self.include_deleted, **paging)


def _submissions_table(query: _Query) -> Response:
    paging = query.paging
    count = (source.count_rows(context.db(), query.form.id, query.readable.where(query.where),
                               query.include_deleted)
             if paging.count else None)
    limit = None if paging.top is None else paging.top + 1
    rows = query.rows(after=query.cursor(), offset=paging.skip, limit=limit)
    body = odata_feed.submissions_feed(rows, query.schema, query.options, query.links,
                                       paging.top, count)
    return _odata_response(body)


def _single_record(query: _Query) -> Response:
    """A navigation link's target: one submission's rows of a table."""
    instance_id = query.path.instance_id
    assert instance_id is not None
    found = source.fetch_page(context.db(), query.form.id,
                              where=query.readable.where(Submission.instance_id == instance_id),
                              limit=1)
    if not found:
        raise problems.not_found()
    return _odata_response(odata_feed.single_feed(
        found[0], query.schema, query.table, query.path.within, query.options, query.links,
        query.paging))


@ns.route(f"{FORM}.svc/<path:table>")
class Table(Resource):
    @documented(shapes.ODataDocument)
    def get(self, project_id: int, xml_form_id: str, table: str) -> Response:
        """`Submissions` or a repeat table `Submissions.<repeat>` ($top, $skip, $skiptoken,
        $count, $filter, $select, $expand=*, $wkt), or a navigation link's target."""
        query = _Query(_readable(project_id, xml_form_id), table)
        try:
            if query.path.instance_id is not None:
                return _single_record(query)
            if query.table is None:
                return _submissions_table(query)
            # A repeat table is read now, in short transactions of its own; on SQLite this
            # request's open transaction would hold the lock they wait for.
            context.db().commit()
            body = odata_feed.repeat_feed(query.rows(), query.schema, query.table,
                                          query.options, query.links, query.paging)
        except QueryError as exc:
            raise _problem(exc) from exc
        return _odata_response(body)
