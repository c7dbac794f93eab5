"""What the API sends, as marshmallow schemas: the OpenAPI description's answers
(`openapi.documented`), beside the `*Input` schemas that describe what it accepts.

The serialisers that build the answers (`schemas.py`, `server/registry/json_shapes.py`) stay
plain functions: answers are built once per row on hot lists. tools/contract.py checks every
answer of a live server against these schemas, so the two cannot drift apart unnoticed.
Required keys are the ones every answer carries; nullable ones say so (`allow_none`).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields


def _text(**kwargs: Any) -> fields.String:
    return fields.String(allow_none=True, **kwargs)


def _moment(**kwargs: Any) -> fields.String:
    """An ISO 8601 UTC moment (`exports.records.iso_utc`), or null."""
    return fields.String(allow_none=True, metadata={"description": "ISO 8601, UTC"},
                         **kwargs)


def _number(**kwargs: Any) -> fields.Integer:
    return fields.Integer(allow_none=True, **kwargs)


# --- Central's shapes (lib/model/frames.js) -------------------------------------------------


class Actor(Schema):
    """A user or an app user, as Central's `Actor`."""

    id = fields.Integer(required=True)
    type = fields.String(required=True)
    displayName = _text(required=True)
    createdAt = _moment(required=True)
    updatedAt = _moment()
    deletedAt = _moment()


class User(Actor):
    """A web user; extended adds their site-wide `verbs`."""

    email = fields.String(required=True)
    verbs = fields.List(fields.String())


class AppUser(Actor):
    """An app user (Central's field key) with the villages its phone serves."""

    token = _text(required=True)
    projectId = fields.Integer(required=True)
    createdBy = fields.Raw(metadata={"description": "actor id, or the actor when extended"})
    expiresAt = _text()
    villages = fields.List(fields.String(), required=True)
    lastUsed = _moment()


class Session(Schema):
    """A bearer token and its CSRF token for the pages."""

    token = fields.String(required=True)
    csrf = fields.String(required=True)
    expiresAt = _moment(required=True)
    createdAt = _moment(required=True)


class Project(Schema):
    """A project (one commune); extended adds counts and the caller's verbs."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    description = _text()
    archived = fields.Boolean(allow_none=True)
    keyId = _number()
    createdAt = _moment(required=True)
    updatedAt = _moment()
    deletedAt = _moment()
    communeCode = _text()
    forms = fields.Integer()
    appUsers = fields.Integer()
    lastSubmission = _moment()
    verbs = fields.List(fields.String())


class Role(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    system = fields.String(required=True)
    createdAt = _moment()
    updatedAt = _moment()
    verbs = fields.List(fields.String(), required=True)


class Assignment(Schema):
    """An actor holding a role (`actorId`, or `actor` when extended); project roles limited
    to villages list them."""

    actorId = fields.Integer()
    actor = fields.Nested(Actor)
    roleId = fields.Integer(required=True)
    villages = fields.List(fields.String(), allow_none=True)


class FormAssignment(Assignment):
    xmlFormId = fields.String(required=True)


class Form(Schema):
    """A form merged with one version; extended adds submission counts and its creator."""

    projectId = fields.Integer(required=True)
    xmlFormId = fields.String(required=True)
    state = fields.String(required=True)
    enketoId = _text()
    enketoOnceId = _text()
    createdAt = _moment(required=True)
    updatedAt = _moment()
    keyId = _number()
    name = _text()
    version = _text()
    hash = _text()
    sha = _text()
    sha256 = _text()
    draftToken = _text()
    publishedAt = _moment()
    id = fields.Integer()
    deletedAt = _moment()
    submissions = fields.Integer()
    reviewStates = fields.Dict(values=fields.Integer())
    lastSubmission = _moment()
    excelContentType = _text()
    entityRelated = fields.Boolean()
    publicLinks = fields.Integer()
    createdBy = fields.Nested(Actor, allow_none=True)


class FormAttachment(Schema):
    name = fields.String(required=True)
    type = fields.String(required=True)
    hash = _text()
    exists = fields.Boolean(required=True)
    blobExists = fields.Boolean()
    datasetExists = fields.Boolean()
    updatedAt = _moment()


class SubmissionVersion(Schema):
    """One version of a submission (Central's submission def)."""

    instanceId = fields.String(required=True)
    instanceName = _text()
    submitterId = _number()
    deviceId = _text()
    userAgent = _text()
    createdAt = _moment(required=True)
    current = fields.Boolean(required=True)
    submitter = fields.Nested(Actor, allow_none=True)
    formVersion = _text()


class Submission(Schema):
    instanceId = fields.String(required=True)
    submitterId = _number()
    deviceId = _text()
    userAgent = _text()
    reviewState = _text(required=True)
    createdAt = _moment(required=True)
    updatedAt = _moment()
    deletedAt = _moment()
    currentVersion = fields.Nested(SubmissionVersion, required=True)
    submitter = fields.Nested(Actor, allow_none=True)
    formVersion = _text()


class SubmissionAttachment(Schema):
    name = fields.String(required=True)
    exists = fields.Boolean(required=True)


class Comment(Schema):
    body = fields.String(required=True)
    actorId = _number(required=True)
    createdAt = _moment(required=True)
    actor = fields.Nested(Actor, allow_none=True)


class CollectSettings(Schema):
    """What a phone's QR code carries."""

    url = fields.String(required=True)
    settings = fields.Dict(required=True)
    payload = fields.String(required=True)


class Dataset(Schema):
    """An entity list: the registry's `children`."""

    name = fields.String(required=True)
    createdAt = _moment()
    projectId = fields.Integer()
    approvalRequired = fields.Boolean()
    linkedForms = fields.List(fields.Dict())
    sourceForms = fields.List(fields.Dict())
    properties = fields.List(fields.Dict())


class EntityVersion(Schema):
    label = _text()
    current = fields.Boolean()
    version = fields.Integer(required=True)
    createdAt = _moment()
    data = fields.Dict()


class Entity(Schema):
    uuid = fields.String(required=True)
    createdAt = _moment(required=True)
    updatedAt = _moment()
    deletedAt = _moment()
    conflict = _text()
    currentVersion = fields.Nested(EntityVersion, required=True)


class Audit(Schema):
    actorId = _number(required=True)
    action = fields.String(required=True)
    acteeId = _text(required=True)
    details = fields.Dict(allow_none=True)
    loggedAt = _moment(required=True)
    actor = fields.Nested(Actor, allow_none=True)
    actee = fields.Dict(allow_none=True)


# --- the registry (server/registry/json_shapes.py) ------------------------------------------


class CategoryItem(Schema):
    code = fields.String(required=True)
    subcode = _text()
    status = fields.String(required=True)


class ChildItem(Schema):
    """A row of the children list."""

    id = fields.String(required=True)
    code = fields.String(required=True)
    fullName = _text(required=True)
    village = _text(required=True)
    categories = fields.List(fields.Nested(CategoryItem), required=True)
    openFlags = fields.Integer(required=True)
    version = fields.Integer(required=True)


class Flag(Schema):
    """A flag; a masked one keeps its id, child, village, deadline and status only."""

    id = fields.Integer(required=True)
    childId = fields.String(required=True)
    village = _text()
    code = _text(required=True)
    kind = _text()
    status = fields.String(required=True)
    masked = fields.Boolean(required=True)
    confidential = fields.Boolean(required=True)
    deadline = _moment()
    raisedAt = _moment()


class ChildDetail(Schema):
    """The whole child as the caller may see it."""

    id = fields.String(required=True)
    code = fields.String(required=True)
    projectId = fields.Integer(required=True)
    status = fields.String(required=True)
    fullName = _text(required=True)
    village = _text(required=True)
    version = fields.Integer(required=True)
    mergedFrom = fields.List(fields.String(), required=True)
    categories = fields.List(fields.Dict(), required=True)
    records = fields.List(fields.Dict(), required=True)
    links = fields.List(fields.Dict(), required=True)
    flags = fields.List(fields.Nested(Flag), required=True)
    updates = fields.List(fields.Dict(), required=True)
    fieldChoices = fields.List(fields.Dict(), required=True)


class Unmerged(Schema):
    recordId = fields.Integer(required=True)
    childId = fields.String(required=True)
    formerChildId = fields.String(required=True)


class Category(Schema):
    """An entry of the category catalogue (docs/categories.md §5)."""

    code = fields.String(required=True)
    labelVi = fields.String(required=True)
    labelEn = fields.String(required=True)
    group = fields.String(required=True)
    urgent = fields.Boolean(required=True)
    sensitive = fields.Boolean(required=True)
    active = fields.Boolean(required=True)
    subcodes = fields.List(fields.Dict(), required=True)


class ReviewRow(Schema):
    """A review-queue row: the new record beside the child it may be."""

    id = fields.Integer(required=True)
    score = fields.Float(allow_none=True)
    status = fields.String(required=True)
    decision = _text()
    specialCircumstances = fields.Boolean(required=True)
    record = fields.Dict(required=True)
    child = fields.Dict(required=True)


class Revoked(Schema):
    edge = fields.Dict(required=True)


class ImportReport(Schema):
    projectId = fields.Integer(required=True)
    source = fields.String(required=True)


class ReportListing(Schema):
    name = fields.String(required=True)
    title = fields.Dict(required=True)
    formats = fields.List(fields.String())


class Report(Schema):
    """One report as JSON: its tables, for the period asked."""


# --- OData (Central's lib/formats/odata.js) --------------------------------------------------


class ODataDocument(Schema):
    """The service document, or one page of a table's rows."""

    context = fields.String(data_key="@odata.context", required=True)
    value = fields.List(fields.Dict(), required=True)
