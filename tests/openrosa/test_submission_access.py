"""Which form a submission is for, and whether its sender may submit to it (docs/openrosa.md §8,
§9): unknown form or version, closing and closed forms, app users, web users over Basic."""

from __future__ import annotations

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from server.services import Services
from tests.conftest import PNG_BYTES, Screening, fixture_bytes, new_instance_id, screening_xml
from tests.openrosa.checks import assert_created, assert_refused
from tests.openrosa.conftest import (
    Phone,
    app_with,
    basic,
    new_app_user,
    set_form_state,
    snapshot,
    web_user,
)
from tests.openrosa.wire import parse_form_list


def test_unknown_form_404_1_and_unknown_version_404_6(services: Services, phone: Phone
                                                      ) -> None:
    before = snapshot(services)
    photo = {"house.png": PNG_BYTES}
    unknown_form = screening_xml(new_instance_id(), "A", photo="house.png").replace(
        'id="child_screening"', 'id="nothing"')
    assert_refused(phone.submit(unknown_form, photo), 404, "404.1")
    text = assert_refused(phone.submit(screening_xml(new_instance_id(), "A", version="9",
                                                     photo="house.png"), photo), 404, "404.6")
    assert "'9'" in text
    assert snapshot(services) == before


def test_closing_form_accepts_but_is_hidden_and_closed_form_refuses(
        phone: Phone, screening: Screening) -> None:
    set_form_state(screening.world, screening.form_id, "closing")
    assert_created(phone.submit(screening_xml(new_instance_id(), "Đinh Văn Lộc")))
    assert parse_form_list(phone.get("/formList").data) == []
    set_form_state(screening.world, screening.form_id, "closed")
    before = snapshot(screening.world.services)
    text = assert_refused(phone.submit(screening_xml(new_instance_id(), "Đinh Văn Lộc",
                                                     photo="house.png"),
                                       {"house.png": PNG_BYTES}), 409, "409.2")
    assert "not currently accepting submissions" in text
    assert snapshot(screening.world.services) == before


def test_anonymous_bad_key_and_unassigned_app_user_get_401_with_a_challenge(
        client: FlaskClient, phone: Phone, screening: Screening) -> None:
    _actor, unassigned = new_app_user(screening.world, screening.project_id)
    before = snapshot(screening.world.services)
    for token in (None, "not-a-real-token", unassigned):
        caller = Phone(client, screening.project_id, token)
        response = caller.submit(screening_xml(new_instance_id(), "Khách", photo="house.png"),
                                 {"house.png": PNG_BYTES})
        text = assert_refused(response, 401, "401.2")
        assert "Could not authenticate" in text
    assert snapshot(screening.world.services) == before


def test_web_user_basic_needs_https_or_a_trusted_proxy(
        services: Services, client: FlaskClient, screening: Screening) -> None:
    web_user(screening.world, "canbo@diemtua.test", "formfill")
    url = f"/v1/projects/{screening.project_id}/submission"
    sender = Phone(client, screening.project_id, None)
    before = snapshot(services)
    over_http = sender.submit(screening_xml(new_instance_id(), "X"), url=url,
                              headers=basic("canbo@diemtua.test"))
    assert "HTTPS" in assert_refused(over_http, 401, "401.3")
    assert snapshot(services) == before
    over_https = sender.submit(screening_xml(new_instance_id(), "X"), url=url,
                               headers=basic("canbo@diemtua.test"),
                               base_url="https://diemtua.example.vn")
    assert_created(over_https)
    behind_proxy = Phone(app_with(services, proxy_hops=1).test_client(), screening.project_id,
                         None)
    proxied = behind_proxy.submit(screening_xml(new_instance_id(), "X"), url=url,
                                  headers={**basic("canbo@diemtua.test"),
                                           "X-Forwarded-Proto": "https"})
    assert_created(proxied)


def test_web_user_without_the_right_to_submit_gets_401(client: FlaskClient,
                                                       screening: Screening) -> None:
    web_user(screening.world, "xem@diemtua.test", "viewer")
    sender = Phone(client, screening.project_id, None)
    response = sender.submit(screening_xml(new_instance_id(), "X"),
                             headers=basic("xem@diemtua.test"), base_url="https://localhost")
    assert_refused(response, 401, "401.2")


def test_plain_submission_url_finds_the_form_or_asks_for_the_project_url(
        client: FlaskClient, screening: Screening) -> None:
    from server.operations.forms import create_form
    from server.operations.projects import create_project
    from server.operations.users import grant_project_role
    from tests.conftest import XLSX_TYPE

    world = screening.world
    user_id = web_user(world, "canbo@diemtua.test", "formfill")
    sender = Phone(client, screening.project_id, None)
    headers = basic("canbo@diemtua.test")

    def send() -> TestResponse:
        return sender.submit(screening_xml(new_instance_id(), "Y"), url="/submission",
                             headers=headers, base_url="https://localhost")

    assert_created(send())
    anonymous = sender.submit(screening_xml(new_instance_id(), "Y"), url="/submission",
                              base_url="https://localhost")
    assert_refused(anonymous, 401, "401.2")
    with world.uow() as db:
        other = create_project(db, "Xã Hoà An")
        create_form(db, world.services.store, other.id, fixture_bytes("child_screening.xlsx"),
                    XLSX_TYPE, publish=True, ignore_warnings=True)
        grant_project_role(db, other.id, user_id, "formfill")
        other_id = other.id
    text = assert_refused(send(), 400, "400.8")
    assert f"/v1/projects/{other_id}" in text


