"""Storing bytes once, by content, before the rows that point at them are committed."""

from __future__ import annotations

import hashlib
import io
import re
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.models import Blob
from server.storage import BlobStore

CHUNK = 1024 * 1024


def _digests(stream: BinaryIO) -> tuple[str, str, int]:
    sha256, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    while chunk := stream.read(CHUNK):
        sha256.update(chunk)
        md5.update(chunk)
        size += len(chunk)
    return sha256.hexdigest(), md5.hexdigest(), size


_MEDIA_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;\s*[\w.+-]+=[\w.+\"-]+)*$", re.ASCII)


def clean_content_type(content_type: str | None) -> str:
    """Phones send whatever their MIME map says; only a well-formed media type is kept, so it
    can be sent back as a header later without breaking the response."""
    value = (content_type or "").strip()
    return value if len(value) <= 255 and _MEDIA_TYPE.match(value) else "application/octet-stream"


def store_blob(
    session: Session, store: BlobStore, data: bytes | BinaryIO, content_type: str | None
) -> Blob:
    """Write the bytes to storage, then return their (new or existing) `Blob` row, flushed."""
    content_type = clean_content_type(content_type)
    stream: BinaryIO = io.BytesIO(data) if isinstance(data, bytes) else data
    stream.seek(0)
    sha256, md5, size = _digests(stream)
    existing = session.scalar(select(Blob).where(Blob.sha256 == sha256))
    if existing is not None and store.exists(sha256):
        return existing
    stream.seek(0)
    store.put(sha256, stream, size, content_type)
    if existing is not None:
        return existing
    blob = Blob(sha256=sha256, md5=md5, size=size, content_type=content_type)
    try:
        with session.begin_nested():
            session.add(blob)
    except IntegrityError:
        # Another request stored the same bytes at the same moment; theirs is ours.
        blob = session.scalars(select(Blob).where(Blob.sha256 == sha256)).one()
    return blob


def read_blob(store: BlobStore, blob: Blob) -> bytes:
    return store.read(blob.sha256)
