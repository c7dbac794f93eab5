"""Small HTTP helpers shared by every surface; no Flask here."""

from __future__ import annotations

from urllib.parse import quote


def attachment_disposition(filename: str) -> str:
    """`Content-Disposition` that survives Vietnamese file names (RFC 6266 / RFC 5987)."""
    ascii_name = filename.encode("ascii", "replace").decode("ascii").replace('"', "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
