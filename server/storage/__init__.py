"""Where blob bytes live: local disk by default, or any S3-compatible store through boto3.

Keys are SHA-256 hex digests, so writing the same bytes twice is harmless and a write that
is interrupted never leaves a row pointing at missing bytes (rows are committed after).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, Protocol

from server.config import Settings


class StorageError(RuntimeError):
    """The blob store could not be reached or refused an operation."""


class BlobStore(Protocol):
    def put(self, key: str, stream: BinaryIO, size: int, content_type: str) -> None:
        """Store `size` bytes from `stream` durably under `key`; the key never changes meaning."""

    def open(self, key: str) -> Iterator[bytes]:
        """Yield the bytes of `key` in chunks."""

    def read(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove `key` if present; only `diemtua storage check --repair` removes a blob, and
        only one whose bytes no longer match its name."""

    def download_url(self, key: str, filename: str, content_type: str) -> str | None:
        """A URL the client may be redirected to (S3 presigned), or None to stream ourselves."""

    def check(self) -> None:
        """Raise StorageError unless the store is reachable and writable (for /readyz)."""

    def free_bytes(self) -> int | None:
        """Space left for new blobs, or None when the store has no such limit (S3)."""


def make_store(settings: Settings) -> BlobStore:
    if settings.storage == "s3":
        from server.storage.s3 import S3BlobStore

        return S3BlobStore(settings.s3)
    from server.storage.local import LocalBlobStore

    return LocalBlobStore(settings.data_dir / "blobs")
