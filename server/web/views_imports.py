"""Importing a children list kept in Excel (Nhập danh sách trẻ em): upload, preview, commit
(docs/pages.md; README "Importing the lists a commune already has").

The page runs the registry's own importer (`server.registry.importer.import_file`), the one
`POST /v1/projects/{id}/registry/imports` and `diemtua registry import` run, with the API's
checks: the verb `registry.import` and the caller's import villages (rows of other villages
refused). Three steps, each form answered with a redirect:

1. The upload is stored as a blob (`server.operations.blobs`) and imported as a dry run (the
   importer's savepoint, rolled back); the preview's report — every problem of every row, and
   what each valid row would become — is stored as a blob too.
2. The preview page reads that report. Its "import" form carries one signed token naming the
   upload by its SHA-256, the commune, the person, the list's name and the village option:
   signed with the server's secret key (`itsdangerous`), so a token of another commune or
   another person, or a digest typed by hand, is refused. Nothing parsed travels through the
   browser.
3. Committing reads the stored file again and imports it for real, with every check made
   again: what the preview said is never trusted. The result (counts and every refused row)
   is stored and shown like the preview, and audited as the API's import is.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Any, BinaryIO, cast

from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from server import problems
from server.auth import permissions
from server.auth.principal import Principal
from server.auth.visibility import VillageScope
from server.context import db, services
from server.models import Blob, Child, Project
from server.operations.blobs import store_blob
from server.operations.people import record_web_action
from server.operations.projects import get_project
from server.registry.child_code import format_code
from server.registry.import_rows import REQUIRED_COLUMNS, TEMPLATE_COLUMNS
from server.registry.importer import FileRefused, ImportReport, Outcome, import_file
from server.web import blueprint
from server.web.i18n import language, t
from server.web.views_people import FormError, commune_villages, web_caller

# A preview may be committed, and a result read, for a day: long enough to fix nothing and
# come back after lunch, short enough that an old link is no key.
TOKEN_AGE = 24 * 3600
_SALT = "diemtua.web.registry-import"
PLACED = (Outcome.CREATED, Outcome.LINKED, Outcome.QUEUED, Outcome.ALREADY_IMPORTED)


def _importer(project_id: int) -> tuple[Principal, Project]:
    """The person and the commune, once they may import (the API's `registry.import`)."""
    who = web_caller()
    project = get_project(db(), project_id)
    permissions.require(who, permissions.REGISTRY_IMPORT, project.id)
    return who, project


def _import_villages(who: Principal, project_id: int) -> VillageScope:
    return VillageScope(permissions.villages_for(who, permissions.REGISTRY_IMPORT, project_id))


# --- the signed token -------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _token(who: Principal, project_id: int, **values: Any) -> str:
    return _serializer().dumps({"p": project_id, "a": who.actor_id, **values})


def _payload(token: str, who: Principal, project_id: int) -> dict[str, Any]:
    """What a token says, once it is this server's, recent, and this person's in this
    commune (404 otherwise, as for a thing that is not theirs)."""
    try:
        payload = _serializer().loads(token, max_age=TOKEN_AGE)
    except SignatureExpired:
        raise FormError(400, t("imports.expired")) from None
    except BadSignature:
        raise FormError(400, t("imports.bad_token")) from None
    if not isinstance(payload, dict) or payload.get("p") != project_id \
            or payload.get("a") != who.actor_id:
        raise problems.not_found()
    return payload


# --- stored files -----------------------------------------------------------------------------


def _stored(sha256: str) -> Blob:
    blob = db().scalar(select(Blob).where(Blob.sha256 == sha256))
    if blob is None:
        raise problems.not_found()
    return blob


def _report_document(report: ImportReport | None, refused: FileRefused | None,
                     **about: Any) -> dict[str, Any]:
    """The report as the page shows it: the API's JSON (`ImportReport.as_json`) plus each
    row's name, or the reason the whole file was refused."""
    if report is None:
        assert refused is not None
        return {**about, "refusedFile": {"vi": refused.vi, "en": str(refused)},
                "counts": {}, "villagesCreated": [], "rows": []}
    document = report.as_json()
    for row, result in zip(document["rows"], report.results, strict=True):
        row["name"] = result.full_name
    return {**about, **document, "refusedFile": None}


def _store_document(document: dict[str, Any]) -> str:
    data = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return store_blob(db(), services().store, data, "application/json").sha256


def _run(who: Principal, project_id: int, file: IO[bytes], *, source: str,
         create_villages: bool, dry_run: bool) -> tuple[ImportReport | None, FileRefused | None]:
    file.seek(0)
    try:
        return import_file(
            db(), project_id, file, source=source, create_villages=create_villages,
            dry_run=dry_run, store=services().store,
            allowed_villages=permissions.villages_for(who, permissions.REGISTRY_IMPORT,
                                                      project_id),
            max_rows=services().settings.import_max_rows), None
    except FileRefused as refused:
        return None, refused


# --- the pages --------------------------------------------------------------------------------


def _upload_page(who: Principal, project: Project,
                 error: FormError | None = None) -> ResponseReturnValue:
    scope = _import_villages(who, project.id)
    villages = {code: name for code, name in commune_villages(project.id).items()
                if scope.covers(code)}
    return render_template(
        "web/imports.html", project=project, columns=TEMPLATE_COLUMNS,
        required=REQUIRED_COLUMNS, villages=villages, limited=scope.is_limited,
        error=error.message if error else None, form=request.form,
    ), error.status if error else 200


@blueprint.get("/ui/p/<int:project_id>/imports")
def imports(project_id: int) -> ResponseReturnValue:
    who, project = _importer(project_id)
    return _upload_page(who, project)


@blueprint.post("/ui/p/<int:project_id>/imports")
def import_upload(project_id: int) -> ResponseReturnValue:
    """Keep the file, run the import as a dry run, and show its preview."""
    who, project = _importer(project_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _upload_page(who, project, FormError(400, t("imports.choose_file")))
    file_name = PurePath(upload.filename).name
    source = request.form.get("source", "").strip() or PurePath(file_name).stem or "import"
    # As the API's `createVillages`: the importer refuses new villages to a person limited to
    # some (the form does not offer the box to them).
    create_villages = request.form.get("create_villages") == "yes"
    # Werkzeug's spooled upload is a binary file; its stub only says IO[bytes].
    kept = store_blob(db(), services().store, cast(BinaryIO, upload.stream), upload.mimetype)
    report, refused = _run(who, project.id, upload.stream, source=source,
                           create_villages=create_villages, dry_run=True)
    about = {"source": source, "fileName": file_name, "createVillages": create_villages}
    token = _token(who, project.id, u=kept.sha256, s=source, c=create_villages, n=file_name,
                   d=True, r=_store_document(_report_document(report, refused, **about)))
    return redirect(url_for("web.import_report", project_id=project.id, t=token), 303)


@blueprint.post("/ui/p/<int:project_id>/imports/commit")
def import_commit(project_id: int) -> ResponseReturnValue:
    """Import the previewed file for real: read again from the blob store, checked again."""
    who, project = _importer(project_id)
    preview = _payload(request.form.get("t", ""), who, project.id)
    if not preview.get("d"):
        raise FormError(400, t("imports.bad_token"))
    source, create_villages = str(preview["s"]), bool(preview["c"])
    with tempfile.SpooledTemporaryFile(max_size=1 << 20) as file:
        for chunk in services().store.open(_stored(str(preview["u"])).sha256):
            file.write(chunk)
        report, refused = _run(who, project.id, file, source=source,
                               create_villages=create_villages, dry_run=False)
    if report is not None:
        record_web_action(db(), who, "registry.import", f"project:{project.id}",
                          {"source": source, "counts": {o.value: report.count(o)
                                                        for o in Outcome},
                           "villagesCreated": report.villages_created})
    about = {"source": source, "fileName": preview.get("n", ""),
             "createVillages": create_villages}
    token = _token(who, project.id, u=preview["u"], s=source, c=create_villages,
                   n=preview.get("n", ""), d=False,
                   r=_store_document(_report_document(report, refused, **about)))
    return redirect(url_for("web.import_report", project_id=project.id, t=token), 303)


@dataclass(frozen=True)
class ShownRow:
    """A row of the report as the page lists it."""

    row: int
    record_id: str
    name: str
    outcome: str
    problems: list[dict[str, str]]
    child_code: str | None = None
    child_id: str | None = None
    # Doubtful fields: the row is imported with them (docs/registry.md, "Doubtful fields").
    doubts: tuple[dict[str, str], ...] = ()


def _children(who: Principal, project_id: int, ids: list[str]) -> dict[str, Child]:
    """The report's children that exist and that this person reads (a dry run's new
    children were never kept)."""
    if not ids:
        return {}
    scope = VillageScope(permissions.villages_for(who, permissions.REGISTRY_READ, project_id))
    found = db().scalars(select(Child).where(Child.project_id == project_id,
                                             Child.id.in_(ids)))
    return {child.id: child for child in found if scope.covers(child.village_code)}


def _shown_rows(who: Principal, project_id: int, rows: list[dict[str, Any]]) -> list[ShownRow]:
    lang = language()
    children = _children(who, project_id, sorted({r["childId"] for r in rows if r["childId"]}))
    shown = []
    for row in rows:
        child = children.get(row["childId"] or "")
        shown.append(ShownRow(
            row["row"], row["recordId"], row.get("name", ""), row["outcome"],
            [{"column": p.get("column") or "", "text": p[lang]} for p in row["problems"]],
            format_code(child.number) if child else None, child.id if child else None,
            tuple({"column": d.get("column") or "", "text": d[lang]}
                  for d in row.get("doubtful", ()))))
    return shown


@blueprint.get("/ui/p/<int:project_id>/imports/report")
def import_report(project_id: int) -> ResponseReturnValue:
    """A preview (with its "import" form) or a result: counts, every refused row with every
    problem, and the rows added or matched."""
    who, project = _importer(project_id)
    token = request.args.get("t", "")
    payload = _payload(token, who, project.id)
    document = json.loads(services().store.read(_stored(str(payload["r"])).sha256))
    rows = _shown_rows(who, project.id, document["rows"])
    refused_file = document["refusedFile"]
    return render_template(
        "web/import_report.html", project=project, document=document, dry_run=payload["d"],
        token=token, refused_file=refused_file[language()] if refused_file else None,
        refused=[r for r in rows if r.outcome == Outcome.REFUSED.value],
        placed=[r for r in rows if r.outcome != Outcome.REFUSED.value],
        counts=document["counts"], outcomes=[o.value for o in PLACED],
        to_import=sum(document["counts"].get(o.value, 0) for o in PLACED[:3]))
