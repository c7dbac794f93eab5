"""Content-addressed blobs: the bytes live in storage (disk or S3), the row records them.

A blob is written to storage *before* the database row that references it is committed, and
its key is its SHA-256, so a crash leaves at worst an unreferenced object, never a row that
points at missing bytes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow


class Blob(Base):
    __tablename__ = "blobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    md5: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(255), default="application/octet-stream")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
