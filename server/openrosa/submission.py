"""`/submission`: Collect's HEAD pre-flight and its multipart POST (docs/openrosa.md §7, §8).

The ingest rules live in `server.operations.submissions.receive_submission`; this module reads
the request, finds the form, checks the sender, and commits. It commits itself so that the
phone hears 201 only for data that is durably stored, and so that two identical POSTs racing
each other (a phone retrying while the first attempt is still being written) end as one
submission and a resubmission instead of a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import BinaryIO, cast

from flask import Response, request

from server import problems
from server.auth.principal import Principal
from server.context import db, services
from server.models import Form
from server.openrosa import access, blueprint
from server.openrosa.multipart import MultipartBody, read_multipart
from server.openrosa.responses import no_content, submission_received
from server.operations.forms import get_form
from server.operations.submissions import (
    IncomingFile,
    Received,
    SubmissionContext,
    receive_and_commit,
)
from sync.instance import MissingFormId, ParsedInstance, parse_instance
from sync.safe_xml import UnsafeXml

log = logging.getLogger(__name__)

XML_PART = "xml_submission_file"
# Collect's marker for "more parts of this submission follow"; Central ignores it, and so do
# we: every POST of a split upload repeats the identical XML (C-up).
NOT_FILES = frozenset({XML_PART, "*isIncomplete*"})


@blueprint.route("/v1/projects/<int:project_id>/submission", methods=["GET", "HEAD"])
def project_preflight(project_id: int) -> Response:
    """204 with `X-OpenRosa-Accept-Content-Length`, which Collect reads only from a 204.

    As Central: credentials, if sent, must be valid; the project must exist; no more. The
    right to submit is checked per form on the POST.
    """
    access.check_openrosa_version()
    access.caller()
    access.open_project(project_id)
    return no_content()


@blueprint.route("/submission", methods=["GET", "HEAD"])
def preflight() -> Response:
    access.check_openrosa_version()
    access.caller()
    return no_content()


@blueprint.post("/v1/projects/<int:project_id>/submission")
def submit_to_project(project_id: int) -> Response:
    """The phone's submission, for a form of this project (app-user key URLs come here)."""
    access.check_openrosa_version()
    with read_multipart() as body:
        xml, instance = _instance(body)
        who = access.caller()
        form = get_form(db(), project_id, instance.form_id)  # 404 for a deleted project too
        access.require_submission_right(who, form)
        _receive_and_commit(who, form, instance, xml, _files(body))
    return submission_received()


@blueprint.post("/submission")
def submit() -> Response:
    """For web users whose Collect points at the bare server URL (HTTP Basic over https)."""
    access.check_openrosa_version()
    with read_multipart() as body:
        xml, instance = _instance(body)
        who = access.caller()
        form = access.submittable_form(who, instance.form_id)
        _receive_and_commit(who, form, instance, xml, _files(body))
    return submission_received()


def _instance(body: MultipartBody) -> tuple[bytes, ParsedInstance]:
    """The instance XML and what it says, refused (400) when hostile or broken.

    Central parses leniently and stores what it can; we refuse, so the phone keeps its copy
    and shows why (docs/openrosa.md §9).
    """
    part = body.parts.get(XML_PART)
    if part is None:
        raise problems.missing_multipart_field(XML_PART)
    xml = part.body.read()
    try:
        return xml, parse_instance(xml)
    except MissingFormId as exc:
        raise problems.missing_parameter("form ID xml attribute") from exc
    except UnsafeXml as exc:
        raise problems.hostile_or_broken_xml(str(exc)) from exc


def _files(body: MultipartBody) -> dict[str, IncomingFile]:
    """Attachments keyed by *field name*, which is what Central matches against the names
    in the XML; the part's own file name is never used (it could carry a path)."""
    return {name: IncomingFile(cast(BinaryIO, part.body), part.content_type)
            for name, part in body.parts.items() if name not in NOT_FILES}


def _sender(who: Principal) -> SubmissionContext:
    """Who and which device, stored with the version as Central does (`?deviceID=` is
    `collect:<16 characters>`, appended by Collect to every request)."""
    return SubmissionContext(submitter_id=who.actor_id,
                             device_id=request.args.get("deviceID") or None,
                             user_agent=request.headers.get("User-Agent"))


def _receive_and_commit(who: Principal, form: Form, instance: ParsedInstance, xml: bytes,
                        files: Mapping[str, IncomingFile]) -> Received:
    return receive_and_commit(db(), services().store, form, instance, xml, files, _sender(who))
