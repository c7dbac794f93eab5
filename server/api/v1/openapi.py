"""The OpenAPI (Swagger 2.0) description's bodies, answers and errors, taken from the
marshmallow schemas: the ones the API loads request bodies with (`schemas.py`, the `*Input`
classes of each resource module) and the ones that describe what it sends (`shapes.py`).

flask-restx builds the paths from the routes but knows nothing of marshmallow, cuts each
summary at the docstring's first full stop ("409.7" became "409") and answers every operation
with "200 Success". `DocumentedApi` keeps its paths and fills in, per operation:

- the summary: the docstring's whole first paragraph; the rest is the description;
- the request body, from the method's `@documented(body=…)` schema (JSON), or its raw media
  types (`consumes=…`: XForms, spreadsheets, media files);
- the 2xx answer, from `@documented(answers=…)`: a marshmallow schema, or a file for the
  routes that produce something else than JSON (`produces=…` or `@ns.produces`);
  `dict[str, bool]` methods answer Central's `{"success": true}` without saying so;
- the errors it can give, as Central's problem (`server.problems`): see `_errors`.

The served document is checked by tests/api/test_openapi_contract.py and, against a live
server, by tools/contract.py (schemathesis).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask_restx import Api
from flask_restx.swagger import extract_path
from marshmallow import Schema, fields, validate

F = TypeVar("F", bound=Callable[..., Any])

JSON = "application/json"
# What each error status means, as listed under every operation that can give it.
ERROR_TEXT = {
    400: "The request is malformed or a value is wrong (400.x).",
    401: "No valid credentials (401.2).",
    403: "The caller may not do this (403.1).",
    404: "No such resource, or not one the caller may see (404.1).",
    409: "The change conflicts with the current state (409.x).",
    413: "The request body is larger than the server accepts (413.1).",
    429: "Too many failed sign-ins; try again after Retry-After seconds (429.1).",
    503: "A part the server needs (database, blob store) is down; nothing was saved (503.x).",
}


@dataclass(frozen=True)
class Contract:
    """What one operation takes and answers, beyond what its route and docstring say."""

    answers: Schema | type[Schema] | None = None
    body: Schema | type[Schema] | None = None
    consumes: tuple[str, ...] = ()
    produces: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
    public: bool = False
    extended: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def documented(answers: Schema | type[Schema] | None = None, *,
               body: Schema | type[Schema] | None = None, consumes: Iterable[str] = (),
               produces: Iterable[str] = (), errors: Iterable[int] = (), public: bool = False,
               extended: bool = False, headers: dict[str, str] | None = None
               ) -> Callable[[F], F]:
    """Declare an operation's answer and body schemas (a `Schema(many=True)` answers a list),
    the raw media types it accepts or answers with, extra error statuses, the answer's
    headers, `public` for routes that need no sign-in and `extended` for those that answer
    more with Central's `X-Extended-Metadata: true`."""

    def mark(method: F) -> F:
        method.__contract__ = Contract(  # type: ignore[attr-defined]
            answers, body, tuple(consumes), tuple(produces), tuple(errors), public, extended,
            headers or {})
        return method

    return mark


# --- marshmallow → JSON schema --------------------------------------------------------------


def _schema_class(schema: Schema | type[Schema]) -> type[Schema]:
    return schema if isinstance(schema, type) else type(schema)


def definition_name(schema: Schema | type[Schema]) -> str:
    return _schema_class(schema).__name__.removesuffix("Schema")


class Definitions:
    """The document's `definitions`, filled as schemas are referred to."""

    def __init__(self) -> None:
        self.found: dict[str, dict[str, Any]] = {}
        self._classes: dict[str, type[Schema]] = {}

    def ref(self, schema: Schema | type[Schema]) -> dict[str, Any]:
        """A `$ref` to the schema (an array of them for `many=True` instances)."""
        name, cls = definition_name(schema), _schema_class(schema)
        if self._classes.setdefault(name, cls) is not cls:
            raise ValueError(f"two schemas are named {name}: {self._classes[name]} and {cls}")
        if name not in self.found:
            self.found[name] = {}  # reserved first: schemas may nest themselves
            self.found[name] = self.object_schema(cls())
        ref = {"$ref": f"#/definitions/{name}"}
        if isinstance(schema, Schema) and schema.many:
            return {"type": "array", "items": ref}
        return ref

    def object_schema(self, schema: Schema) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, field_ in schema.fields.items():
            key = field_.data_key or name
            properties[key] = self.field_schema(field_)
            if field_.required:
                required.append(key)
        out: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            out["required"] = required
        own_doc = type(schema).__doc__  # a class's own, never its base's
        if own_doc:
            out["description"] = " ".join(inspect.cleandoc(own_doc).split("\n\n")[0].split())
        return out

    def field_schema(self, field_: fields.Field) -> dict[str, Any]:
        out = self._type_of(field_)
        for validator in field_.validators:
            out.update(_validator_schema(validator, out.get("type")))
        if field_.allow_none:
            # Swagger 2.0 reads nothing beside a `$ref`: a nullable one is wrapped.
            out = {"allOf": [out], "x-nullable": True} if "$ref" in out else {
                **out, "x-nullable": True}
        description = field_.metadata.get("description")
        if description and "$ref" not in out:
            out["description"] = description
        return out

    def _type_of(self, field_: fields.Field) -> dict[str, Any]:
        if isinstance(field_, fields.Nested):
            nested = field_.nested
            nested = nested() if callable(nested) and not isinstance(nested, type) else nested
            assert isinstance(nested, (Schema, type)), "nested schemas by class or instance"
            ref = self.ref(nested)
            return {"type": "array", "items": ref} if field_.many else ref
        if isinstance(field_, fields.List):
            return {"type": "array", "items": self.field_schema(field_.inner)}
        if isinstance(field_, fields.Dict):
            values = field_.value_field
            return {"type": "object", "additionalProperties":
                    self.field_schema(values) if values is not None else {}}
        for kind, schema in _SIMPLE:
            if isinstance(field_, kind):
                return dict(schema)
        return {}  # fields.Raw: any JSON value


# Most specific first: Email is a String, DateTime a String-valued field, Integer a Number.
_SIMPLE: tuple[tuple[type[fields.Field], dict[str, Any]], ...] = (
    (fields.Email, {"type": "string", "format": "email"}),
    (fields.AwareDateTime, {"type": "string", "format": "date-time"}),
    (fields.DateTime, {"type": "string", "format": "date-time"}),
    (fields.Date, {"type": "string", "format": "date"}),
    (fields.UUID, {"type": "string", "format": "uuid"}),
    (fields.String, {"type": "string"}),
    (fields.Boolean, {"type": "boolean"}),
    (fields.Integer, {"type": "integer"}),
    (fields.Number, {"type": "number"}),
)


def _validator_schema(validator: Any, kind: str | None) -> dict[str, Any]:
    if isinstance(validator, validate.Length):
        prefix = "Items" if kind == "array" else "Length"
        out: dict[str, Any] = {}
        if validator.min is not None:
            out[f"min{prefix}"] = validator.min
        if validator.max is not None:
            out[f"max{prefix}"] = validator.max
        if validator.equal is not None:
            out[f"min{prefix}"] = out[f"max{prefix}"] = validator.equal
        return out
    if isinstance(validator, validate.OneOf):
        return {"enum": list(validator.choices)}
    if isinstance(validator, validate.Regexp):
        return {"pattern": validator.regex.pattern}
    if isinstance(validator, validate.Range):
        out = {}
        if validator.min is not None:
            out["minimum"] = validator.min
            out["exclusiveMinimum"] = not validator.min_inclusive
        if validator.max is not None:
            out["maximum"] = validator.max
            out["exclusiveMaximum"] = not validator.max_inclusive
        return out
    return {}


# --- filling in flask-restx's document ------------------------------------------------------


class Success(Schema):
    """Central's answer to actions that return nothing else."""

    success = fields.Boolean(required=True)


class Problem(Schema):
    """Central's error (`server.problems`): the HTTP status is the code's integer part."""

    code = fields.Float(required=True)
    message = fields.String(required=True)
    details = fields.Dict()


EXTENDED = {"name": "X-Extended-Metadata", "in": "header", "required": False, "type": "string",
            "enum": ["true", "false"], "description": "true: Central's extended metadata"}
_CODES = re.compile(r"\b([45]\d\d)(?:\.\d+)?\b")
_FILE = {"type": "file"}


def summary_and_description(method: Callable[..., Any]) -> tuple[str | None, str | None]:
    """The docstring's first paragraph, whole, and the rest."""
    doc = inspect.getdoc(method)
    if not doc:
        return None, None
    first, _, rest = doc.partition("\n\n")
    return " ".join(first.split()), rest.strip() or None


def _errors(parameters: list[dict[str, Any]], contract: Contract, doc: str,
            has_body: bool) -> list[int]:
    """Every route may meet a database outage (503); a signed-in route a missing or stale
    token (401) and a refusal (403); a path with parameters a missing resource (404); a body
    or query parameters a wrong value (400); a body one too large (413). Docstrings name
    their own codes ("409.7"), and `@documented(errors=…)` adds what they do not."""
    codes = {503}
    if not contract.public:
        codes |= {401, 403}
    if any(p.get("in") == "path" for p in parameters):
        codes.add(404)
    if has_body or any(p.get("in") == "query" for p in parameters):
        codes.add(400)
    if has_body:
        codes.add(413)
    codes |= {int(code) for code in _CODES.findall(doc)}
    codes |= set(contract.errors)
    return sorted(codes)


def _fill_operation(op: dict[str, Any], method: Callable[..., Any],
                    definitions: Definitions, path_parameters: list[dict[str, Any]]) -> None:
    contract: Contract = getattr(method, "__contract__", None) or Contract()
    summary, description = summary_and_description(method)
    op["summary"] = summary
    if description:
        op["description"] = description
    else:
        op.pop("description", None)
    parameters = [p for p in op.get("parameters", []) if p.get("in") != "body"]
    has_body = False
    if contract.body is not None:
        ref = definitions.ref(contract.body)
        required = definitions.found[definition_name(contract.body)].get("required")
        parameters.append({"name": "body", "in": "body", "required": bool(required),
                           "schema": ref})
        op["consumes"] = [JSON]
        has_body = True
    elif contract.consumes:
        parameters.append({"name": "body", "in": "body", "required": True,
                           "schema": {"type": "string", "format": "binary"}})
        op["consumes"] = list(contract.consumes)
        has_body = True
    if contract.extended:
        parameters.append(EXTENDED)
    if parameters:
        op["parameters"] = parameters
    media = list(contract.produces or op.get("produces", []))
    if media and media[0] != JSON:
        # A file on success; errors are still Central's JSON problem.
        op["produces"] = [*media, JSON]
    answer: dict[str, Any] = {"description": "Success."}
    if contract.answers is not None:
        answer["schema"] = definitions.ref(contract.answers)
    elif media and media[0] != JSON:
        answer["schema"] = _FILE
    elif inspect.get_annotations(method, eval_str=False).get("return") == "dict[str, bool]":
        answer["schema"] = definitions.ref(Success)
    if contract.headers:
        answer["headers"] = {name: {"type": "string", "description": text}
                             for name, text in contract.headers.items()}
    responses: dict[str, Any] = {"200": answer}
    problem = definitions.ref(Problem)
    for code in _errors(path_parameters + parameters, contract, inspect.getdoc(method) or "",
                        has_body):
        responses[str(code)] = {"description": ERROR_TEXT.get(code, "An error."),
                                "schema": problem}
    op["responses"] = responses
    if contract.public:
        op["security"] = []


def complete(api: Api, spec: dict[str, Any]) -> dict[str, Any]:
    """Fill flask-restx's document in place from each method's docstring and contract."""
    definitions = Definitions()
    for ns in api.namespaces:
        for route in ns.resources:
            resource = route.resource
            for url in api.ns_urls(ns, route.urls):
                path = spec["paths"].get(extract_path(url))
                if path is None:
                    continue
                for verb in resource.methods or ():
                    op = path.get(verb.lower())
                    if op is not None:
                        _fill_operation(op, getattr(resource, verb.lower()), definitions,
                                        path.get("parameters", []))
    spec["definitions"] = {**spec.get("definitions", {}), **definitions.found}
    return spec


class DocumentedApi(Api):
    """flask-restx's Api whose served document says what each operation takes and answers."""

    @property
    def __schema__(self) -> dict[str, Any]:
        schema = super().__schema__
        if "error" not in schema and not getattr(self, "_completed", False):
            complete(self, schema)
            self._completed = True
        return schema
