"""Storing bytes once, by content, before the rows that point at them are committed."""

from __future__ import annotations

import hashlib
import io
import re
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from server import outages
from server.db import utcnow
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


def _insert_if_new(session: Session, values: dict[str, object]) -> int | None:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id: the new row's id, or None if it existed.

    One statement instead of look-up, savepoint, insert: this runs for every photo a phone
    sends. A conflicting row still being written by another transaction makes PostgreSQL wait
    for it, so a None here always means a committed row whose bytes are stored.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (insert(Blob).values(**values)
                 .on_conflict_do_nothing(index_elements=["sha256"]).returning(Blob.id))
    new_id: int | None = session.execute(statement).scalar()
    return new_id


def store_blob_id(
    session: Session, store: BlobStore, data: bytes | BinaryIO, content_type: str | None
) -> int:
    """Store the bytes once by content and return their blob id.

    The row is written in the caller's transaction and the bytes before it commits, so a
    crash in between rolls the row back and the retry stores both again.
    """
    content_type = clean_content_type(content_type)
    stream: BinaryIO = io.BytesIO(data) if isinstance(data, bytes) else data
    stream.seek(0)
    sha256, md5, size = _digests(stream)
    new_id = _insert_if_new(session, {"sha256": sha256, "md5": md5, "size": size,
                                      "content_type": content_type, "created_at": utcnow()})
    if new_id is None:
        existing_id = session.scalars(select(Blob.id).where(Blob.sha256 == sha256)).one()
        if store.exists(sha256):
            return existing_id
        new_id = existing_id  # the row outlived its bytes (restored database): store again
    stream.seek(0)
    store.put(sha256, stream, size, content_type)
    outages.OUTAGES.works(outages.STORAGE)
    return new_id


def store_blob(
    session: Session, store: BlobStore, data: bytes | BinaryIO, content_type: str | None
) -> Blob:
    """As `store_blob_id`, returning the row."""
    blob = session.get(Blob, store_blob_id(session, store, data, content_type))
    assert blob is not None
    return blob


def read_blob(store: BlobStore, blob: Blob) -> bytes:
    return store.read(blob.sha256)


def present_blob_ids(session: Session, store: BlobStore, blob_ids: list[int | None]) -> set[int]:
    """Those of `blob_ids` whose bytes the store actually holds.

    A row can outlive its bytes (a file lost from the disk, a partial restore): saying
    `exists: true` for it would send clients to a download that fails. One query for the
    rows, then one existence check each (a stat on disk, a HEAD on S3): a submission expects
    a handful of files, so that is a handful of requests, never one per submission of a list.
    """
    wanted = [blob_id for blob_id in blob_ids if blob_id is not None]
    if not wanted:
        return set()
    rows = session.execute(select(Blob.id, Blob.sha256).where(Blob.id.in_(wanted)))
    return {blob_id for blob_id, sha256 in rows if store.exists(sha256)}
