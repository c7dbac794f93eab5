"""Small HTTP helpers shared by every surface; no Flask here."""

from __future__ import annotations

from typing import TypeVar
from urllib.parse import quote

from werkzeug.wrappers import Response

# `?raw=true` on a CSV route: Central's bytes, formulas and all, for machine clients
# (exports/cells.py says what is neutralised otherwise).
RAW_PARAMETER = "raw"

R = TypeVar("R", bound=Response)


def attachment_disposition(filename: str) -> str:
    """`Content-Disposition` that survives Vietnamese file names (RFC 6266 / RFC 5987)."""
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def as_download(response: R, filename: str) -> R:
    """Serve what a phone or a user sent (submission XML, attachments) as a file to save,
    never as a page of our origin: `attachment`, and `nosniff` so a browser keeps to the
    declared type. The locked, sandboxing CSP comes with every such answer
    (server/security_headers.py)."""
    response.headers["Content-Disposition"] = attachment_disposition(filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def raw_requested(value: str | None) -> bool:
    """`?raw=true` (any case) asks for CSV cells exactly as stored; anything else, or
    nothing, gets the spreadsheet-safe cells."""
    return (value or "").strip().lower() == "true"
