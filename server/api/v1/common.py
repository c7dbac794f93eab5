"""What every `/v1` resource module shares: who is acting, JSON bodies read through marshmallow,
audit rows, query flags, and the handlers that render errors as Central's JSON.

flask-restx catches exceptions raised inside its resources before Flask's own handlers see
them; `register_error_handlers` hands them on, so every error leaves as Central's JSON
`{"code": 404.1, "message": …}` with the status taken from the code.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from flask import request
from flask_restx import Api
from marshmallow import Schema, ValidationError, fields

from server import problems
from server.context import services
from server.storage import BlobStore

_MISSING_MESSAGES = frozenset({
    fields.Field.default_error_messages["required"],
    fields.Field.default_error_messages["null"],
})


def success() -> dict[str, bool]:
    """Central's answer to actions that return nothing else."""
    return {"success": True}


def _json_body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise problems.unparseable("json", str(exc)) from exc
    if not isinstance(body, dict):
        raise problems.unparseable("json", "expected a JSON object")
    return body


def _flatten(messages: Any) -> list[str]:
    if isinstance(messages, dict):
        return [text for value in messages.values() for text in _flatten(value)]
    if isinstance(messages, list):
        return [text for value in messages for text in _flatten(value)]
    return [str(messages)]


def validation_problem(error: ValidationError) -> problems.Problem:
    """Central's codes: missing fields are 400.2/400.3, anything else wrong is 400.8."""
    messages = error.normalized_messages()
    missing = sorted(name for name, reasons in messages.items()
                     if set(_flatten(reasons)) <= _MISSING_MESSAGES)
    if len(missing) == 1:
        return problems.missing_parameter(missing[0])
    if missing:
        return problems.missing_parameters(missing)
    name, reasons = next(iter(messages.items()))
    return problems.unexpected_value(name, " ".join(_flatten(reasons)))


def load_json(schema: Schema) -> dict[str, Any]:
    """The request's JSON object, validated; unknown keys are dropped as Central does."""
    try:
        loaded: dict[str, Any] = schema.load(_json_body())
    except ValidationError as error:
        raise validation_problem(error) from error
    return loaded


def flag(name: str) -> bool:
    """A `?name=true` query flag (Central's `isTrue`)."""
    return (request.args.get(name) or "").strip().lower() == "true"


def extended() -> bool:
    """Central's extended metadata: the `X-Extended-Metadata: true` header (or `?extended`)."""
    header = request.headers.get("X-Extended-Metadata", "").strip().lower() == "true"
    return header or flag("extended")


def store() -> BlobStore:
    return services().store


def register_error_handlers(api: Api) -> None:
    """Send every error raised inside a restx resource on to the app's own handlers.

    flask-restx would render HTTP errors as `{"message": …}` and, in production, any other
    exception as its own 500; re-raising lets server/app.py answer with Central's numbered
    JSON (413.1, 405.0, 500.1 …) exactly as for routes outside the Api. Problems already take
    this path through their own handler in `server.api.v1`.
    """

    @api.errorhandler(Exception)
    def _hand_on(exc: Exception) -> NoReturn:
        raise exc
