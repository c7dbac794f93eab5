"""What a phone downloads for a form: the XForm, its manifest, its media files.

The XForm is served byte for byte as stored, since its MD5 is the form list's hash (Collect
shows "update available" forever when they differ). The manifest lists only files actually
uploaded, each with the real MD5, because Collect re-downloads and flags a file as updated
whenever the hash is not the MD5 of the bytes it holds (docs/openrosa.md §4) — and the `children`
entity list the registry serves in place of a file (`server.openrosa.entity_lists`).
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from flask import Response, redirect, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from server import problems
from server.context import db, services
from server.httputil import attachment_disposition
from server.models import Blob, Form, FormAttachment, FormDef
from server.openrosa import access, blueprint, entity_lists
from server.openrosa.responses import XML_DECLARATION, xml_response
from server.openrosa.urls import media_url

FORM = "/v1/projects/<int:project_id>/forms/<xml_form_id>"
MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"


@blueprint.get(f"{FORM}.xml")
def form_xml(project_id: int, xml_form_id: str) -> Response:
    """The published XForm, exactly the bytes whose MD5 the form list announces.

    `application/xml` as Central (a plain REST download there); Collect does not check it.
    """
    _form, form_def = access.readable_form(project_id, xml_form_id)
    return Response(form_def.xml_bytes, content_type="application/xml")


def uploaded_media(form_def: FormDef) -> list[tuple[FormAttachment, Blob]]:
    """Files of this version that have bytes (entity lists have their own entries)."""
    rows = db().execute(
        select(FormAttachment, Blob).join(Blob, Blob.id == FormAttachment.blob_id)
        .where(FormAttachment.form_def_id == form_def.id, FormAttachment.dataset.is_(None))
        .order_by(FormAttachment.name))
    return [(attachment, blob) for attachment, blob in rows.all()]


def manifest_document(form: Form, media: Sequence[tuple[FormAttachment, Blob]],
                      entity_lists_xml: str = "") -> str:
    files = "".join(
        "<mediaFile>"
        f"<filename>{escape(attachment.name)}</filename>"
        # Collect drops the first four characters without looking: always `md5:`.
        f"<hash>md5:{blob.md5}</hash>"
        f"<downloadUrl>{escape(media_url(form.project_id, form.xml_form_id, attachment.name))}"
        "</downloadUrl>"
        "</mediaFile>"
        for attachment, blob in media)
    return (f'{XML_DECLARATION}<manifest xmlns="{MANIFEST_NS}">{files}{entity_lists_xml}'
            "</manifest>")


@blueprint.get(f"{FORM}/manifest")
def manifest(project_id: int, xml_form_id: str) -> Response:
    """The media of the published version (OpenRosa XML: `text/xml` and the headers)."""
    access.check_openrosa_version()
    form, form_def = access.readable_form(project_id, xml_form_id)
    return xml_response(manifest_document(form, uploaded_media(form_def),
                                          entity_lists.manifest_entries(form, form_def)))


def media_blob(form_def: FormDef, name: str) -> Blob:
    blob = db().scalar(select(Blob).join(FormAttachment, FormAttachment.blob_id == Blob.id)
                       .where(FormAttachment.form_def_id == form_def.id,
                              FormAttachment.name == name))
    if blob is None:
        raise problems.not_found()
    return blob


def _etag_matches(etag: str) -> bool:
    """If-None-Match as OkHttp's cache sends it (one tag), or a list, weak or strong."""
    header = request.headers.get("If-None-Match", "")
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in tags or "*" in tags


@blueprint.get(f"{FORM}/attachments/<name>")
def media_file(project_id: int, xml_form_id: str, name: str) -> ResponseReturnValue:
    """One media file: ETag and 304 as Central (B-http `withEtag`); from S3, a 307 to a
    presigned URL, which carries its own authorisation (OkHttp drops ours across hosts)."""
    form, form_def = access.readable_form(project_id, xml_form_id)
    listed = next((a for a in entity_lists.entity_list_attachments(form_def) if a.name == name),
                  None)
    if listed is not None:
        return entity_lists.serve_entity_list(form, listed)
    return blob_response(media_blob(form_def, name), name)


def blob_response(blob: Blob, name: str) -> ResponseReturnValue:
    """A media file's bytes (or, from S3, a redirect to them) with its ETag."""
    etag = f'"{blob.md5}"'
    if _etag_matches(etag):
        response = Response(status=304)
    else:
        store = services().store
        url = store.download_url(blob.sha256, name, blob.content_type)
        if url is not None:
            return redirect(url, code=307)
        if not store.exists(blob.sha256):
            # Better a clear 404 than a 200 that stops halfway through (`diemtua storage check`).
            raise problems.stored_file_missing(name)
        response = Response(store.open(blob.sha256), content_type=blob.content_type)
        response.headers["Content-Length"] = str(blob.size)
        response.headers["Content-Disposition"] = attachment_disposition(name)
    response.headers["ETag"] = etag
    return response
