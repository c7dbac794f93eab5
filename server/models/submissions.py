"""Submissions: one logical record per first instanceID, one `SubmissionDef` per version.

An edit from Collect (`meta/deprecatedID`) adds a version; versions are never overwritten.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, utcnow


class ReviewState(enum.StrEnum):
    """Central's review states; NULL in the database means "received"."""

    HAS_ISSUES = "hasIssues"
    EDITED = "edited"
    APPROVED = "approved"
    REJECTED = "rejected"


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("form_id", "instance_id"),
        Index("ix_submissions_form_created", "form_id", "created_at"),
        Index("ix_submissions_form_village", "form_id", "village_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"))
    # The instanceID of the first version: the submission's stable id in URLs.
    instance_id: Mapped[str] = mapped_column(String(255))
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    device_id: Mapped[str | None] = mapped_column(String(255))
    review_state: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    # The village (thôn) the current version's answers name, by the form's field policy
    # (`sync.field_policy`); NULL when the form names none. Callers limited to villages see
    # only their villages' submissions (`server.auth.visibility`).
    village_code: Mapped[str | None] = mapped_column(String(64), default=None)

    versions: Mapped[list[SubmissionDef]] = relationship(
        back_populates="submission", order_by="SubmissionDef.id"
    )


class SubmissionDef(Base):
    __tablename__ = "submission_defs"
    __table_args__ = (UniqueConstraint("form_id", "instance_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    # Denormalised so (form, instanceID) is unique across all versions of all submissions.
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"))
    form_def_id: Mapped[int] = mapped_column(ForeignKey("form_defs.id"), index=True)
    instance_id: Mapped[str] = mapped_column(String(255))
    deprecated_id: Mapped[str | None] = mapped_column(String(255))
    instance_name: Mapped[str | None] = mapped_column(String(255))
    xml: Mapped[str] = mapped_column(Text)
    xml_sha256: Mapped[str] = mapped_column(String(64))
    current: Mapped[bool] = mapped_column(default=True)
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    device_id: Mapped[str | None] = mapped_column(String(255))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The registry sync claims versions from this column (pending → done | failed | skipped),
    # so a crash or a lost worker loses nothing: whatever is not done is still pending.
    sync_state: Mapped[str] = mapped_column(String(16), server_default="pending", index=True)
    sync_error: Mapped[str | None] = mapped_column(Text)

    submission: Mapped[Submission] = relationship(back_populates="versions")
    attachments: Mapped[list[SubmissionAttachment]] = relationship(
        back_populates="submission_def", order_by="SubmissionAttachment.name"
    )


class SubmissionAttachment(Base):
    """A file a submission version expects; `blob_id` stays NULL until the phone sends it."""

    __tablename__ = "submission_attachments"
    __table_args__ = (UniqueConstraint("submission_def_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_def_id: Mapped[int] = mapped_column(ForeignKey("submission_defs.id"))
    name: Mapped[str] = mapped_column(String(255))
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id"))
    # True for the client audit log (`meta/audit`), which Central lists apart.
    is_client_audit: Mapped[bool] = mapped_column(default=False)

    submission_def: Mapped[SubmissionDef] = relationship(back_populates="attachments")


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
