"""Data out of the server: Central's CSV exports and the OData feed of a form's submissions
(Central: lib/resources/submissions.js `dataOutputs`, lib/resources/odata.js).

Routes stay thin: they check rights, read the query string, and hand plain values to
`exports/`. Long outputs are generators that read the database in their own short
transactions, since the request's session is closed before the body is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

from flask import Response, request
from flask_restx import Namespace, Resource

from exports import csv_export, edmx, odata_feed, odata_query, source
from exports.odata_filter import QueryError, mentions_deleted, parse_filter
from exports.schema import FormSchema, form_schema
from server import context, problems
from server.api.v1.submissions import FORM, form_for
from server.httputil import attachment_disposition
from server.models import Audit, Form, FormDef, Submission

ns = Namespace("odata", description="CSV exports and the OData feed of a form's submissions",
               path="/")

ODATA_JSON = "application/json; charset=utf-8; odata.metadata=minimal"
ODATA_HEADERS = {"OData-Version": "4.0"}


def _published_schema(form: Form) -> FormSchema:
    """The fields of the published version; a form never published has no data to show."""
    form_def = context.db().get(FormDef, form.current_def_id) if form.current_def_id else None
    if form_def is None:
        raise problems.not_found()
    return form_schema(form_def.xml)


def _problem(error: QueryError) -> problems.Problem:
    return problems.Problem(error.code, str(error))


def _start_export(project_id: int, xml_form_id: str) -> tuple[Form, FormSchema]:
    """Check rights and write Central's `form.submission.export` audit row."""
    form = form_for(project_id, xml_form_id, "submission.read")
    schema = _published_schema(form)
    context.db().add(Audit(actor_id=context.principal().actor_id,
                           action="form.submission.export", actee=f"form:{form.id}",
                           details={"xmlFormId": form.xml_form_id}))
    return form, schema


def _export_rows(form: Form) -> Iterator[source.ExportRow]:
    return source.iter_rows(context.services().database.sessions, form.id)


def _stream(body: Iterator[bytes], content_type: str, filename: str) -> Response:
    # The body is read after the request's unit of work has committed (the export's audit
    # row with it) and closed: the generators open their own sessions.
    return Response(body, content_type=content_type,
                    headers={"Content-Disposition": attachment_disposition(filename)})


@ns.route(f"{FORM}/submissions.csv.zip")
class CsvZipExport(Resource):
    def get(self, project_id: int, xml_form_id: str) -> Response:
        """All tables in a zip; received files under `media/` unless `attachments=false`."""
        form, schema = _start_export(project_id, xml_form_id)
        store = context.services().store
        with_media = request.args.get("attachments", "").lower() != "false"
        media = (source.iter_media(context.services().database.sessions, form.id)
                 if with_media else ())
        body = csv_export.zip_stream(schema, form.xml_form_id, _export_rows(form), media,
                                     store.open if with_media else None)
        return _stream(body, "application/zip",
                       f"{csv_export.safe_file_name(form.xml_form_id)}.zip")


@ns.route(f"{FORM}/submissions.csv")
class CsvExport(Resource):
    def get(self, project_id: int, xml_form_id: str) -> Response:
        """The main table alone, as plain CSV."""
        form, schema = _start_export(project_id, xml_form_id)
        body = csv_export.csv_stream(schema, form.xml_form_id, _export_rows(form))
        return _stream(body, "text/csv; charset=utf-8",
                       f"{csv_export.safe_file_name(form.xml_form_id)}.csv")


def _service_root(project_id: int, xml_form_id: str) -> str:
    return f"{context.public_base()}/v1/projects/{project_id}/forms/{xml_form_id}.svc"


def _odata_response(body: Any) -> Response:
    response = Response(body, content_type=ODATA_JSON)
    response.headers.update(ODATA_HEADERS)
    return response


@ns.route(f"{FORM}.svc")
class ServiceDocument(Resource):
    def get(self, project_id: int, xml_form_id: str) -> Response:
        form = form_for(project_id, xml_form_id, "submission.read")
        document = edmx.service_document(
            _published_schema(form), f"{_service_root(project_id, xml_form_id)}/$metadata")
        return _odata_response(odata_feed.encode(document))


@ns.route(f"{FORM}.svc/$metadata")
class Metadata(Resource):
    def get(self, project_id: int, xml_form_id: str) -> Response:
        form = form_for(project_id, xml_form_id, "submission.read")
        document = edmx.metadata_document(_published_schema(form), form.xml_form_id)
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

    def __init__(self, form: Form, path: str) -> None:
        self.form = form
        self.schema = _published_schema(form)
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
        found = (source.cursor_for(context.db(), self.form.id, instance_id)
                 if isinstance(instance_id, str) else None)
        if found is None:
            raise problems.Problem("400.34", "Record associated with the provided $skiptoken "
                                   "not found.")
        return found

    def rows(self, **paging: Any) -> Iterator[source.ExportRow]:
        return source.iter_rows(context.services().database.sessions, self.form.id,
                                where=self.where, include_deleted=self.include_deleted,
                                **paging)


def _submissions_table(query: _Query) -> Response:
    paging = query.paging
    count = (source.count_rows(context.db(), query.form.id, query.where, query.include_deleted)
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
                              where=Submission.instance_id == instance_id, limit=1)
    if not found:
        raise problems.not_found()
    return _odata_response(odata_feed.single_feed(
        found[0], query.schema, query.table, query.path.within, query.options, query.links,
        query.paging))


@ns.route(f"{FORM}.svc/<path:table>")
class Table(Resource):
    def get(self, project_id: int, xml_form_id: str, table: str) -> Response:
        """`Submissions` or a repeat table `Submissions.<repeat>` ($top, $skip, $skiptoken,
        $count, $filter, $select, $expand=*, $wkt), or a navigation link's target."""
        form = form_for(project_id, xml_form_id, "submission.read")
        query = _Query(form, table)
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
