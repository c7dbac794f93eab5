"""What every registry route of the API shares: its base path, bodies that ignore unknown keys,
and paging. Who is asking and the village rule live below the API, in `server.route_access`
(the pages use them too).

Paged lists take `limit` (default 100, at most 1000) and `offset`, and give the number of
matching rows in `X-Total-Count`.
"""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import EXCLUDE, Schema
from sqlalchemy import Select, func, select

from server import problems
from server.context import db

BASE = "/projects/<int:project_id>/registry"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000

# The answer header of paged lists, for the OpenAPI description.
TOTAL = {"X-Total-Count": "the number of matching rows, all pages"}
PAGING = {"limit": f"rows per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})",
          "offset": "rows to skip"}


class Body(Schema):
    class Meta:
        unknown = EXCLUDE


# --- paging ---------------------------------------------------------------------------------


def int_arg(name: str, default: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise problems.invalid_data_type(name, "integer") from None
    if value < 0 or (maximum is not None and value > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        raise problems.unexpected_value(name, f"it must be between 0{upper}")
    return value


def paged(query: Select[*tuple[Any, ...]]) -> tuple[list[Any], int]:
    """One page of `query`'s rows and the number of all matching rows."""
    total = db().scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    limit = int_arg("limit", DEFAULT_LIMIT, MAX_LIMIT)
    offset = int_arg("offset", 0)
    return list(db().execute(query.limit(limit).offset(offset))), total


def with_total(body: Any, total: int) -> tuple[Any, int, dict[str, str]]:
    return body, 200, {"X-Total-Count": str(total)}


