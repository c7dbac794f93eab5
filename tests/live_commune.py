"""The demo commune (villages T01–T06, a phone per village) served on a real port: phones
reach it as Collect does, people sign in and call the API with `requests`."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import requests

from server.demo import DemoSummary
from server.operations.users import create_user, grant_project_role
from server.services import Services
from tests.api.conftest import PASSWORD
from tests.openrosa.wire import collect_headers
from tests.registry.followup_helpers import CSV_PATH


@dataclass
class Caller:
    """A signed-in web user talking to the live server."""

    id: int
    http: requests.Session
    base: str

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.http.request(method, f"{self.base}{path}", json=body, timeout=30)


@dataclass
class LiveCommune:
    services: Services
    demo: DemoSummary
    url: str

    @property
    def project(self) -> str:
        return f"/v1/projects/{self.demo.project_id}"

    def phone_id(self, village: str) -> int:
        return next(p.actor_id for p in self.demo.phones if p.village == village)

    def phone_token(self, village: str) -> str:
        token = next(p.token for p in self.demo.phones if p.village == village)
        assert token is not None
        return token

    def phone_url(self, token: str) -> str:
        return f"{self.url}/v1/key/{token}/projects/{self.demo.project_id}"

    def children_csv(self, token: str) -> list[dict[str, str]]:
        """The children a phone with this token downloads (`children.csv`)."""
        response = requests.get(f"{self.phone_url(token)}{CSV_PATH}",
                                headers=collect_headers(), timeout=30)
        assert response.status_code == 200, response.text
        return list(csv.DictReader(io.StringIO(response.text)))

    def user(self, email: str, roles: dict[str, list[str]] | None = None,
             admin: bool = False) -> Caller:
        """A web user holding `roles` ({role: villages}) on the demo project, signed in."""
        with self.services.database.unit_of_work() as db:
            user = create_user(db, email, PASSWORD, role="admin" if admin else "none")
            for role, villages in (roles or {}).items():
                grant_project_role(db, self.demo.project_id, user.actor_id,
                                   role).villages = villages
            actor_id = user.actor_id
        http = requests.Session()
        signed = http.post(f"{self.url}/v1/sessions", timeout=30,
                           json={"email": email, "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        http.headers["Authorization"] = f"Bearer {signed.json()['token']}"
        return Caller(actor_id, http, self.url)
