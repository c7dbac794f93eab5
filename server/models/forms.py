"""Forms, their versions (definitions) and the media files each version expects."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, utcnow


class FormState(enum.StrEnum):
    OPEN = "open"
    # Central: still accepts submissions but is hidden from the phones' form list.
    CLOSING = "closing"
    CLOSED = "closed"


class Form(Base):
    __tablename__ = "forms"
    __table_args__ = (UniqueConstraint("project_id", "xml_form_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    xml_form_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default=FormState.OPEN.value)
    current_def_id: Mapped[int | None] = mapped_column(
        ForeignKey("form_defs.id", use_alter=True, name="fk_forms_current_def_id_form_defs")
    )
    draft_def_id: Mapped[int | None] = mapped_column(
        ForeignKey("form_defs.id", use_alter=True, name="fk_forms_draft_def_id_form_defs")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(default=None, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    current_def: Mapped[FormDef | None] = relationship(foreign_keys=[current_def_id])
    draft_def: Mapped[FormDef | None] = relationship(foreign_keys=[draft_def_id])


class FormDef(Base):
    """One version of a form. `xml` is exactly what phones download; `md5` is of its bytes."""

    __tablename__ = "form_defs"
    __table_args__ = (Index("ix_form_defs_form_version", "form_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"), index=True)
    version: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str | None] = mapped_column(String(255))
    # Deferred: every submission looks its form version up, and needs only ids and paths.
    xml: Mapped[str] = mapped_column(Text, deferred=True)
    md5: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    # Instance paths of binary questions (photos, audio …): a submission's expected attachments.
    binary_paths: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Entity lists this version creates or updates (ODK entities), by dataset name.
    entity_datasets: Mapped[list[Any]] = mapped_column(JSON, default=list)
    xlsform_blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id"))
    draft_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(default=None)

    attachments: Mapped[list[FormAttachment]] = relationship(
        back_populates="form_def", order_by="FormAttachment.name", cascade="all, delete-orphan"
    )

    @property
    def xml_bytes(self) -> bytes:
        return self.xml.encode("utf-8")


class FormAttachment(Base):
    """A media file a form version references (`jr://images/logo.png`, `villages.csv` …)."""

    __tablename__ = "form_attachments"
    __table_args__ = (UniqueConstraint("form_def_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_def_id: Mapped[int] = mapped_column(ForeignKey("form_defs.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    # Central's types: "image", "audio", "video", "file".
    type: Mapped[str] = mapped_column(String(16), default="file")
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id"))
    # Set when the file is an entity list served from the registry (docs/openrosa.md §5).
    dataset: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime | None] = mapped_column(default=None)

    form_def: Mapped[FormDef] = relationship(back_populates="attachments")


class FormAssignment(Base):
    """An actor's role on one form: an app user must be assigned to see and submit it."""

    __tablename__ = "form_assignments"
    __table_args__ = (UniqueConstraint("form_id", "actor_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"), index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), index=True)
    role: Mapped[str] = mapped_column(String(32), default="app-user")
