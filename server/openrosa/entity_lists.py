"""The `children` entity list as phones see it: manifest entry, CSV download, integrity.

A form that reads `children.csv` gets it from the registry, not from an uploaded file: the
manifest announces it with `type="entityList"`, a hash that is a version token of what *this
caller* would download (each phone gets only its villages' children), and the integrity URL
Collect asks about entities it created offline (docs/openrosa.md §4–6, Central B-forms, B-ds).

An attachment is the entity list when it is linked to the dataset (`FormAttachment.dataset`),
or when it is named `children.csv` and no file was uploaded for it — Central links such an
attachment to the dataset of that name automatically when the form is published.
"""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

from flask import Response, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from server import problems
from server.auth import permissions
from server.auth.principal import Principal
from server.context import db
from server.httputil import attachment_disposition
from server.models import Form, FormAttachment, FormDef, FormState
from server.openrosa import access, blueprint
from server.openrosa.responses import XML_DECLARATION, xml_response
from server.openrosa.urls import integrity_url, media_url
from server.registry.entities import (
    ENTITY_LIST,
    ENTITY_LIST_FILE,
    EntityList,
    deleted_states,
    entity_list,
    villages_visible_to,
    visible_children,
)

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"


def is_entity_list(attachment: FormAttachment) -> bool:
    if attachment.dataset is not None:
        return attachment.dataset == ENTITY_LIST
    return attachment.name == ENTITY_LIST_FILE and attachment.blob_id is None


def entity_list_attachments(form_def: FormDef) -> list[FormAttachment]:
    return [attachment for attachment in form_def.attachments if is_entity_list(attachment)]


def list_for(who: Principal, project_id: int) -> EntityList:
    """The entity list this caller downloads from this project."""
    return entity_list(db(), project_id, villages_visible_to(who, project_id))


def manifest_entries(form: Form, form_def: FormDef) -> str:
    """`<mediaFile type="entityList">` for each entity list the form reads."""
    attachments = entity_list_attachments(form_def)
    if not attachments:
        return ""
    token = list_for(access.caller(), form.project_id).md5
    return "".join(
        '<mediaFile type="entityList">'
        f"<filename>{escape(attachment.name)}</filename>"
        f"<hash>md5:{token}</hash>"
        f"<downloadUrl>{escape(media_url(form.project_id, form.xml_form_id, attachment.name))}"
        "</downloadUrl>"
        f"<integrityUrl>{escape(integrity_url(form.project_id, ENTITY_LIST))}</integrityUrl>"
        "</mediaFile>"
        for attachment in attachments)


def _etag_matches(etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    tags = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in tags or "*" in tags


def csv_response(listing: EntityList, filename: str) -> Response:
    """The CSV with an ETag of its own hash: OkHttp's cache then revalidates with a 304."""
    etag = f'"{listing.md5}"'
    if _etag_matches(etag):
        response = Response(status=304)
    else:
        response = Response(listing.content, content_type=CSV_CONTENT_TYPE)
        response.headers["Content-Disposition"] = attachment_disposition(filename)
    response.headers["ETag"] = etag
    return response


def serve_entity_list(form: Form, attachment: FormAttachment) -> ResponseReturnValue:
    return csv_response(list_for(access.caller(), form.project_id), attachment.name)


# --- integrity ----------------------------------------------------------------------------------


def _reads_the_list(who: Principal, project_id: int) -> bool:
    """Central: `entity.list`, or read access to a published form that consumes the list."""
    if permissions.can(who, "entity.list", project_id):
        return True
    forms = db().scalars(
        select(Form).join(FormDef, FormDef.id == Form.current_def_id)
        .where(Form.project_id == project_id, Form.deleted_at.is_(None),
               Form.state != FormState.CLOSED.value))
    return any(entity_list_attachments(form.current_def) and permissions.can_on_form(
        db(), who, "open_form.read", form) for form in forms if form.current_def is not None)


def requested_ids() -> list[str]:
    """`?id=a,b,c` as Collect sends it (repeated `id` parameters are accepted too)."""
    return [item for value in request.args.getlist("id") for item in value.split(",")
            if item.strip()]


def integrity_document(states: Iterable[tuple[str, bool]]) -> str:
    """Central's `entityListTemplate`; `deleted` must be exactly true/false (Collect parses
    it with `toBooleanStrict`)."""
    entities = "".join(
        f"<entity id={quoteattr(entity_id)}><deleted>{'true' if deleted else 'false'}"
        "</deleted></entity>" for entity_id, deleted in states)
    return f"{XML_DECLARATION}<data><entities>{entities}</entities></data>"


@blueprint.get("/v1/projects/<int:project_id>/datasets/<name>/integrity")
def integrity(project_id: int, name: str) -> Response:
    """Which of the asked ids the phone should delete (merged, or linked to another child).

    Without ids: every child the caller's list holds, none deleted (Central answers with the
    whole dataset then).
    """
    access.check_openrosa_version()
    who = access.signed_in()
    access.open_project(project_id)
    if name != ENTITY_LIST:
        raise problems.not_found()
    if not _reads_the_list(who, project_id):
        raise problems.insufficient_rights()
    villages = villages_visible_to(who, project_id)
    ids = requested_ids()
    if ids:
        states = deleted_states(db(), project_id, villages, ids)
    else:
        states = [(child.id, False) for child in visible_children(db(), project_id, villages)]
    return xml_response(integrity_document(states))
