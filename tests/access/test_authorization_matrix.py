"""The authorization matrix: every route of the server, for every caller, inside and outside
the caller's villages, answers as tests/access/matrix.py says (docs/access.md).

The route table is read from the app itself, so a route added without its line in the matrix
fails `test_every_route_has_one_entry_in_the_matrix`. One commune serves the whole module
(built once: reads first, then writes that change only what is made for them); requests go
through the Flask test client — thousands of them — while the per-finding tests elsewhere use
real HTTP. A failing route lists every caller and case that answered otherwise.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter
from werkzeug.test import TestResponse

from server import create_app
from server.services import Services
from tests.access.commune import CONCERN, INSIDE, PASSWORD, build_commune
from tests.access.matrix import (
    ANONYMOUS,
    CALLERS,
    COOKIE_CALLERS,
    PHONE,
    READS,
    ROUTES,
    WRITES,
    Body,
    Case,
    Route,
)
from tests.access.matrix_world import Places, World, build_world
from tests.access.test_submission_visibility import SENSITIVE_WORDS
from tests.conftest import module_services

IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})
LOGIN_TOKEN = "matrix-login-form"


# --- one commune for the module -------------------------------------------------------------


@pytest.fixture(scope="module")
def matrix_services(migrated_database: str, tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[Services]:
    """A database of the module's own (SQLite: a copy of the migrated template; PostgreSQL:
    the run's database, emptied after the module) and storage on disk."""
    with module_services(migrated_database, tmp_path_factory.mktemp("matrix")) as services:
        yield services


@dataclass
class Matrix:
    """The commune, its places, and a client that asks as any caller."""

    world: World
    app: Flask
    client: FlaskClient
    routes: MapAdapter

    def actor_of(self, caller: str) -> int:
        name = COOKIE_CALLERS.get(caller, caller)
        if name == PHONE:
            return self.world.villages[INSIDE].phone
        return self.world.commune.actor_ids.get(name, 0)

    def send(self, route: Route, case: Case, caller: str) -> tuple[str, TestResponse]:
        """The request `caller` makes for `case`: (its path before any key, the answer)."""
        places = Places(self.world, case.village, self.actor_of(caller), case.other_project)
        path = (case.path or route.path).format_map(places)
        body = case.body or route.body
        form = dict(body.form) if body.form is not None else None
        url, headers, form = self._as(caller, route, case, path, form, body.login)
        return path, self.client.open(url, method=route.method, headers=headers,
                                      **self._payload(body, form))

    def _as(self, caller: str, route: Route, case: Case, path: str,
            form: dict[str, str] | None, login: bool
            ) -> tuple[str, dict[str, str], dict[str, str] | None]:
        """The URL, headers and form of the request as `caller` makes it: a phone with its
        key (in the URL under /v1, else `?st=`), pages and cookie callers with the session
        cookie (forms with its CSRF token), everyone else with a bearer token."""
        name = COOKIE_CALLERS.get(caller, caller)
        token = self.world.commune.tokens.get(name)
        if token and case.fresh_session:
            token = self.world.new_session(self.actor_of(caller))
        headers = {"X-OpenRosa-Version": "1.0"}
        cookies: dict[str, str] = {}
        url = path
        if name == PHONE:
            key = self.world.commune.phone_tokens[INSIDE]
            url = (f"/v1/key/{key}{path[3:]}" if path.startswith("/v1/")
                   else f"{path}{'&' if '?' in path else '?'}st={key}")
        elif token and (route.is_page or caller in COOKIE_CALLERS):
            cookies["session"] = token
            if form is not None:
                form["csrf"] = self.world.csrf_of(token)
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        if login:
            cookies["diemtua_login"] = LOGIN_TOKEN
            form = {"csrf": LOGIN_TOKEN, "email": "stranger@xa.test", "password": PASSWORD}
        if cookies:
            headers["Cookie"] = "; ".join(f"{key}={value}" for key, value in cookies.items())
        return url, headers, form

    def _payload(self, body: Body, form: dict[str, str] | None) -> dict[str, Any]:
        if body.json is not None:
            return {"json": body.json}
        if body.data is not None:
            return {"data": body.data, "content_type": body.content_type}
        if body.resubmission:
            commune = self.world.commune
            xml = commune.xml_of(commune.visit_inside).encode("utf-8")
            return {"data": {"xml_submission_file": (io.BytesIO(xml), "submission.xml",
                                                     "text/xml")},
                    "content_type": "multipart/form-data"}
        return {"data": form} if form is not None else {}

    def get(self, caller: str, path: str) -> TestResponse:
        """A plain read as `caller` (cookie callers with the cookie, others a bearer)."""
        case = Case("check", frozenset(), path=path)
        return self.send(Route("check", "GET", path, (case,)), case, caller)[1]


@pytest.fixture(scope="module")
def matrix(matrix_services: Services) -> Matrix:
    world = build_world(build_commune(matrix_services))
    app = create_app({"services": matrix_services, "TESTING": True})
    return Matrix(world, app, app.test_client(use_cookies=False), app.url_map.bind("localhost"))


# --- what an answer means -------------------------------------------------------------------


def outcome(method: str, response: TestResponse) -> str:
    """allowed, denied (401, 403, or a page read sent to the sign-in page), hidden (404), or
    an error. (Signing out also ends on the sign-in page: that is no refusal.)"""
    status = response.status_code
    if status >= 500:
        return "error"
    if status in (401, 403):
        return "denied"
    location = response.headers.get("Location", "")
    if method == "GET" and 300 <= status < 400 and "/ui/login" in location:
        return "denied"
    if status == 404:
        return "hidden"
    if status == 429:
        return "throttled"
    return "allowed"


def expected(route: Route, case: Case, caller: str) -> str:
    """The cookie callers count as their person for reads and as nobody for writes."""
    if caller in COOKIE_CALLERS:
        return case.expect(COOKIE_CALLERS[caller] if route.method == "GET" else ANONYMOUS)
    return case.expect(caller)


def callers_of(route: Route, case: Case) -> list[str]:
    """Pages know only their cookie, which every person there presents already."""
    return [caller for caller in CALLERS
            if not (route.is_page and caller in COOKIE_CALLERS)
            and (case.callers is None or caller in case.callers)]


def _snippet(response: TestResponse) -> str:
    return " ".join(response.get_data(as_text=True).split())[:140]


def _endpoint_of(matrix: Matrix, method: str, path: str) -> str:
    try:
        endpoint, _args = matrix.routes.match(path.split("?")[0], method=method)
    except HTTPException as exc:
        return f"nothing ({exc.code})"
    return str(endpoint)


def check(matrix: Matrix, route: Route) -> None:
    mismatches: list[str] = []
    for case in route.cases:
        for caller in callers_of(route, case):
            path, response = matrix.send(route, case, caller)
            reached = _endpoint_of(matrix, route.method, path)
            if reached != route.endpoint:
                mismatches.append(f"{case.name}: {path} reaches {reached}, not the route")
                break
            want, got = expected(route, case, caller), outcome(route.method, response)
            if want != got:
                mismatches.append(f"{case.name:>28} | {caller:<18} expected {want:<7} got "
                                  f"{response.status_code} {_snippet(response)}")
    assert not mismatches, f"{route}\n" + "\n".join(mismatches)


def _route_id(route: Route) -> str:
    return f"{route.method} {route.endpoint}"


# --- the route table ------------------------------------------------------------------------


def test_every_route_has_one_entry_in_the_matrix(matrix: Matrix) -> None:
    served = {(rule.endpoint, method) for rule in matrix.app.url_map.iter_rules()
              for method in (rule.methods or set()) - IGNORED_METHODS}
    listed = Counter(entry.key for entry in ROUTES)

    assert [key for key, count in listed.items() if count > 1] == [], "listed twice"
    assert sorted(served - set(listed)) == [], "routes without an entry in tests/access/matrix.py"
    assert sorted(set(listed) - served) == [], "entries for routes the server no longer has"


# --- a light look at what the readers get (tests/access/test_submission_visibility.py has
# the detailed field tests) ---------------------------------------------------------------------


def _zip_children(body: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return archive.read("household_screening-child.csv").decode("utf-8")


def _villages_of_csv(text: str) -> set[str]:
    return {row["village"] for row in csv.DictReader(io.StringIO(text))}


CONTENT = [
    # (caller, path, the sensitive answers must be there)
    ("viewer_t01_cookie", "{F}/submissions/{visit}.xml", False),
    ("cp_officer_t01", "{F}/submissions/{visit}.xml", True),
    ("viewer", "{F}.svc/Submissions.household.child", False),
    ("manager_t01", "{F}.svc/Submissions.household.child", True),
    ("viewer_t01", "{F}/submissions.csv.zip", False),
    ("cp_officer", "{F}/submissions.csv.zip", True),
]


@pytest.mark.parametrize(("caller", "path", "sees"), CONTENT)
def test_readers_get_the_sensitive_answers_only_where_they_may(
        matrix: Matrix, caller: str, path: str, sees: bool) -> None:
    commune = matrix.world.commune
    url = path.replace("{F}", commune.screening_base()).replace("{visit}", commune.visit_inside)
    response = matrix.get(caller, url)

    assert response.status_code == 200
    body = (_zip_children(response.data) if url.endswith(".zip")
            else response.get_data(as_text=True))
    assert (CONCERN in body) is sees
    if not sees:
        assert [word for word in SENSITIVE_WORDS if word in body] == []


def test_the_registry_child_shows_its_confidential_referral_to_the_officer_alone(
        matrix: Matrix) -> None:
    path = (f"/v1/projects/{matrix.world.project_id}/registry/children/"
            f"{matrix.world.villages[INSIDE].child}")
    for caller, sees in (("cp_officer_t01", True), ("viewer_t01", False),
                         ("commune_leader", False), ("health_reviewer", False)):
        response = matrix.get(caller, path)
        assert response.status_code == 200, caller
        assert ("HCDB-L" in response.get_data(as_text=True)) is sees, caller


def test_the_entity_list_holds_only_the_callers_villages(matrix: Matrix) -> None:
    base = f"/v1/projects/{matrix.world.project_id}"
    limited = matrix.get("viewer_t01", f"{base}/datasets/children/entities.csv")
    everyone = matrix.get("manager", f"{base}/datasets/children/entities.csv")
    phone = matrix.get(PHONE, f"{base}/forms/child_followup/attachments/children.csv")

    assert _villages_of_csv(limited.get_data(as_text=True)) == {INSIDE}
    assert _villages_of_csv(phone.get_data(as_text=True)) == {INSIDE}
    assert len(_villages_of_csv(everyone.get_data(as_text=True))) > 1
    for response in (limited, everyone, phone):
        assert "HCDB-L" not in response.get_data(as_text=True)


# --- every route, every caller ----------------------------------------------------------------


@pytest.mark.parametrize("route", READS, ids=_route_id)
def test_reads(matrix: Matrix, route: Route) -> None:
    check(matrix, route)


@pytest.mark.parametrize("route", WRITES, ids=_route_id)
def test_writes(matrix: Matrix, route: Route) -> None:
    check(matrix, route)

