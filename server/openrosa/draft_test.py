"""Trying a draft on a phone before publishing it, as Central's draft testing: the forms page
shows a QR code whose server URL is `/v1/test/<draft token>/projects/<id>/forms/<form>/draft`,
and ODK Collect set up with it lists, downloads and opens that draft alone, with its media.

The draft token is the only credential (Central's too): it exists while the draft does, and
dies when the draft is published or replaced (a new draft has a new token). So the token must
never open anything else: the `children` entity list a draft reads comes out empty (a draft's
tester holds no village), and submissions are refused with a message — the server keeps no
test submissions (Central keeps them apart from real ones; here a test visit must never reach
the registry), which is why the draft's QR code turns automatic sending off.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote
from xml.sax.saxutils import escape

from flask import Response, request
from flask.typing import ResponseReturnValue

from server import problems
from server.context import db, public_base
from server.models import Form, FormDef
from server.openrosa import access, blueprint, entity_lists
from server.openrosa.formlist import FORM_LIST_NS, form_hash
from server.openrosa.forms import MANIFEST_NS, blob_response, media_blob, uploaded_media
from server.openrosa.responses import (
    XML_DECLARATION,
    no_content,
    openrosa_message,
    xml_response,
)
from server.operations.forms import get_form
from server.operations.qrcode import draft_test_url
from server.registry.entities import EntityList, entity_list

# Escaped as JavaScript's encodeURIComponent, as Central names media files.
_SAFE = "!*'()"
DRAFT = "/v1/test/<token>/projects/<int:project_id>/forms/<xml_form_id>/draft"
TEST_SUBMISSION_REFUSED = (
    "Đây là bản nháp để thử: máy chủ không nhận phiếu thử. Hãy xoá phiếu này trên điện thoại. "
    "(This is a draft for testing: the server does not keep test submissions.)")


def _draft(token: str, project_id: int, xml_form_id: str) -> tuple[Form, FormDef]:
    """The form's current draft, if `token` is its draft token; 404 otherwise, the same for a
    wrong token as for no draft, so tokens cannot be probed."""
    form = get_form(db(), project_id, xml_form_id)
    draft = form.draft_def
    if draft is None or not draft.draft_token or not secrets.compare_digest(
            draft.draft_token, token):
        raise problems.not_found()
    return form, draft


def _url(token: str, form: Form, suffix: str = "") -> str:
    """The draft's own URLs, which carry the token as the phone's server URL does."""
    return draft_test_url(public_base(), token, form.project_id, form.xml_form_id) + suffix


def _no_children(project_id: int) -> EntityList:
    """The `children` entity list of a caller holding no village: its header alone."""
    return entity_list(db(), project_id, frozenset())


@blueprint.get(f"{DRAFT}/formList")
def draft_form_list(token: str, project_id: int, xml_form_id: str) -> Response:
    """A form list holding the draft alone."""
    access.check_openrosa_version()
    form, draft = _draft(token, project_id, xml_form_id)
    manifest = (f"<manifestUrl>{escape(_url(token, form, '/manifest'))}</manifestUrl>"
                if draft.attachments else "")
    item = ("<xform>"
            f"<formID>{escape(form.xml_form_id)}</formID>"
            f"<name>{escape(draft.name or form.xml_form_id)}</name>"
            f"<version>{escape(draft.version)}</version>"
            f"<hash>{form_hash(draft)}</hash>"
            f"<downloadUrl>{escape(_url(token, form, '.xml'))}</downloadUrl>"
            f"{manifest}</xform>")
    return xml_response(f'{XML_DECLARATION}<xforms xmlns="{FORM_LIST_NS}">{item}</xforms>')


@blueprint.get(f"{DRAFT}.xml")
def draft_xml(token: str, project_id: int, xml_form_id: str) -> Response:
    """The draft's XForm, byte for byte (its MD5 is the list's hash)."""
    _form, draft = _draft(token, project_id, xml_form_id)
    return Response(draft.xml_bytes, content_type="application/xml")


@blueprint.get(f"{DRAFT}/manifest")
def draft_manifest(token: str, project_id: int, xml_form_id: str) -> Response:
    """The draft's uploaded media, and an empty file for each entity list it reads."""
    access.check_openrosa_version()
    form, draft = _draft(token, project_id, xml_form_id)
    empty_md5 = _no_children(project_id).md5
    files = [(attachment.name, blob.md5) for attachment, blob in uploaded_media(draft)]
    files += [(attachment.name, empty_md5)
              for attachment in entity_lists.entity_list_attachments(draft)]
    entries = "".join(
        f"<mediaFile><filename>{escape(name)}</filename><hash>md5:{md5}</hash>"
        f"<downloadUrl>{escape(_url(token, form, '/attachments/' + quote(name, safe=_SAFE)))}"
        "</downloadUrl></mediaFile>" for name, md5 in sorted(files))
    return xml_response(f'{XML_DECLARATION}<manifest xmlns="{MANIFEST_NS}">{entries}'
                        "</manifest>")


@blueprint.get(f"{DRAFT}/attachments/<name>")
def draft_media_file(token: str, project_id: int, xml_form_id: str,
                     name: str) -> ResponseReturnValue:
    _form, draft = _draft(token, project_id, xml_form_id)
    if any(a.name == name for a in entity_lists.entity_list_attachments(draft)):
        return entity_lists.csv_response(_no_children(project_id), name)
    return blob_response(media_blob(draft, name), name)


@blueprint.route(f"{DRAFT}/submission", methods=["GET", "HEAD"])
def draft_preflight(token: str, project_id: int, xml_form_id: str) -> Response:
    access.check_openrosa_version()
    _draft(token, project_id, xml_form_id)
    return no_content()


@blueprint.post(f"{DRAFT}/submission")
def draft_submission(token: str, project_id: int, xml_form_id: str) -> Response:
    """Refused, with a message the phone shows (see the module docstring)."""
    _draft(token, project_id, xml_form_id)
    while request.stream.read(65536):  # read the upload out before answering
        pass
    return openrosa_message(TEST_SUBMISSION_REFUSED, 409, nature="error")
