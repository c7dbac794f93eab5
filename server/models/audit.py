"""The audit log: who did what to which thing, written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow


class Audit(Base):
    __tablename__ = "audits"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"), index=True)
    # Central's action names: "form.create", "submission.create", "form.submission.export" …
    action: Mapped[str] = mapped_column(String(64), index=True)
    actee: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    logged_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
