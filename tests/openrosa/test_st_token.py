"""Central also accepts the app-user token as `?st=<token>`; the URLs handed back keep it."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.openrosa.conftest import Phone
from tests.openrosa.wire import collect_headers, parse_form_list


def test_a_token_in_the_query_string_authenticates_and_comes_back_in_every_url(
        client: FlaskClient, phone: Phone) -> None:
    response = client.get(f"/v1/projects/{phone.project_id}/formList",
                          query_string={"st": phone.token}, headers=collect_headers())
    assert response.status_code == 200
    [form] = parse_form_list(response.data)
    assert form["downloadUrl"].startswith(
        f"http://localhost/v1/key/{phone.token}/projects/{phone.project_id}/")
    assert client.get(form["downloadUrl"]).status_code == 200


def test_a_wrong_token_in_the_query_string_is_refused(client: FlaskClient, phone: Phone) -> None:
    response = client.get(f"/v1/projects/{phone.project_id}/formList",
                          query_string={"st": "not-a-token"}, headers=collect_headers())
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers
