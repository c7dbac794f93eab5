"""ODK Central's JSON shapes, in one place: serialisers for what we send, marshmallow schemas
for what we accept.

Field names and nulls follow Central (lib/model/frames.js, lib/model/frames/form.js), so pyodk
and scripts written for Central read our answers unchanged. Our own additions (`communeCode`,
`villages`) are extra keys Central clients ignore.
"""

from __future__ import annotations

import hashlib
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from exports.records import iso_utc as iso
from server.models import (
    Actor,
    AppUser,
    Form,
    FormAttachment,
    FormDef,
    Project,
    ReviewState,
    Session,
    User,
)

# Central's app-user sessions never expire; it shows this date for them.
NEVER_EXPIRES = "9999-12-31T23:59:59.000Z"

# Village (thôn) codes are assigned by the commune, e.g. "00001-T01" (docs/domain.md §1).
VILLAGE_CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$",
                               error="village codes are letters, digits, '-', '_' or '.'")


# --- what we send ---------------------------------------------------------------------------


def actor_json(actor: Actor) -> dict[str, Any]:
    return {"id": actor.id, "type": actor.type, "displayName": actor.display_name,
            "createdAt": iso(actor.created_at), "updatedAt": iso(actor.updated_at),
            "deletedAt": iso(actor.deleted_at)}


def user_json(user: User) -> dict[str, Any]:
    return {**actor_json(user.actor), "email": user.email}


def app_user_json(app_user: AppUser) -> dict[str, Any]:
    """Central's field key; the token stays visible to managers so a new QR code can be made."""
    return {**actor_json(app_user.actor), "token": app_user.token,
            "projectId": app_user.project_id, "createdBy": app_user.created_by,
            "expiresAt": NEVER_EXPIRES if app_user.token else None,
            "villages": list(app_user.villages or [])}


def project_json(project: Project) -> dict[str, Any]:
    return {"id": project.id, "name": project.name, "description": project.description,
            "archived": project.archived, "keyId": None,
            "createdAt": iso(project.created_at), "updatedAt": iso(project.updated_at),
            "deletedAt": iso(project.deleted_at), "communeCode": project.commune_code}


def session_json(session: Session) -> dict[str, Any]:
    return {"token": session.token, "csrf": session.csrf,
            "expiresAt": iso(session.expires_at), "createdAt": iso(session.created_at)}


def form_json(form: Form, form_def: FormDef | None) -> dict[str, Any]:
    """A form merged with one of its versions, as Central returns it (`Form.forApi`)."""
    body: dict[str, Any] = {
        "projectId": form.project_id, "xmlFormId": form.xml_form_id, "state": form.state,
        "enketoId": None, "enketoOnceId": None, "createdAt": iso(form.created_at),
        "updatedAt": iso(form.updated_at), "keyId": None,
    }
    if form_def is not None:
        # Central also sends the SHA-1; we keep MD5 and SHA-256 and derive it on the fly.
        sha1 = hashlib.sha1(form_def.xml_bytes, usedforsecurity=False).hexdigest()
        body.update({"name": form_def.name, "version": form_def.version,
                     "hash": form_def.md5, "sha": sha1, "sha256": form_def.sha256,
                     "draftToken": form_def.draft_token,
                     "publishedAt": iso(form_def.published_at)})
    if form.deleted_at is not None:
        body.update({"id": form.id, "deletedAt": iso(form.deleted_at)})
    return body


def attachment_json(attachment: FormAttachment, md5: str | None) -> dict[str, Any]:
    """Central ≥ v2025.1's form attachment (pyodk reads `exists`)."""
    has_blob = attachment.blob_id is not None
    has_dataset = attachment.dataset is not None
    return {"name": attachment.name, "type": attachment.type, "hash": md5,
            "exists": has_blob or has_dataset, "blobExists": has_blob,
            "datasetExists": has_dataset, "updatedAt": iso(attachment.updated_at)}


# --- what we accept -------------------------------------------------------------------------


class _Body(Schema):
    class Meta:
        # Central takes the fields it knows from a body and ignores the rest (`fromApi`).
        unknown = EXCLUDE


class SessionInput(_Body):
    email = fields.String(required=True, validate=validate.Length(min=1))
    password = fields.String(required=True, validate=validate.Length(min=1))


class UserCreateInput(_Body):
    email = fields.Email(required=True)
    password = fields.String(load_default=None, allow_none=True)
    display_name = fields.String(data_key="displayName", load_default=None, allow_none=True,
                                 validate=validate.Length(max=255))


class UserUpdateInput(_Body):
    email = fields.Email()
    display_name = fields.String(data_key="displayName", validate=validate.Length(min=1,
                                                                                  max=255))


class PasswordInput(_Body):
    old = fields.String(required=True)
    new = fields.String(required=True)


class ProjectInput(_Body):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    description = fields.String(load_default=None, allow_none=True)
    commune_code = fields.String(data_key="communeCode", load_default=None, allow_none=True,
                                 validate=validate.Length(max=16))


class ProjectUpdateInput(_Body):
    name = fields.String(validate=validate.Length(min=1, max=255))
    description = fields.String(allow_none=True)
    archived = fields.Boolean(allow_none=True)
    commune_code = fields.String(data_key="communeCode", allow_none=True,
                                 validate=validate.Length(max=16))


class AppUserInput(_Body):
    display_name = fields.String(data_key="displayName", required=True,
                                 validate=validate.Length(min=1, max=255))
    villages = fields.List(fields.String(validate=VILLAGE_CODE), load_default=list)


class AppUserUpdateInput(_Body):
    display_name = fields.String(data_key="displayName", validate=validate.Length(min=1,
                                                                                  max=255))
    villages = fields.List(fields.String(validate=VILLAGE_CODE))


class FormUpdateInput(_Body):
    state = fields.String(required=True,
                          validate=validate.OneOf(["open", "closing", "closed"]))


class ReviewStateInput(_Body):
    """A submission's review state (submissions.py reads it itself, with Central's codes)."""

    review_state = fields.String(data_key="reviewState", required=True, validate=validate.OneOf(
        [state.value for state in ReviewState]))


class CommentInput(_Body):
    body = fields.String(required=True)
