"""Reading a phone's multipart POST: every part spooled, raw bytes kept, limits enforced.

Werkzeug's own form parsing is not used: it swallows a broken body into an empty form (so a
truncated upload would read as "xml_submission_file missing" instead of Central's 400.39), and
it decodes plain fields as text with replacement characters, which would silently accept an
instance that is not UTF-8. Here each part — file or plain field, as some clients send the
instance — is kept as bytes in a spooled temporary file (memory first, disk when large), so a
100 MB upload never sits in memory.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, cast

from flask import request
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.sansio.multipart import (
    Data,
    Epilogue,
    Field,
    File,
    MultipartDecoder,
    NeedData,
)

from server import problems
from server.context import services

READ_CHUNK = 64 * 1024
# Parts up to this size stay in memory; larger ones move to a temporary file on disk.
SPOOL_IN_MEMORY = 1024 * 1024
MULTIPART_TYPES = frozenset({"multipart/form-data", "multipart/mixed"})


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    body: IO[bytes]


@dataclass
class MultipartBody:
    """The parts of one request by field name; the first part of a name wins (as Central's
    `find` over multer's list)."""

    max_parts: int
    parts: dict[str, Part] = field(default_factory=dict)
    spools: list[IO[bytes]] = field(default_factory=list)

    def close(self) -> None:
        for body in self.spools:
            body.close()


def too_many_parts(limit: int) -> problems.Problem:
    """Collect sends at most 100 files per POST (C-up), so more parts than the limit is not a
    phone: refused as too large, with the reason."""
    return problems.Problem("413.1", f"The request has more than {limit} parts; send the "
                            "attachments in several submissions.", {"limit": limit})


def _boundary() -> bytes:
    """The boundary of a multipart body; anything that is not multipart is Central's 400.7."""
    if request.mimetype not in MULTIPART_TYPES:
        raise problems.missing_multipart_field("xml_submission_file")
    boundary = request.mimetype_params.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise problems.multipart_parsing_failed("The multipart boundary is missing or too long.")
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError as exc:
        raise problems.multipart_parsing_failed("The multipart boundary is not ASCII.") from exc


def _start_part(body: MultipartBody, event: Field | File) -> IO[bytes]:
    if len(body.spools) >= body.max_parts:
        raise too_many_parts(body.max_parts)
    spool = cast(IO[bytes], tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY))
    body.spools.append(spool)
    filename = event.filename if isinstance(event, File) else None
    if event.name and event.name not in body.parts:
        body.parts[event.name] = Part(event.name, filename,
                                      event.headers.get("Content-Type"), spool)
    return spool


def _drain(decoder: MultipartDecoder, body: MultipartBody, current: IO[bytes] | None
           ) -> IO[bytes] | None:
    """Hand every complete event to its part; returns the part still being written."""
    event = decoder.next_event()
    while not isinstance(event, NeedData | Epilogue):
        if isinstance(event, Field | File):
            current = _start_part(body, event)
        elif isinstance(event, Data) and current is not None:
            current.write(event.data)
        event = decoder.next_event()
    return current


def _decode(stream: IO[bytes], boundary: bytes, body: MultipartBody) -> None:
    decoder = MultipartDecoder(boundary)
    current: IO[bytes] | None = None
    while chunk := stream.read(READ_CHUNK):
        decoder.receive_data(chunk)
        current = _drain(decoder, body, current)
    decoder.receive_data(None)
    _drain(decoder, body, current)
    for part in body.parts.values():
        part.body.seek(0)


@contextmanager
def read_multipart() -> Iterator[MultipartBody]:
    """The request's parts, closed (temporary files removed) when the block ends.

    Oversize bodies are refused with Central's 413 in OpenRosa XML, whether the phone declared
    its length or streamed it chunked (Werkzeug raises only when the limit is crossed).
    """
    settings = services().settings
    boundary = _boundary()
    body = MultipartBody(max_parts=settings.max_form_parts)
    try:
        _decode(request.stream, boundary, body)
    except problems.Problem:
        body.close()
        raise
    except RequestEntityTooLarge as exc:
        body.close()
        raise problems.too_large(settings.max_submission_bytes) from exc
    except (ValueError, ClientDisconnected) as exc:
        body.close()
        raise problems.multipart_parsing_failed("The body is broken or truncated.") from exc
    try:
        yield body
    finally:
        body.close()
