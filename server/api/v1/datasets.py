"""The registry as Central's dataset API: the one entity list `children` (Central:
lib/resources/datasets.js, lib/resources/entities.js), read-only — pyodk's
`client.entities.list()` and `entity_lists.list()` work against it.

Children are changed by phones (screening, follow-up) and by reviewers, never by entity
writes, so POST/PATCH/DELETE of entities are not offered. Every read is limited to the
villages the caller's roles cover, and `categories` never holds a sensitive or
confidential code (docs/privacy.md §4), exactly as on the phones.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_restx import Namespace, Resource
from sqlalchemy import func, select

from exports.cells import safe_csv
from server import problems
from server.api.v1 import shapes
from server.api.v1.openapi import documented
from server.api.v1.schemas import iso
from server.auth.principal import Principal
from server.context import db
from server.httputil import RAW_PARAMETER, raw_requested
from server.models import Child, ChildUpdate, Form, FormAttachment, FormDef
from server.models.registry import ChildStatus, UpdateConflict
from server.openrosa.entity_lists import csv_response, is_entity_list
from server.operations.audit_records import record_entity_list
from server.registry.entities import (
    ENTITY_LIST,
    PROPERTIES,
    EntityList,
    EntityRow,
    entity_list,
    entity_row,
    entity_rows,
    villages_visible_to,
)
from server.route_access import acting_user, readable_project

ns = Namespace("datasets", description="The registry as Central's `children` entity list",
               path="/")

DATASET = "/projects/<int:project_id>/datasets"


def _dataset(who: Principal, project_id: int, name: str, verb: str) -> int:
    """The project id once the caller may `verb` on it and the dataset is ours, else 404/403."""
    project = readable_project(who, project_id, verb)
    if name != ENTITY_LIST:
        raise problems.not_found()
    return project.id


def _first_child_at(project_id: int) -> str | None:
    created = db().scalar(select(func.min(Child.created_at))
                          .where(Child.project_id == project_id))
    return iso(created)


def _linked_forms(project_id: int) -> list[dict[str, str]]:
    rows = db().execute(
        select(Form, FormDef, FormAttachment)
        .join(FormDef, FormDef.id == Form.current_def_id)
        .join(FormAttachment, FormAttachment.form_def_id == FormDef.id)
        .where(Form.project_id == project_id, Form.deleted_at.is_(None)))
    return [{"xmlFormId": form.xml_form_id, "name": form_def.name or form.xml_form_id}
            for form, form_def, attachment in rows if is_entity_list(attachment)]


def dataset_json(project_id: int) -> dict[str, Any]:
    return {"name": ENTITY_LIST, "createdAt": _first_child_at(project_id),
            "projectId": project_id, "approvalRequired": False, "ownerOnly": False}


def _conflicts(child_ids: list[str]) -> dict[str, str]:
    """The unresolved conflict of each child, hard before soft (Central's `conflict`)."""
    found: dict[str, str] = {}
    if not child_ids:
        return found
    rows = db().execute(select(ChildUpdate.child_id, ChildUpdate.conflict).where(
        ChildUpdate.child_id.in_(child_ids), ChildUpdate.conflict.is_not(None),
        ChildUpdate.conflict_resolved_at.is_(None)))
    for child_id, conflict in rows:
        if found.get(child_id) != UpdateConflict.HARD.value:
            found[child_id] = str(conflict)
    return found


def entity_json(row: EntityRow, child: Child, conflict: str | None,
                with_data: bool) -> dict[str, Any]:
    version: dict[str, Any] = {"label": row.label, "current": True, "version": row.version,
                               "createdAt": iso(child.updated_at), "creatorId": None,
                               "baseVersion": None, "conflictingProperties": None}
    if with_data:
        version["data"] = row.properties
    return {"uuid": row.id, "createdAt": iso(child.created_at), "creatorId": None,
            "updatedAt": iso(child.updated_at), "deletedAt": None, "conflict": conflict,
            "currentVersion": version}


def _listing(who: Principal, project_id: int) -> EntityList:
    return entity_list(db(), project_id, villages_visible_to(who, project_id))


@ns.route(DATASET)
class DatasetList(Resource):
    @documented(shapes.Dataset(many=True))
    def get(self, project_id: int) -> list[dict[str, Any]]:
        """The project's entity lists: the registry's `children`."""
        project = readable_project(acting_user(), project_id, "dataset.list")
        return [dataset_json(project.id)]


@ns.route(f"{DATASET}/<name>")
class DatasetDetail(Resource):
    @documented(shapes.Dataset)
    def get(self, project_id: int, name: str) -> dict[str, Any]:
        """`children` with its properties and the forms that read it."""
        project_id = _dataset(acting_user(), project_id, name, "dataset.read")
        forms = _linked_forms(project_id)
        return {**dataset_json(project_id), "linkedForms": forms, "sourceForms": [],
                "properties": [{"name": prop, "odataName": prop, "publishedAt": None,
                                "forms": []} for prop in PROPERTIES]}


@ns.route(f"{DATASET}/<name>/entities.csv")
class EntitiesCsv(Resource):
    @documented(produces=("text/csv",))
    def get(self, project_id: int, name: str) -> Response:
        """The caller's villages' children as the phones' CSV (`name,label,__version,…`).

        People open this file in a spreadsheet, so its cells are spreadsheet-safe
        (exports/cells.py); `?raw=true` gives the phones' bytes exactly."""
        who = acting_user()
        project_id = _dataset(who, project_id, name, "entity.list")
        listing = _listing(who, project_id)
        raw = raw_requested(request.args.get(RAW_PARAMETER))
        if not raw:
            listing = EntityList(safe_csv(listing.content), listing.rows)
        response = csv_response(listing, f"{ENTITY_LIST}.csv")
        if response.status_code != 304:  # a revalidation sends nothing
            record_entity_list(db(), who, project_id, "dataset.entity.export", listing.rows,
                               raw=raw)
        return response


@ns.route(f"{DATASET}/<name>/entities")
class EntityCollection(Resource):
    @documented(shapes.Entity(many=True))
    def get(self, project_id: int, name: str) -> list[dict[str, Any]]:
        """Central's entity list (metadata and current version, without data)."""
        who = acting_user()
        project_id = _dataset(who, project_id, name, "entity.list")
        rows = entity_rows(db(), project_id, villages_visible_to(who, project_id))
        children = {child.id: child for child in db().scalars(
            select(Child).where(Child.id.in_([row.id for row in rows])))} if rows else {}
        conflicts = _conflicts(list(children))
        record_entity_list(db(), who, project_id, "dataset.entity.list", len(rows))
        return [entity_json(row, children[row.id], conflicts.get(row.id), with_data=False)
                for row in rows]


@ns.route(f"{DATASET}/<name>/entities/<uuid>")
class EntityDetail(Resource):
    @documented(shapes.Entity)
    def get(self, project_id: int, name: str, uuid: str) -> dict[str, Any]:
        """One child as an entity, with its data; 404 for merged ids and other villages."""
        who = acting_user()
        project_id = _dataset(who, project_id, name, "entity.read")
        child = db().get(Child, uuid)
        villages = villages_visible_to(who, project_id)
        if (child is None or child.project_id != project_id
                or child.status != ChildStatus.ACTIVE.value
                or (villages is not None and child.village_code not in villages)):
            raise problems.not_found()
        return entity_json(entity_row(db(), child), child, _conflicts([child.id]).get(child.id),
                           with_data=True)
