"""Submissions (Bản gửi): one form's list with its filters, one submission's answers, its
review state and comments, its edits, its way into the registry — and a failed sync retried.

The same rule as the submissions API (docs/access.md), through the same functions: the form and
the submission are found by `server.operations.submission_access` (404 for another village's
submission), the answers are read from the XML the API would send this caller
(`server.operations.submission_answers`: hidden answers absent, showing sensitive ones audited
as the API audits sending them), photos come through a page route making the same checks as
the API's attachment route, and the review state, comments and retry call the domain functions
the API and the CLI call (`server.operations.review`, `server.registry.sync_status`). Who may
do what: reading and commenting, `submission.read`; the review state and a retry,
`submission.update` (Central's PATCH), both in the caller's villages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import chain
from urllib.parse import quote

from flask import Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from server import problems
from server.auth import permissions
from server.auth.principal import Principal
from server.auth.visibility import DataView
from server.context import db, services
from server.httputil import as_download
from server.models import (
    Actor,
    Blob,
    Child,
    Form,
    FormDef,
    Project,
    Submission,
    SubmissionDef,
    Village,
)
from server.operations import review, submission_access, visible_data
from server.operations.submission_answers import (
    Answer,
    Answers,
    read_answers,
    record_sensitive_view,
)
from server.registry.child_code import format_code
from server.registry.sync_status import (
    SyncStatus,
    failure_kind,
    is_registry_form,
    retry_failed,
    status_of,
)
from server.web import auth, blueprint, queries
from server.web.format import local_iso, partial_date
from server.web.i18n import language, t
from server.web.submission_list import (
    REVIEW_STATES,
    SYNC_STATES,
    UNKNOWN_VILLAGE,
    parse_filters,
    submissions_query,
)
from server.web.views_children import done_message
from server.web.views_flags import _note_line  # a follow-up's reason: a line a language

UI = "/ui/p/<int:project_id>/submissions"
ONE = UI + "/<string:xml_form_id>/<string:instance_id>"
_UUID = re.compile(r"^(?:uuid:)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$",
                   re.I)
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# What a photo may be served inline as, told by its first bytes, never by the type the phone
# declared (an "image" could be HTML): anything else is only ever a download.
_IMAGE_MAGIC = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
                (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"))
IMAGE_NAMES = (".jpg", ".jpeg", ".png", ".gif")


@blueprint.app_template_filter("is_image_name")
def is_image_name(name: str) -> bool:
    """Collect names a photo `<timestamp>.jpg`: shown inline; other files are links."""
    return name.lower().endswith(IMAGE_NAMES)


@blueprint.app_template_filter("answer_text")
def answer_text(answer: Answer) -> str:
    """An answer as people read it: days in Vietnamese order, moments in Vietnam time, a
    place as latitude, longitude (and its accuracy)."""
    value = answer.value
    if answer.type == "date":
        return partial_date(value) if _ISO_DAY.match(value) else value
    if answer.type == "dateTime":
        return local_iso(value)
    if answer.type == "time":
        return value[:5]
    if answer.type == "geopoint":
        parts = value.split()
        if len(parts) >= 2:
            where = f"{parts[0]}, {parts[1]}"
            return f"{where} (± {parts[3]} m)" if len(parts) >= 4 else where
    return value


def _who() -> Principal:
    """The signed-in web user: 401 (the sign-in page) for nobody."""
    user = auth.web_user()
    if user is None:
        raise problems.auth_failed()
    return user.principal


def _readable(project_id: int, xml_form_id: str, verb: str = "submission.read"
              ) -> tuple[Principal, Form, DataView]:
    who = _who()
    form, view = submission_access.readable_form(db(), who, project_id, xml_form_id, verb)
    return who, form, view


def _forms(who: Principal, project_id: int) -> list[tuple[Form, FormDef]]:
    """The commune's published forms whose submissions the caller may list, oldest first."""
    rows = db().execute(select(Form, FormDef).join(FormDef, FormDef.id == Form.current_def_id)
                        .where(Form.project_id == project_id, Form.deleted_at.is_(None))
                        .order_by(Form.id))
    return [(form, form_def) for form, form_def in rows
            if permissions.can_on_form(db(), who, "submission.list", form)]


def _villages(project_id: int, view: DataView) -> list[Village]:
    """The commune's villages the caller reads (the filter offers no other)."""
    return list(db().scalars(select(Village).where(
        Village.project_id == project_id, view.villages.clause(Village.code))
        .order_by(Village.code)))


@blueprint.get(UI)
def submissions(project_id: int) -> ResponseReturnValue:
    who = _who()
    project = db().get(Project, project_id)
    if project is None or project.deleted_at is not None:
        raise problems.not_found()
    permissions.require(who, "submission.list", project_id)
    forms = _forms(who, project_id)
    wanted = request.args.get("form") or (forms[0][0].xml_form_id if forms else "")
    filters = parse_filters(request.args)
    page, form, view, villages = None, None, None, []
    if wanted:
        _, form, view = _readable(project_id, wanted, "submission.list")
        page = queries.paged(db(), submissions_query(form, view, filters),
                             queries.page_number())
        villages = _villages(project_id, view)
    return render_template(
        "web/submissions.html", project=project, forms=forms, form=form, page=page,
        filters=filters, villages=villages,
        village_names={v.code: v.name for v in villages},
        may_unknown_village=view is not None and not view.villages.is_limited,
        unknown_village=UNKNOWN_VILLAGE, review_states=REVIEW_STATES,
        sync_states=SYNC_STATES, registry_form=form is not None
        and is_registry_form(form.xml_form_id), status_of=status_of)


def _names(ids: set[int | None]) -> dict[int, str]:
    wanted = {actor_id for actor_id in ids if actor_id is not None}
    if not wanted:
        return {}
    rows = db().execute(select(Actor.id, Actor.display_name).where(Actor.id.in_(wanted)))
    return {row.id: row.display_name for row in rows}


def _child_codes(answers: Answers, project_id: int) -> dict[str, tuple[str, str]]:
    """Answers naming a registry child by its id (a follow-up's chosen child): answer →
    (child code, child id). People read codes, never UUIDs."""
    ids = {found.group(1).lower(): answer.value for answer in answers.walk()
           if (found := _UUID.match(answer.value))}
    if not ids:
        return {}
    return {ids[child_id]: (format_code(number), child_id) for child_id, number in db().execute(
        select(Child.id, Child.number).where(Child.project_id == project_id,
                                             Child.id.in_(list(ids))))}


def _api_url(form: Form, submission: Submission) -> str:
    return (f"{request.script_root}/v1/projects/{form.project_id}/forms/"
            f"{quote(form.xml_form_id, safe='')}/submissions/"
            f"{quote(submission.instance_id, safe=':')}")


@blueprint.get(ONE)
def submission(project_id: int, xml_form_id: str, instance_id: str) -> ResponseReturnValue:
    who, form, view = _readable(project_id, xml_form_id)
    session = db()
    found = submission_access.visible_submission(session, form, view, instance_id)
    version = review.current_version(session, found)
    answers = read_answers(session, services().store, form, version, view, language())
    record_sensitive_view(session, who, form, found, answers.levels, via="web")
    versions = list(session.scalars(select(SubmissionDef).where(
        SubmissionDef.submission_id == found.id).order_by(SubmissionDef.id.desc())))
    comments = review.list_comments(session, found)
    names = _names({found.submitter_id, *(v.submitter_id for v in versions),
                    *(c.actor_id for c in comments)})
    village = session.scalar(select(Village.name).where(
        Village.project_id == project_id, Village.code == found.village_code))
    status = status_of(form.xml_form_id, version.sync_state)
    may_update = permissions.can_on_form(session, who, "submission.update", form)
    return render_template(
        "web/submission.html", project=session.get_one(Project, project_id), form=form,
        form_def=session.get_one(FormDef, version.form_def_id), submission=found,
        version=version, answers=answers, versions=versions, comments=comments, names=names,
        village=village, status=status, failure=failure_kind(version.sync_error)
        if status is SyncStatus.FAILED else None, note=_note_line(version.sync_error)
        if status is SyncStatus.NOT_APPLIED else None,
        may_update=may_update, may_retry=may_update and status is SyncStatus.FAILED,
        review_states=REVIEW_STATES[1:], child_codes=_child_codes(answers, project_id),
        may_open_children=permissions.can(who, permissions.REGISTRY_READ, project_id),
        xml_url=_api_url(form, found) + ".xml", done=done_message())


@blueprint.get(ONE + "/files/<string:name>")
def submission_file(project_id: int, xml_form_id: str, instance_id: str,
                    name: str) -> ResponseReturnValue:
    """A file of the submission, as the API's attachment route gives it to this caller (a file
    of a hidden answer does not exist): a photo inline for the page's `<img>`, anything else
    as a download. Always streamed from here (the page allows images from itself alone)."""
    _, form, view = _readable(project_id, xml_form_id)
    session = db()
    version = review.current_version(
        session, submission_access.visible_submission(session, form, view, instance_id))
    attachment = next((a for a in visible_data.visible_attachments(session, form, version, view)
                       if a.name == name), None)
    blob = session.get(Blob, attachment.blob_id) if attachment and attachment.blob_id else None
    if blob is None:
        raise problems.not_found()
    if not services().store.exists(blob.sha256):
        raise problems.stored_file_missing(name)  # a 404, not a response that breaks off
    chunks = services().store.open(blob.sha256)
    first = next(chunks, b"")
    image = next((kind for magic, kind in _IMAGE_MAGIC if first.startswith(magic)), None)
    response = Response(_joined(first, chunks), content_type=image or "application/octet-stream",
                        headers={"Content-Length": str(blob.size)})
    return response if image else as_download(response, name)


def _joined(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    return chain([first], rest) if first else rest


def _back(project_id: int, form: Form, submission: Submission, done: str) -> ResponseReturnValue:
    return redirect(url_for("web.submission", project_id=project_id,
                            xml_form_id=form.xml_form_id, instance_id=submission.instance_id,
                            done=done), 303)


@blueprint.post(ONE + "/review")
def submission_review(project_id: int, xml_form_id: str,
                      instance_id: str) -> ResponseReturnValue:
    """Central's `PATCH …/submissions/{id}` `{"reviewState"}`, from a form."""
    who, form, view = _readable(project_id, xml_form_id, "submission.update")
    found = submission_access.visible_submission(db(), form, view, instance_id)
    state = review.parse_review_state(request.form.get("reviewState", ""))
    review.set_review_state(db(), found, state, who.actor_id)
    return _back(project_id, form, found, "reviewed")


@blueprint.post(ONE + "/comments")
def submission_comment(project_id: int, xml_form_id: str,
                       instance_id: str) -> ResponseReturnValue:
    """Central's `POST …/comments` `{"body"}`: anyone who may read the submission."""
    who, form, view = _readable(project_id, xml_form_id)
    found = submission_access.visible_submission(db(), form, view, instance_id)
    assert who.actor_id is not None
    review.add_comment(db(), found, who.actor_id, request.form.get("body", ""))
    return _back(project_id, form, found, "commented")


@blueprint.post(ONE + "/sync/retry")
def submission_retry(project_id: int, xml_form_id: str,
                     instance_id: str) -> ResponseReturnValue:
    """Put the submission's failed sync back on the pending list (`diemtua sync retry`)."""
    who, form, view = _readable(project_id, xml_form_id, "submission.update")
    found = submission_access.visible_submission(db(), form, view, instance_id)
    version = review.current_version(db(), found)
    if not is_registry_form(form.xml_form_id) or not retry_failed(
            db(), [version.id], actor_id=who.actor_id, via="web"):
        raise problems.registry_conflict(t("submissions.nothing_to_retry"))
    return _back(project_id, form, found, "retried")
