"""The served OpenAPI description says what each operation takes and answers: whole summaries,
request bodies from the marshmallow schemas the routes load with, a schema for every 2xx
answer, and the errors as Central's problem. Answers of a real server match it (here for a
few; tools/contract.py fuzzes every operation against a live server)."""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
from flask.testing import FlaskClient
from marshmallow import Schema, fields, validate

from server.api.v1 import api
from server.api.v1.openapi import Definitions
from server.api.v1.schemas import UserCreateInput

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    answer = client.get("/v1/swagger.json")
    assert answer.status_code == 200 and isinstance(answer.json, dict)
    return answer.json


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in spec["paths"].items()
            for method, op in item.items() if method in METHODS]


def methods_by_operation() -> dict[tuple[str, str], Any]:
    """Each documented operation's Python method, by (METHOD, swagger path)."""
    from flask_restx.swagger import extract_path

    found = {}
    for ns in api.namespaces:
        for route in ns.resources:
            for url in api.ns_urls(ns, route.urls):
                for verb in route.resource.methods or ():
                    found[(verb, extract_path(url))] = getattr(route.resource, verb.lower())
    return found


def test_every_operation_has_its_whole_first_paragraph_as_summary(
        spec: dict[str, Any]) -> None:
    unfinished = [f"{method} {path}: {op.get('summary')!r}"
                  for method, path, op in operations(spec)
                  if not (op.get("summary") or "").endswith((".", "?"))]
    assert unfinished == []
    draft = spec["paths"]["/projects/{project_id}/forms/{xml_form_id}/draft"]
    assert draft["delete"]["summary"] == ("Discard the draft; 409.7 if the form was never "
                                          "published (delete the form).")


def test_every_success_answer_has_a_schema(spec: dict[str, Any]) -> None:
    missing = [f"{method} {path} {status}" for method, path, op in operations(spec)
               for status, answer in op["responses"].items()
               if status.startswith("2") and "schema" not in answer]
    assert missing == []
    assert len(operations(spec)) > 100


def test_every_route_that_reads_a_json_body_describes_it(spec: dict[str, Any]) -> None:
    """A method that loads JSON (`load_json`, `get_json`) has a body parameter whose schema is
    a definition: the marshmallow schema it loads with."""
    undescribed, checked = [], 0
    for (verb, path), method in methods_by_operation().items():
        source = inspect.getsource(method)
        if "load_json(" not in source and "get_json(" not in source:
            continue
        checked += 1
        op = spec["paths"][path][verb.lower()]
        bodies = [p for p in op.get("parameters", []) if p["in"] == "body"]
        if not bodies or "$ref" not in bodies[0]["schema"] or op.get("consumes") != [
                "application/json"]:
            undescribed.append(f"{verb} {path}")
    assert undescribed == []
    assert checked >= 15


def test_a_request_body_is_the_marshmallow_schema_the_route_loads(
        spec: dict[str, Any]) -> None:
    body = next(p for p in spec["paths"]["/users"]["post"]["parameters"] if p["in"] == "body")
    assert body["required"] is True
    assert body["schema"] == {"$ref": "#/definitions/UserCreateInput"}
    assert spec["definitions"]["UserCreateInput"] == Definitions().object_schema(
        UserCreateInput())
    assert spec["definitions"]["UserCreateInput"]["required"] == ["email"]


def test_errors_are_listed_with_centrals_problem_shape(spec: dict[str, Any]) -> None:
    problem = {"$ref": "#/definitions/Problem"}
    op = spec["paths"]["/projects/{project_id}/forms/{xml_form_id}/draft"]["delete"]
    assert {"401", "403", "404", "409", "503"} <= set(op["responses"])
    assert all(op["responses"][code]["schema"] == problem for code in ("404", "409"))
    sign_in = spec["paths"]["/sessions"]["post"]
    assert {"400", "401", "413", "429", "503"} <= set(sign_in["responses"])
    assert sign_in["security"] == []
    assert spec["definitions"]["Problem"]["required"] == ["code", "message"]


def test_marshmallow_fields_become_json_schema() -> None:
    class Inner(Schema):
        size = fields.Integer(validate=validate.Range(min=1, max=9))

    class Outer(Schema):
        state = fields.String(required=True, validate=validate.OneOf(["open", "closed"]))
        code = fields.String(data_key="villageCode", allow_none=True,
                             validate=[validate.Length(max=4), validate.Regexp(r"^T\d+$")])
        villages = fields.List(fields.String(), validate=validate.Length(min=1))
        inner = fields.Nested(Inner)
        inners = fields.List(fields.Nested(Inner))
        when = fields.Date()

    definitions = Definitions()
    assert definitions.ref(Outer(many=True)) == {"type": "array",
                                                 "items": {"$ref": "#/definitions/Outer"}}
    assert definitions.found["Outer"] == {
        "type": "object", "required": ["state"], "properties": {
            "state": {"type": "string", "enum": ["open", "closed"]},
            "villageCode": {"type": "string", "maxLength": 4, "pattern": r"^T\d+$",
                            "x-nullable": True},
            "villages": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "inner": {"$ref": "#/definitions/Inner"},
            "inners": {"type": "array", "items": {"$ref": "#/definitions/Inner"}},
            "when": {"type": "string", "format": "date"}}}
    assert definitions.found["Inner"]["properties"]["size"] == {
        "type": "integer", "minimum": 1, "maximum": 9, "exclusiveMinimum": False,
        "exclusiveMaximum": False}


# --- answers of a real server match the description -----------------------------------------


def _draft4(schema: Any) -> Any:
    """Swagger 2.0's `x-nullable` as JSON Schema's null type."""
    if isinstance(schema, list):
        return [_draft4(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _draft4(value) for key, value in schema.items() if key != "x-nullable"}
    if schema.get("x-nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def assert_matches(spec: dict[str, Any], path: str, method: str, answer: Any) -> None:
    described = spec["paths"][path][method]["responses"][str(answer.status_code)]["schema"]
    schema = _draft4({**described, "definitions": spec["definitions"]})
    jsonschema.validate(answer.json, schema)


def test_answers_match_their_schemas(client: FlaskClient, spec: dict[str, Any],
                                     admin_headers: dict[str, str], world: Any) -> None:
    project = f"/v1/projects/{world.project_id}"
    assert_matches(spec, "/users/current", "get",
                   client.get("/v1/users/current", headers=admin_headers))
    assert_matches(spec, "/projects", "post", client.post(
        "/v1/projects", json={"name": "Xã Tân Lập"}, headers=admin_headers))
    assert_matches(spec, "/projects/{project_id}/app-users", "post", client.post(
        f"{project}/app-users", json={"displayName": "Thôn Đông"}, headers=admin_headers))
    assert_matches(spec, "/roles", "get", client.get("/v1/roles"))
    missing = client.get("/v1/projects/999999", headers=admin_headers)
    assert missing.status_code == 404
    assert_matches(spec, "/projects/{project_id}", "get", missing)
    wrong = client.post("/v1/projects", json={"name": ""}, headers=admin_headers)
    assert wrong.status_code == 400
    assert_matches(spec, "/projects", "post", wrong)


def test_an_answer_that_breaks_its_schema_is_caught(spec: dict[str, Any]) -> None:
    answer = SimpleNamespace(status_code=200, json={
        "id": "not a number", "type": "user", "displayName": None, "createdAt": None,
        "email": "a@b.vn"})
    with pytest.raises(jsonschema.ValidationError):
        assert_matches(spec, "/users/current", "get", answer)
