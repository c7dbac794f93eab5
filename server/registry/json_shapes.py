"""The registry's JSON shapes (camelCase, Central's timestamps), for `server.api.v1.registry*`.

Serialisers only: what a caller may see is decided before these run
(`server.registry.access`), so each takes only rows that may be shown. Source records leave out
their raw answers and derived categories (either may carry Section F content).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, object_session

from exports.records import iso_utc as iso
from server.models import (
    Child,
    ChildCategoryEpisode,
    ChildFieldChoice,
    ChildMembership,
    ChildRecord,
    ChildUpdate,
    Flag,
    Form,
    LinkEdge,
    MatchCandidate,
    Submission,
    SubmissionDef,
)
from server.registry.access import ShownEpisode, category_of
from server.registry.child_code import format_code
from sync.categories import Category


def _labels(code: str) -> dict[str, str | None]:
    category = category_of(code)
    return {"labelVi": category.label_vi if category else None,
            "labelEn": category.label_en if category else None}


def episode_item_json(episode: ChildCategoryEpisode) -> dict[str, Any]:
    return {"code": episode.code, "subcode": episode.subcode, "status": episode.status}


def child_item_json(child: Child, episodes: Iterable[ChildCategoryEpisode],
                    open_flags: int) -> dict[str, Any]:
    """A row of the children list: the current view and the visible active categories."""
    return {"id": child.id, "code": format_code(child.number), "fullName": child.full_name,
            "homeName": child.home_name or None, "sex": child.sex, "dob": child.dob,
            "dobPrecision": child.dob_precision, "village": child.village_code,
            "householdHead": child.household_head, "vitalStatus": child.vital_status,
            "categories": [episode_item_json(e) for e in episodes], "openFlags": open_flags,
            "version": child.version, "createdAt": iso(child.created_at),
            "updatedAt": iso(child.updated_at)}


def _history_json(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {"at": entry.get("at"), "by": entry.get("by"), "status": entry.get("status"),
            "why": entry.get("why"), "rules": list(entry.get("rules") or []),
            "source": entry.get("source"), "confidential": bool(entry.get("confidential")),
            **({"event": entry["event"]} if entry.get("event") else {})}


def episode_json(shown: ShownEpisode) -> dict[str, Any]:
    episode = shown.episode
    return {**episode_item_json(episode), **_labels(episode.code),
            "urgentSignal": episode.urgent_signal, "confidential": episode.confidential,
            "openedAt": iso(episode.opened_at), "updatedAt": iso(episode.updated_at),
            "history": [_history_json(entry) for entry in shown.history]}


def record_json(record: ChildRecord, instance_id: str | None) -> dict[str, Any]:
    return {"id": record.id, "source": record.source, "sourceKey": record.source_key,
            "instanceId": instance_id, "householdKey": record.household_key,
            "fullName": record.full_name, "homeName": record.home_name or None,
            "sex": record.sex, "dob": record.dob,
            "dobPrecision": record.dob_precision, "dobEstimated": record.dob_estimated,
            "village": record.village_code, "householdHead": record.household_head,
            "motherName": record.mother_name, "fatherName": record.father_name,
            "guardianName": record.guardian_name, "createdAt": iso(record.created_at)}


def edge_json(edge: LinkEdge) -> dict[str, Any]:
    return {"id": edge.id, "kind": edge.kind, "source": edge.source, "recordA": edge.record_a,
            "recordB": edge.record_b, "score": edge.score, "modelVersion": edge.model_version,
            "explanation": edge.explanation, "createdBy": edge.created_by,
            "createdAt": iso(edge.created_at), "revoked": edge.revoked_at is not None,
            "revokedAt": iso(edge.revoked_at), "revokedBy": edge.revoked_by}


# What a masked flag keeps (`server.registry.access.FlagView.MASKED`): an allow-list, so a field
# added to flags later stays hidden from the commune chair until someone decides otherwise.
_MASKED_FLAG_FIELDS = frozenset({
    "id", "childId", "village", "deadline", "status", "raisedAt",
    "acknowledgedBy", "acknowledgedAt", "closedBy", "closedAt",
})


def flag_source_json(flag: Flag) -> dict[str, str] | None:
    """The submission that raised a flag without a record (a follow-up not applied), as the
    submissions API names it: `…/forms/{xmlFormId}/submissions/{instanceId}`, and the
    version `…/versions/{versionId}`."""
    session = object_session(flag)
    if flag.submission_def_id is None or session is None:
        return None
    row = session.execute(
        select(Form.xml_form_id, Submission.instance_id, SubmissionDef.instance_id)
        .join(Submission, Submission.id == SubmissionDef.submission_id)
        .join(Form, Form.id == SubmissionDef.form_id)
        .where(SubmissionDef.id == flag.submission_def_id)).first()
    if row is None:
        return None
    return {"xmlFormId": row[0], "instanceId": row[1], "versionId": row[2]}


def flag_json(flag: Flag, child: Child, *, masked: bool = False) -> dict[str, Any]:
    """A flag; ``masked`` keeps only `_MASKED_FLAG_FIELDS` (the others are null). `note` says
    why, when the code and kind alone do not; `submission` is the one that raised it."""
    source = None if masked else flag_source_json(flag)
    shown = {"id": flag.id, "childId": flag.child_id, "childName": child.full_name,
             "village": child.village_code, "code": flag.code, **_labels(flag.code),
             "kind": flag.kind, "deadline": iso(flag.deadline),
             "confidential": flag.confidential, "masked": False, "status": flag.status,
             "recordId": flag.record_id, "raisedAt": iso(flag.raised_at),
             "acknowledgedBy": flag.acknowledged_by,
             "acknowledgedAt": iso(flag.acknowledged_at), "closedBy": flag.closed_by,
             "closedAt": iso(flag.closed_at), "closeReason": flag.close_reason,
             "note": flag.note, "submission": source}
    if not masked:
        return shown
    return {**{key: value if key in _MASKED_FLAG_FIELDS else None
               for key, value in shown.items()}, "masked": True, "confidential": True}


def update_json(update: ChildUpdate, instance_id: str | None) -> dict[str, Any]:
    return {"id": update.id, "instanceId": instance_id, "baseVersion": update.base_version,
            "version": update.version, "properties": update.properties,
            "conflict": update.conflict, "conflictResolvedAt": iso(update.conflict_resolved_at),
            "createdAt": iso(update.created_at)}


def _records(session: Session, child_id: str) -> list[tuple[ChildRecord, str | None]]:
    return [(record, instance_id) for record, instance_id in session.execute(
        select(ChildRecord, SubmissionDef.instance_id)
        .join(ChildMembership, ChildMembership.record_id == ChildRecord.id)
        .outerjoin(SubmissionDef, SubmissionDef.id == ChildRecord.submission_def_id)
        .where(ChildMembership.child_id == child_id)
        .order_by(ChildRecord.created_at, ChildRecord.id))]


def _edges(session: Session, record_ids: Sequence[int]) -> list[LinkEdge]:
    if not record_ids:
        return []
    return list(session.scalars(select(LinkEdge).where(or_(
        LinkEdge.record_a.in_(record_ids), LinkEdge.record_b.in_(record_ids)))
        .order_by(LinkEdge.created_at, LinkEdge.id)))


def _updates(session: Session, child_id: str) -> list[tuple[ChildUpdate, str | None]]:
    return [(update, instance_id) for update, instance_id in session.execute(
        select(ChildUpdate, SubmissionDef.instance_id)
        .outerjoin(SubmissionDef, SubmissionDef.id == ChildUpdate.submission_def_id)
        .where(ChildUpdate.child_id == child_id).order_by(ChildUpdate.version, ChildUpdate.id))]


def _field_choices(session: Session, child_id: str) -> list[dict[str, Any]]:
    """The reviewers' choices in force (`server.registry.field_choices`)."""
    return [{"field": row.field, "value": row.value, "reason": row.reason,
             "chosenBy": row.chosen_by, "chosenAt": iso(row.chosen_at)}
            for row in session.scalars(select(ChildFieldChoice).where(
                ChildFieldChoice.child_id == child_id, ChildFieldChoice.withdrawn_at.is_(None))
                .order_by(ChildFieldChoice.field, ChildFieldChoice.id))]


def child_detail_json(session: Session, child: Child, episodes: Sequence[ShownEpisode],
                      flags: Sequence[Flag]) -> dict[str, Any]:
    """The whole child as one caller may see it (`episodes` and `flags` already redacted)."""
    records = _records(session, child.id)
    merged_from = list(session.scalars(select(Child.id).where(Child.merged_into == child.id)
                                       .order_by(Child.id)))
    return {
        "id": child.id, "code": format_code(child.number), "projectId": child.project_id,
        "status": child.status, "fullName": child.full_name,
        "homeName": child.home_name or None, "sex": child.sex, "dob": child.dob,
        "dobPrecision": child.dob_precision, "village": child.village_code,
        "householdHead": child.household_head, "motherName": child.mother_name,
        "fatherName": child.father_name, "guardianName": child.guardian_name,
        "personalId": child.personal_id or None, "vitalStatus": child.vital_status,
        "schoolStatus": child.school_status or None, "support": child.support.split(),
        "lastVisit": child.last_visit, "deathDate": child.death_date,
        "movedDate": child.moved_date, "movedTo": child.moved_to or None,
        "careArrangement": child.care_arrangement or None,
        "careRegistered": child.care_registered or None, "reportCount": child.report_count,
        "firstReportedAt": iso(child.first_reported_at), "version": child.version,
        "createdAt": iso(child.created_at),
        "updatedAt": iso(child.updated_at), "mergedFrom": merged_from,
        "categories": [episode_json(shown) for shown in episodes],
        "records": [record_json(record, instance_id) for record, instance_id in records],
        "links": [edge_json(edge) for edge in _edges(session, [r.id for r, _ in records])],
        "flags": [flag_json(flag, child) for flag in flags],
        "updates": [update_json(update, instance_id)
                    for update, instance_id in _updates(session, child.id)],
        "fieldChoices": _field_choices(session, child.id),
    }


def _side_json(row: ChildRecord | Child) -> dict[str, Any]:
    return {"fullName": row.full_name, "homeName": row.home_name or None, "sex": row.sex,
            "dob": row.dob,
            "dobPrecision": row.dob_precision, "village": row.village_code,
            "householdHead": row.household_head, "motherName": row.mother_name,
            "fatherName": row.father_name, "guardianName": row.guardian_name}


def candidate_json(candidate: MatchCandidate, record: ChildRecord, child: Child,
                   record_child_id: str | None, special: bool = False) -> dict[str, Any]:
    """A review-queue row: the new record (and the child it sits in now) beside the existing
    child it may be — the child that id is now, following merges (`proposedId` keeps the id
    the row named, which a decided row keeps as it was when decided). ``special``: either
    side is a child in special circumstances, which puts the row first (`review`)."""
    return {
        "id": candidate.id, "score": candidate.score, "reasons": list(candidate.reasons or []),
        "explanation": candidate.explanation, "status": candidate.status,
        "decision": candidate.decision, "decidedBy": candidate.decided_by,
        "decidedAt": iso(candidate.decided_at), "edgeId": candidate.edge_id,
        "specialCircumstances": special,
        "record": {"id": record.id, "childId": record_child_id, "source": record.source,
                   "createdAt": iso(record.created_at), **_side_json(record)},
        "child": {"id": child.id, "proposedId": candidate.child_id, "status": child.status,
                  "mergedInto": child.merged_into, "version": child.version,
                  **_side_json(child)},
    }


def category_json(category: Category) -> dict[str, Any]:
    return {"code": category.code, "labelVi": category.label_vi, "labelEn": category.label_en,
            "group": category.group.value, "article10Point": category.article10_point,
            "legalBasis": list(category.legal_basis), "urgent": category.urgent,
            "deadlineHours": category.deadline_hours, "sensitive": category.sensitive,
            "visibleOnPhone": category.visible_on_phone,
            "confirmedBy": category.confirmed_by.value, "active": category.active,
            "subcodes": [{"code": sub.code, "labelVi": sub.label_vi, "labelEn": sub.label_en}
                         for sub in category.subcodes]}
