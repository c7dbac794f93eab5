"""Submissions as export rows, read page by page, each page in its own short transaction.

An export of a large form can take minutes to stream. Holding one transaction open for all of it
would, on SQLite, hold the write lock (every transaction begins IMMEDIATE) and stop phones from
submitting. So rows are read in keyset pages — newest first, as Central exports — and each page
opens and closes its own session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from server.models import Actor, Blob, FormDef, Submission, SubmissionAttachment, SubmissionDef

# Rows a page: each page is one short transaction; a thousand rows take tens of
# milliseconds, and fewer pages mean fewer round trips (bench/exports_submissions.py).
PAGE_SIZE = 1000

SessionFactory = Callable[[], Session]


@dataclass(frozen=True)
class ExportRow:
    """What every export format needs about one submission and its current version."""

    submission_id: int
    instance_id: str
    xml: str
    created_at: datetime
    updated_at: datetime | None
    deleted_at: datetime | None
    submitter_id: int | None
    submitter_name: str | None
    review_state: str | None
    device_id: str | None
    form_version: str
    edits: int = 0
    attachments_present: int = 0
    attachments_expected: int = 0


@dataclass(frozen=True)
class Cursor:
    """The last row of the previous page: rows strictly older come next."""

    created_at: datetime
    submission_id: int


AnySelect = Select[*tuple[Any, ...]]


def _base(form_id: int, where: ColumnElement[bool] | None, include_deleted: bool) -> AnySelect:
    # The counts ride along as correlated subqueries (indexed lookups per row): asked apart,
    # with an IN list of a page's ids, they cost more than the page itself.
    other_version = aliased(SubmissionDef)
    query: AnySelect = (
        select(Submission.id, Submission.instance_id, SubmissionDef.xml, Submission.created_at,
               Submission.updated_at, Submission.deleted_at, Submission.submitter_id,
               Actor.display_name, Submission.review_state, Submission.device_id,
               FormDef.version,
               select(func.count(other_version.id))
               .where(other_version.submission_id == Submission.id).scalar_subquery(),
               select(func.count(SubmissionAttachment.blob_id))
               .where(SubmissionAttachment.submission_def_id == SubmissionDef.id)
               .scalar_subquery(),
               select(func.count(SubmissionAttachment.id))
               .where(SubmissionAttachment.submission_def_id == SubmissionDef.id)
               .scalar_subquery())
        .join(SubmissionDef, and_(SubmissionDef.submission_id == Submission.id,
                                  SubmissionDef.current.is_(True)))
        .join(FormDef, FormDef.id == SubmissionDef.form_def_id)
        .outerjoin(Actor, Actor.id == Submission.submitter_id)
        .where(Submission.form_id == form_id)
    )
    if not include_deleted:
        query = query.where(Submission.deleted_at.is_(None))
    if where is not None:
        query = query.where(where)
    return query


def _older_than(cursor: Cursor) -> ColumnElement[bool]:
    return or_(Submission.created_at < cursor.created_at,
               and_(Submission.created_at == cursor.created_at,
                    Submission.id < cursor.submission_id))


def fetch_page(db: Session, form_id: int, *, where: ColumnElement[bool] | None = None,
               after: Cursor | None = None, limit: int | None = None, offset: int = 0,
               include_deleted: bool = False) -> list[ExportRow]:
    """One page of rows, newest first, after `after` (keyset) or from `offset`."""
    query = _base(form_id, where, include_deleted)
    if after is not None:
        query = query.where(_older_than(after))
    query = query.order_by(Submission.created_at.desc(), Submission.id.desc())
    return [
        ExportRow(submission_id=r[0], instance_id=r[1], xml=r[2], created_at=r[3],
                  updated_at=r[4], deleted_at=r[5], submitter_id=r[6], submitter_name=r[7],
                  review_state=r[8], device_id=r[9], form_version=r[10], edits=r[11] - 1,
                  attachments_present=r[12], attachments_expected=r[13])
        for r in db.execute(query.offset(offset).limit(limit or PAGE_SIZE))
    ]


def iter_rows(sessions: SessionFactory, form_id: int, *, where: ColumnElement[bool] | None = None,
              after: Cursor | None = None, offset: int = 0, limit: int | None = None,
              include_deleted: bool = False, page_size: int | None = None
              ) -> Iterator[ExportRow]:
    """All matching rows, newest first, reading one short transaction per page."""
    page_size = page_size or PAGE_SIZE
    remaining = limit
    while remaining is None or remaining > 0:
        size = page_size if remaining is None else min(page_size, remaining)
        with sessions() as db:
            page = fetch_page(db, form_id, where=where, after=after, limit=size, offset=offset,
                              include_deleted=include_deleted)
        offset = 0
        yield from page
        if len(page) < size:
            return
        if remaining is not None:
            remaining -= len(page)
        after = Cursor(page[-1].created_at, page[-1].submission_id)


def count_rows(db: Session, form_id: int, where: ColumnElement[bool] | None = None,
               include_deleted: bool = False) -> int:
    query = select(func.count(Submission.id)).where(Submission.form_id == form_id)
    if not include_deleted:
        query = query.where(Submission.deleted_at.is_(None))
    if where is not None:
        query = query.where(where)
    return int(db.scalar(query) or 0)


def cursor_for(db: Session, form_id: int, instance_id: str,
               where: ColumnElement[bool] | None = None) -> Cursor | None:
    query = select(Submission.created_at, Submission.id).where(
        Submission.form_id == form_id, Submission.instance_id == instance_id)
    if where is not None:
        query = query.where(where)
    row = db.execute(query).first()
    return Cursor(row[0], row[1]) if row else None


@dataclass(frozen=True)
class MediaFile:
    name: str
    sha256: str
    # Which version named it, and whether it is Collect's audit log: a caller who may not
    # see every answer does not get every file (server.operations.visible_data).
    submission_def_id: int = 0
    is_client_audit: bool = False


def iter_media(sessions: SessionFactory, form_id: int,
               where: ColumnElement[bool] | None = None) -> Iterator[MediaFile]:
    """The received attachment files of the current versions of live submissions (of those
    `where` selects)."""
    last_id = 0
    while True:
        query = (
            select(SubmissionAttachment.id, SubmissionAttachment.name, Blob.sha256,
                   SubmissionAttachment.submission_def_id, SubmissionAttachment.is_client_audit)
            .join(SubmissionDef, SubmissionDef.id == SubmissionAttachment.submission_def_id)
            .join(Submission, Submission.id == SubmissionDef.submission_id)
            .join(Blob, Blob.id == SubmissionAttachment.blob_id)
            .where(Submission.form_id == form_id, Submission.deleted_at.is_(None),
                   SubmissionDef.current.is_(True), SubmissionAttachment.id > last_id))
        if where is not None:
            query = query.where(where)
        with sessions() as db:
            page = db.execute(query.order_by(SubmissionAttachment.id).limit(PAGE_SIZE)).all()
        yield from (MediaFile(name, sha256, def_id, bool(audit))
                    for _, name, sha256, def_id, audit in page)
        if len(page) < PAGE_SIZE:
            return
        last_id = page[-1][0]
