"""An id in a URL that no database row can have is a 404, never a 500 (server/id_converter.py).

PostgreSQL's `integer` refuses 2^31 and above with NumericValueOutOfRange; the walk below sends
such ids (and a negative one) in every `<int:…>` argument of every route, API, OpenRosa (also
through the app users' `/v1/key/<token>/…` addresses) and pages alike, as the site admin.
"""

from __future__ import annotations

import re
import uuid

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter, Rule

from server.id_converter import DATABASE_INT_MAX, DatabaseIdConverter
from tests.conftest import ADMIN_PASSWORD, Screening
from tests.web.conftest import web_login

OUT_OF_RANGE = (str(2**31), str(10**20), "-1")

# Values for the other arguments: real where the route needs a real one to get that far.
PLAUSIBLE = {
    "xml_form_id": "child_screening", "name": "children", "role_id": "app-user",
    "role": "viewer", "child_id": "HB-0001", "code": "orphan", "field": "name",
    "table": "Submissions", "version": "2026112801", "uuid": str(uuid.uuid4()),
    "instance_id": f"uuid:{uuid.uuid4()}", "token": "t" * 64,
}
_ARGUMENT = re.compile(r"<(?:([a-zA-Z_][\w]*)(?:\([^)]*\))?:)?([a-zA-Z_]\w*)>")


def _int_arguments(rule: Rule) -> list[str]:
    return [name for name, converter in rule._converters.items()
            if isinstance(converter, IntegerConverter)]


def _path(rule: Rule, values: dict[str, str]) -> str | None:
    """The rule's path with `values` filled in; None when an argument has no value."""
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        if match.group(2) not in values:
            missing.append(match.group(2))
            return ""
        return values[match.group(2)]

    path = _ARGUMENT.sub(fill, rule.rule)
    return None if missing else path


def _send(client: FlaskClient, method: str, path: str, headers: dict[str, str],
          csrf: str) -> int:
    """An empty body; a page's POST carries the form's CSRF token, as a browser's would."""
    page_post = path.startswith("/ui/") and method == "POST"
    response = client.open(path, method=method, headers=headers,
                           data={"csrf": csrf} if page_post else b"")
    assert response.status_code < 500, (method, path, response.get_data(as_text=True)[:300])
    return response.status_code


def test_every_int_argument_refuses_ids_outside_the_database_range(
    app: Flask, client: FlaskClient, screening: Screening, admin_bearer: dict[str, str],
) -> None:
    _actor, app_token = screening.app_user()
    csrf = web_login(client, screening.world.admin_email, ADMIN_PASSWORD)  # pages' session
    real_ints = {"project_id": str(screening.project_id),
                 "actor_id": str(screening.world.admin_id)}
    sent: list[tuple[str, str, int]] = []
    skipped: list[str] = []
    for rule in app.url_map.iter_rules():
        int_args = _int_arguments(rule)
        if not int_args:
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for argument in int_args:
            for value in OUT_OF_RANGE:
                values = {**PLAUSIBLE, **{name: real_ints.get(name, "1") for name in int_args},
                          argument: value}
                path = _path(rule, values)
                if path is None:
                    skipped.append(rule.rule)
                    continue
                paths = [path]
                if (rule.endpoint or "").startswith("openrosa.") and path.startswith("/v1/"):
                    paths.append(f"/v1/key/{app_token}/{path.removeprefix('/v1/')}")
                for address in paths:
                    for method in methods:
                        status = _send(client, method, address, admin_bearer, csrf)
                        sent.append((method, address, status))
    assert not skipped, f"rules the walk could not fill: {sorted(set(skipped))}"
    addresses = {address for _method, address, _status in sent}
    # The phones' form list and submission, by both address styles, and the registry routes.
    for expected in (r"^/v1/projects/\d+/formList$", r"^/v1/key/t?[^/]+/projects/\d+/formList$",
                     r"^/v1/projects/\d+/submission$", r"^/v1/key/[^/]+/projects/\d+/submission$",
                     r"/registry/children/[^/]+/records/\d+/unmerge$",
                     r"/registry/review-queue/\d+/decision$", r"^/ui/p/\d+/flags/\d+/close$"):
        assert any(re.search(expected, address) for address in addresses), expected
    assert len(sent) > 300
    assert all(isinstance(converter, DatabaseIdConverter)
               for rule in app.url_map.iter_rules() for converter in rule._converters.values()
               if isinstance(converter, IntegerConverter))
    # Nothing matches an id that cannot exist: every one is the ordinary "not found".
    assert {status for _method, _address, status in sent} == {404}, [
        s for s in sent if s[2] != 404][:10]


def test_an_out_of_range_project_is_central_s_404_json(
    client: FlaskClient, admin_headers: dict[str, str],
) -> None:
    for project in (str(2**31), str(10**20), "-5", "99999999999"):
        response = client.get(f"/v1/projects/{project}", headers=admin_headers)
        assert response.status_code == 404
        assert response.json is not None
        assert response.json["code"] == 404.1


def test_the_largest_id_the_database_holds_still_reaches_the_route(
    client: FlaskClient, admin_headers: dict[str, str],
) -> None:
    """2^31 − 1 is a valid id: it is looked up (and simply not found), on both databases."""
    response = client.get(f"/v1/projects/{DATABASE_INT_MAX}", headers=admin_headers)
    assert response.status_code == 404
    assert response.json is not None and response.json["code"] == 404.1
    projects = client.get("/v1/projects", headers=admin_headers)
    assert projects.status_code == 200


def test_phones_get_the_openrosa_error_for_an_out_of_range_project(
    client: FlaskClient, screening: Screening,
) -> None:
    _actor, token = screening.app_user()
    for path in (f"/v1/key/{token}/projects/{10**20}/formList",
                 f"/v1/key/{token}/projects/{2**31}/submission"):
        method = "POST" if path.endswith("submission") else "GET"
        response = client.open(path, method=method, headers={"X-OpenRosa-Version": "1.0"})
        assert response.status_code == 404
        assert response.mimetype == "text/xml"
        assert 'nature="error"' in response.get_data(as_text=True)
    # The same phone's own project still answers.
    listed = client.get(f"/v1/key/{token}/projects/{screening.project_id}/formList",
                        headers={"X-OpenRosa-Version": "1.0"})
    assert listed.status_code == 200


def test_pages_show_the_not_found_page_for_an_out_of_range_id(
    client: FlaskClient, screening: Screening,
) -> None:
    web_login(client, screening.world.admin_email, ADMIN_PASSWORD)
    for path in (f"/ui/p/{10**20}/children", f"/ui/p/{screening.project_id}/flags/{2**31}/confirm",
                 f"/ui/users/{2**40}"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "text/html"
