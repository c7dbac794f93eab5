"""Blobs as files under the data folder, written atomically (temp file, fsync, rename)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from server.storage import StorageError

CHUNK = 1024 * 1024


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        # ASCII only: str.isalnum() also accepts letters and digits of every other script.
        if len(key) < 4 or not (key.isascii() and key.isalnum()):
            raise StorageError(f"invalid blob key {key!r}")
        return self.root / key[:2] / key[2:4] / key

    def put(self, key: str, stream: BinaryIO, size: int, content_type: str) -> None:
        target = self._path(key)
        if target.exists() and target.stat().st_size == size:
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, target)
            dir_fd = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def open(self, key: str) -> Iterator[bytes]:
        path = self._path(key)
        try:
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise StorageError(f"blob {key} is missing from {self.root}") from exc
        with handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    def read(self, key: str) -> bytes:
        return b"".join(self.open(key))

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def download_url(self, key: str, filename: str, content_type: str) -> str | None:
        return None

    def check(self) -> None:
        """Write and sync a few bytes: creating an empty file still works on a full disk."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".ready-") as probe:
                probe.write(b"\0" * 4096)
                probe.flush()
                os.fsync(probe.fileno())
        except OSError as exc:
            raise StorageError(f"blob folder {self.root} is not writable: {exc}") from exc

    def free_bytes(self) -> int | None:
        return shutil.disk_usage(self.root).free
