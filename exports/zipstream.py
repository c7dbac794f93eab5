"""A zip archive written as a stream of byte chunks, with the standard library only.

`zipfile` can write to a stream it cannot seek: it then puts each member's sizes and CRC in a
data descriptor after the member. Here the "stream" is a buffer the generator empties after
every write, so an archive of any size leaves the server while it is being made, in memory
bounded by one chunk.
"""

from __future__ import annotations

import io
import time
import warnings
import zipfile
from collections.abc import Iterable, Iterator

CHUNK = 64 * 1024


class _Buffer(io.RawIOBase):
    """Collects what zipfile writes until the generator takes it."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        taken = b"".join(self._chunks)
        self._chunks.clear()
        return taken


class ZipStream:
    """Add members one after another; iterate the chunks each addition produces."""

    def __init__(self) -> None:
        self._buffer = _Buffer()
        self._zip = zipfile.ZipFile(self._buffer, mode="w", compression=zipfile.ZIP_DEFLATED,
                                    compresslevel=5)
        self._stamp = time.gmtime()[:6]

    def add(self, name: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
        info = zipfile.ZipInfo(name, date_time=self._stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        with warnings.catch_warnings():
            # Two received files may share a name; Central writes both, so do we.
            warnings.filterwarnings("ignore", "Duplicate name", UserWarning)
            # Sizes are unknown up front; zip64 keeps members over 2 GiB valid.
            member = self._zip.open(info, mode="w", force_zip64=True)
        with member:
            for chunk in chunks:
                member.write(chunk)
                if taken := self._buffer.take():
                    yield taken
        if taken := self._buffer.take():
            yield taken

    def finish(self) -> Iterator[bytes]:
        self._zip.close()
        if taken := self._buffer.take():
            yield taken


def rechunk(parts: Iterable[bytes], size: int = CHUNK) -> Iterator[bytes]:
    """Join small pieces (one CSV line each) into chunks worth a network write."""
    pending: list[bytes] = []
    held = 0
    for part in parts:
        pending.append(part)
        held += len(part)
        if held >= size:
            yield b"".join(pending)
            pending.clear()
            held = 0
    if pending:
        yield b"".join(pending)
