"""The `children` entity list follows the one village rule for web users as for phones: a data
collector gets the children of the villages given to it and none without villages; office
roles get their villages, or all (docs/access.md)."""

from __future__ import annotations

import csv
import io

import requests

from tests.access.commune import INSIDE, Commune
from tests.conftest import LiveServer


def villages_in(body: str) -> set[str]:
    return {row["village"] for row in csv.DictReader(io.StringIO(body))}


def children_csv(server: LiveServer, commune: Commune, who: str) -> requests.Response:
    path = (f"/v1/projects/{commune.project_id}/forms/child_followup/attachments/"
            "children.csv")
    return requests.get(f"{server.url}{path}", headers=commune.bearer(who), timeout=30)


def test_a_data_collector_without_villages_downloads_no_child(
        live_server: LiveServer, commune: Commune) -> None:
    response = children_csv(live_server, commune, "formfill")

    assert response.status_code == 200
    assert response.text.splitlines()[1:] == []


def test_a_data_collector_of_t01_downloads_only_t01s_children(
        live_server: LiveServer, commune: Commune) -> None:
    response = children_csv(live_server, commune, "formfill_t01")

    assert response.status_code == 200
    assert villages_in(response.text) == {INSIDE}


def test_a_phone_of_t01_downloads_only_t01s_children(
        live_server: LiveServer, commune: Commune) -> None:
    token = commune.phone_tokens[INSIDE]
    path = (f"/v1/key/{token}/projects/{commune.project_id}/forms/child_followup/"
            "attachments/children.csv")
    response = requests.get(f"{live_server.url}{path}",
                            headers={"X-OpenRosa-Version": "1.0"}, timeout=30)

    assert response.status_code == 200
    assert villages_in(response.text) == {INSIDE}


def test_office_roles_get_their_villages_through_the_datasets_api(
        live_server: LiveServer, commune: Commune) -> None:
    path = f"/v1/projects/{commune.project_id}/datasets/children/entities.csv"

    limited = requests.get(f"{live_server.url}{path}", headers=commune.bearer("viewer_t01"),
                           timeout=30)
    everyone = requests.get(f"{live_server.url}{path}", headers=commune.bearer("viewer"),
                            timeout=30)

    assert villages_in(limited.text) == {INSIDE}
    assert len(villages_in(everyone.text)) > 1
    assert requests.get(f"{live_server.url}{path}", headers=commune.bearer("formfill"),
                        timeout=30).status_code == 403
