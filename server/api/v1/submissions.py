"""Central's submission resources: list, read, create and edit (raw XML), attachments, review
state, comments, soft delete (Central: lib/resources/submissions.js, comments.js).

Every write of a submission goes through `receive_submission`, the one place of the ingest
rules, so a REST create, a PUT edit and an attachment upload behave exactly as phones' posts do.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any, BinaryIO, cast

from flask import Response, redirect, request
from flask_restx import Namespace, Resource
from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer
from werkzeug.wrappers import Response as BaseResponse

from exports.records import iso_utc
from server import context, problems
from server.api.v1 import shapes
from server.api.v1.openapi import Success, documented
from server.api.v1.schemas import CommentInput, ReviewStateInput
from server.auth.visibility import DataView
from server.httputil import as_download
from server.models import (
    Actor,
    Audit,
    Blob,
    Comment,
    Form,
    FormDef,
    Submission,
    SubmissionAttachment,
    SubmissionDef,
)
from server.operations import review, submission_access, submission_answers, visible_data
from server.operations.blobs import present_blob_ids
from server.operations.submissions import (
    IncomingFile,
    Received,
    SubmissionContext,
    accepting_form_def,
    receive_and_commit,
)
from sync.instance import ParsedInstance, parse_instance
from sync.safe_xml import UnsafeXml

ns = Namespace("submissions", description="Submissions of a form (ODK Central-compatible)",
               path="/")

FORM = "/projects/<int:project_id>/forms/<string:xml_form_id>"
ONE = f"{FORM}/submissions/<string:instance_id>"
SPOOL_BYTES = 8 * 1024 * 1024


def _actor_json(db: Session, actor_id: int | None) -> dict[str, Any] | None:
    actor = db.get(Actor, actor_id) if actor_id is not None else None
    if actor is None:
        return None
    return {"id": actor.id, "type": actor.type, "displayName": actor.display_name,
            "createdAt": iso_utc(actor.created_at), "updatedAt": iso_utc(actor.updated_at),
            "deletedAt": iso_utc(actor.deleted_at)}


def version_json(db: Session, version: SubmissionDef, extended: bool) -> dict[str, Any]:
    """One version (Central's submission def): who sent it, from where, when."""
    out: dict[str, Any] = {
        "instanceId": version.instance_id, "instanceName": version.instance_name,
        "submitterId": version.submitter_id, "deviceId": version.device_id,
        "userAgent": version.user_agent, "createdAt": iso_utc(version.created_at),
        "current": version.current,
    }
    if extended:
        form_def = db.get(FormDef, version.form_def_id)
        out["submitter"] = _actor_json(db, version.submitter_id)
        out["formVersion"] = form_def.version if form_def else None
    return out


def _first_user_agents(db: Session, form_id: int,
                       submission_id: int | None = None) -> dict[int, str | None]:
    """The User-Agent each submission first arrived with (Central reports that one)."""
    firsts = select(func.min(SubmissionDef.id)).where(SubmissionDef.form_id == form_id)
    if submission_id is not None:
        firsts = firsts.where(SubmissionDef.submission_id == submission_id)
    return dict(db.execute(select(SubmissionDef.submission_id, SubmissionDef.user_agent).where(
        SubmissionDef.id.in_(firsts.group_by(SubmissionDef.submission_id)))).all())


def submission_json(db: Session, submission: Submission, extended: bool,
                    current: SubmissionDef | None = None,
                    agents: dict[int, str | None] | None = None) -> dict[str, Any]:
    """Central's Submission: the logical record (first version's sender) + `currentVersion`."""
    current = current or review.current_version(db, submission)
    if agents is None:
        agents = _first_user_agents(db, submission.form_id, submission.id)
    out: dict[str, Any] = {
        "instanceId": submission.instance_id, "submitterId": submission.submitter_id,
        "deviceId": submission.device_id, "userAgent": agents.get(submission.id),
        "reviewState": submission.review_state, "createdAt": iso_utc(submission.created_at),
        "updatedAt": iso_utc(submission.updated_at),
        "deletedAt": iso_utc(submission.deleted_at),
        "currentVersion": version_json(db, current, extended),
    }
    if extended:
        out["submitter"] = _actor_json(db, submission.submitter_id)
        out["formVersion"] = out["currentVersion"]["formVersion"]
    return out


def submissions_json(db: Session, form: Form, view: DataView, extended: bool
                     ) -> list[dict[str, Any]]:
    """The live submissions of the form the caller reads, newest first, each with its current
    version."""
    rows = db.execute(
        select(Submission, SubmissionDef).join(SubmissionDef, (
            SubmissionDef.submission_id == Submission.id) & SubmissionDef.current.is_(True))
        .options(defer(SubmissionDef.xml))
        .where(Submission.form_id == form.id, Submission.deleted_at.is_(None),
               visible_data.village_clause(view))
        .order_by(Submission.created_at.desc(), Submission.id.desc())).all()
    agents = _first_user_agents(db, form.id)
    return [submission_json(db, submission, extended, current, agents)
            for submission, current in rows]


def comment_json(db: Session, comment: Comment, extended: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"body": comment.body, "actorId": comment.actor_id,
                           "createdAt": iso_utc(comment.created_at)}
    if extended:
        out["actor"] = _actor_json(db, comment.actor_id)
    return out


def form_for(project_id: int, xml_form_id: str, verb: str) -> Form:
    """The form, once the caller may `verb` on it: 404 if it is not there, else 401/403."""
    return submission_access.form_for(context.db(), context.principal(), project_id,
                                      xml_form_id, verb)


def readable_form(project_id: int, xml_form_id: str, verb: str = "submission.read"
                  ) -> tuple[Form, DataView]:
    """The form and what the caller may see of its submissions (the one access rule)."""
    return submission_access.readable_form(context.db(), context.principal(), project_id,
                                           xml_form_id, verb)


def visible_submission(form: Form, view: DataView, instance_id: str) -> Submission:
    """A live submission of the form in the caller's villages; 404 otherwise."""
    return submission_access.visible_submission(context.db(), form, view, instance_id)


def changeable_submission(project_id: int, xml_form_id: str, instance_id: str
                          ) -> tuple[Form, DataView, Submission]:
    """A submission the caller may change: `submission.update`, in its villages, every field
    seen (a redacted copy written back would lose the hidden answers)."""
    form, view = readable_form(project_id, xml_form_id, "submission.update")
    submission = visible_submission(form, view, instance_id)
    visible_data.require_every_field(view)
    return form, view, submission


def _extended() -> bool:
    return request.headers.get("X-Extended-Metadata", "").strip().lower() == "true"


def _parse(body: bytes, xml_form_id: str) -> ParsedInstance:
    try:
        instance = parse_instance(body)
    except UnsafeXml as exc:
        raise problems.hostile_or_broken_xml(str(exc)) from exc
    if instance.form_id != xml_form_id:
        raise problems.unexpected_value(
            "form id", f"{instance.form_id} did not match the form ID in the URL")
    return instance


def _sender() -> SubmissionContext:
    return SubmissionContext(submitter_id=context.principal().actor_id,
                             device_id=request.args.get("deviceID") or None,
                             user_agent=request.headers.get("User-Agent"))


def _stays_in_view(form: Form, view: DataView, instance: ParsedInstance) -> None:
    """An edit may not move a submission to a village the editor does not read."""
    db = context.db()
    form_def = accepting_form_def(db, form, instance.version)
    if not view.sees_village(visible_data.village_of(db, form, form_def, instance)):
        raise problems.insufficient_rights()


def _receive(form: Form, instance: ParsedInstance, body: bytes,
             files: dict[str, IncomingFile] | None = None) -> Received:
    """Ingest commits here, as the OpenRosa route does: a failed commit is this request's
    error, not a 200 for data that was never kept; a concurrent twin becomes a resubmission."""
    return receive_and_commit(context.db(), context.services().store, form, instance, body,
                              files or {}, _sender())


@ns.route(f"{FORM}/submissions")
class SubmissionList(Resource):
    @documented(shapes.Submission(many=True), extended=True)
    def get(self, project_id: int, xml_form_id: str) -> Any:
        """List the form's submissions, newest first (`X-Extended-Metadata: true` for more)."""
        form, view = readable_form(project_id, xml_form_id, "submission.list")
        return submissions_json(context.db(), form, view, _extended())

    @documented(shapes.Submission, consumes=("application/xml", "text/xml"), errors=(409,),
                extended=True)
    def post(self, project_id: int, xml_form_id: str) -> Any:
        """Create a submission from its XML (`?deviceID=` optional); files follow one by one."""
        form = form_for(project_id, xml_form_id, "submission.create")
        body = request.get_data()
        received = _receive(form, _parse(body, xml_form_id), body)
        return submission_json(context.db(), received.submission, _extended())


@ns.route(ONE)
class SubmissionItem(Resource):
    @documented(shapes.Submission, extended=True)
    def get(self, project_id: int, xml_form_id: str, instance_id: str) -> Any:
        """One submission with its current version (`X-Extended-Metadata: true` for more)."""
        form, view = readable_form(project_id, xml_form_id)
        submission = visible_submission(form, view, instance_id)
        return submission_json(context.db(), submission, _extended())

    @documented(shapes.Submission, consumes=("application/xml", "text/xml"), errors=(409,),
                extended=True)
    def put(self, project_id: int, xml_form_id: str, instance_id: str) -> Any:
        """Edit: new XML whose `meta/deprecatedID` names the current version."""
        form, view, submission = changeable_submission(project_id, xml_form_id, instance_id)
        db = context.db()
        body = request.get_data()
        instance = _parse(body, xml_form_id)
        if not instance.deprecated_id:
            raise problems.Problem(
                "400.19", "This PUT endpoint expects a deprecatedID metadata tag pointing at "
                "the current version instanceID. I cannot find that tag in your request.")
        if review.current_version(db, submission).instance_id != instance.deprecated_id:
            raise problems.deprecating_old_submission(instance.deprecated_id)
        _stays_in_view(form, view, instance)
        received = _receive(form, instance, body)
        return submission_json(db, received.submission, _extended())

    @documented(shapes.Submission, body=ReviewStateInput, extended=True)
    def patch(self, project_id: int, xml_form_id: str, instance_id: str) -> Any:
        """Set the review state: hasIssues, edited, approved or rejected."""
        form, view = readable_form(project_id, xml_form_id, "submission.update")
        db = context.db()
        submission = visible_submission(form, view, instance_id)
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict) or "reviewState" not in payload:
            raise problems.missing_parameter("reviewState")
        state = review.parse_review_state(payload["reviewState"])
        review.set_review_state(db, submission, state, context.principal().actor_id)
        return submission_json(db, submission, _extended())

    @documented(Success)
    def delete(self, project_id: int, xml_form_id: str, instance_id: str) -> Any:
        """Soft delete; the instanceID can never be submitted again (409.18)."""
        # Central's verb is submission.delete, held by managers; our roles give managers
        # submission.update, which no other role holds.
        form, view = readable_form(project_id, xml_form_id, "submission.update")
        db = context.db()
        submission = visible_submission(form, view, instance_id)
        review.delete_submission(db, submission, context.principal().actor_id)
        return {"success": True}


@ns.route(f"{ONE}.xml")
class SubmissionXml(Resource):
    @documented(produces=("application/xml",))
    def get(self, project_id: int, xml_form_id: str, instance_id: str) -> Response:
        """The current version's XML: byte for byte as received for callers who see every
        field, else without the answers hidden from them (docs/access.md). Always a download:
        a phone's XML could hold markup a browser would otherwise run on this origin. Sending
        sensitive answers is audited (`submission.read_sensitive`), as the pages audit showing
        them."""
        form, view = readable_form(project_id, xml_form_id)
        db = context.db()
        submission = visible_submission(form, view, instance_id)
        version = review.current_version(db, submission)
        body = visible_data.visible_xml(db, form, version, view)
        submission_answers.record_sensitive_view(
            db, context.principal(), form, submission,
            submission_answers.sensitive_levels_in(db, form, version, body), via="api")
        response = Response(body, content_type="application/xml")
        return as_download(response, f"{instance_id}.xml")


@ns.route(f"{ONE}/versions")
class SubmissionVersions(Resource):
    @documented(shapes.SubmissionVersion(many=True), extended=True)
    def get(self, project_id: int, xml_form_id: str, instance_id: str) -> Any:
        """Every version of the submission, newest first."""
        form, view = readable_form(project_id, xml_form_id)
        db = context.db()
        submission = visible_submission(form, view, instance_id)
        versions = db.scalars(select(SubmissionDef).where(
            SubmissionDef.submission_id == submission.id).order_by(SubmissionDef.id.desc()))
        extended = _extended()
        return [version_json(db, version, extended) for version in versions]


@ns.route(f"{ONE}/attachments")
class AttachmentList(Resource):
    @documented(shapes.SubmissionAttachment(many=True))
    def get(self, project_id: int, xml_form_id: str, instance_id: str) -> Any:
        """The files the current version expects, and whether each has arrived."""
        form, view = readable_form(project_id, xml_form_id)
        db = context.db()
        version = review.current_version(db, visible_submission(form, view, instance_id))
        attachments = visible_data.visible_attachments(db, form, version, view)
        # `exists` only when the bytes are really stored: a lost file can be sent again.
        present = present_blob_ids(db, context.services().store,
                                   [a.blob_id for a in attachments])
        return [{"name": a.name, "exists": a.blob_id in present} for a in attachments]


def _attachment(form: Form, view: DataView, instance_id: str, name: str
                ) -> tuple[SubmissionDef, SubmissionAttachment]:
    """A file of the current version the caller may see; 404 for any other name."""
    db = context.db()
    version = review.current_version(db, visible_submission(form, view, instance_id))
    found = next((a for a in visible_data.visible_attachments(db, form, version, view)
                  if a.name == name), None)
    if found is None:
        raise problems.not_found()
    return version, found


def _blob_response(blob: Blob, name: str) -> BaseResponse:
    """Bytes with their type and an ETag; a 307 to the store when it serves them itself."""
    store = context.services().store
    if not store.exists(blob.sha256):
        # A JSON 404 before any byte is sent, not a 200 that breaks off (a 500 from gunicorn).
        raise problems.stored_file_missing(name)
    url = store.download_url(blob.sha256, name, blob.content_type)
    if url is not None:
        return redirect(url, code=307)
    etag = f'"{blob.md5}"'
    if blob.md5 in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers={"ETag": etag})
    response = Response(store.open(blob.sha256), content_type=blob.content_type, headers={
        "ETag": etag, "Content-Length": str(blob.size)})
    return as_download(response, name)


def _spooled_body() -> IncomingFile:
    """The raw request body (pyodk sends it chunked) in memory, or on disk when large."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    shutil.copyfileobj(request.stream, spool)
    spool.seek(0)
    return IncomingFile(stream=cast(BinaryIO, spool), content_type=request.content_type or None)


@ns.route(f"{ONE}/attachments/<string:name>")
class AttachmentItem(Resource):
    @documented(produces=("application/octet-stream",))
    def get(self, project_id: int, xml_form_id: str, instance_id: str,
            name: str) -> BaseResponse:
        """One file of the submission's current version, as received."""
        form, view = readable_form(project_id, xml_form_id)
        _, attachment = _attachment(form, view, instance_id, name)
        blob = context.db().get(Blob, attachment.blob_id) if attachment.blob_id else None
        if blob is None:
            raise problems.not_found()
        return _blob_response(blob, name)

    @documented(Success, consumes=("application/octet-stream", "image/jpeg", "image/png"))
    def post(self, project_id: int, xml_form_id: str, instance_id: str, name: str) -> Any:
        """Upload one file the submission expects (Central requires submission.update)."""
        form, view, _ = changeable_submission(project_id, xml_form_id, instance_id)
        version, attachment = _attachment(form, view, instance_id, name)
        old_blob_id = attachment.blob_id
        body = version.xml.encode("utf-8")
        instance = _parse(body, xml_form_id)
        # The current XML again plus one file: the ingest rules' own "split upload" path.
        context.db().add(Audit(actor_id=context.principal().actor_id,
                               action="submission.attachment.update",
                               actee=f"submission:{version.submission_id}",
                               details={"instanceId": instance_id, "name": name,
                                        "oldBlobId": old_blob_id}))
        _receive(form, instance, body, {name: _spooled_body()})
        return {"success": True}


@ns.route(f"{ONE}/comments")
class Comments(Resource):
    @documented(shapes.Comment(many=True), extended=True)
    def get(self, project_id: int, xml_form_id: str, instance_id: str) -> Any:
        """The comments on a submission, newest first."""
        form, view = readable_form(project_id, xml_form_id)
        submission = visible_submission(form, view, instance_id)
        extended = _extended()
        return [comment_json(context.db(), c, extended)
                for c in review.list_comments(context.db(), submission)]

    @documented(shapes.Comment, body=CommentInput)
    def post(self, project_id: int, xml_form_id: str, instance_id: str) -> Any:
        """Comment on a submission; Central lets anyone who may read it do so."""
        form, view = readable_form(project_id, xml_form_id)
        db = context.db()
        submission = visible_submission(form, view, instance_id)
        principal = context.principal()
        assert principal.actor_id is not None
        payload = request.get_json(silent=True)
        body = payload.get("body") if isinstance(payload, dict) else None
        comment = review.add_comment(db, submission, principal.actor_id, body)
        return comment_json(db, comment, False)

