"""Điểm Tựa server: the thin layer that speaks HTTP (OpenRosa, REST, web) over the domain.

`create_app` is imported lazily so that `server.models`, `server.storage` and
`server.operations` stay importable from plain Python (the CLI, the sync worker, benchmarks)
without pulling Flask in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the Flask application; see `server.app.create_app`."""
    from server.app import create_app as _create_app

    return _create_app(overrides)
