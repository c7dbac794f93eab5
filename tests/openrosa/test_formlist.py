"""`GET …/formList` as Collect reads it (docs/openrosa.md §2)."""

from __future__ import annotations

from defusedxml.ElementTree import fromstring
from flask.testing import FlaskClient

from server.services import Services
from tests.conftest import Screening, World
from tests.openrosa.checks import assert_openrosa_xml
from tests.openrosa.conftest import (
    Phone,
    app_with,
    assign,
    basic,
    new_app_user,
    publish_xform,
    set_form_state,
    web_user,
)
from tests.openrosa.wire import FORM_LIST_NS, collect_headers, md5_hash, parse_form_list


def test_form_list_is_centrals_document_with_the_hash_of_the_served_bytes(
        phone: Phone, screening: Screening) -> None:
    response = phone.get("/formList")
    assert response.status_code == 200
    assert_openrosa_xml(response)
    assert response.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = fromstring(response.data)
    assert root.tag == f"{{{FORM_LIST_NS}}}xforms"
    [form] = parse_form_list(response.data)
    assert form["formID"] == "child_screening"
    assert form["name"] == "Child screening"
    assert form["version"] == "2026112801"
    assert form["downloadUrl"] == (f"http://localhost/v1/key/{phone.token}/projects/"
                                   f"{phone.project_id}/forms/child_screening.xml")
    # A binary question is not media: no manifest to fetch on every refresh.
    assert form["manifestUrl"] is None
    download = phone.get(form["downloadUrl"])
    assert download.status_code == 200
    assert form["hash"] == md5_hash(download.data)


def test_every_url_keeps_the_key_and_starts_from_the_public_url(
        services: Services, screening: Screening, visit_form: int) -> None:
    actor_id, token = new_app_user(screening.world, screening.project_id)
    assign(screening.world, visit_form, actor_id)
    client = app_with(services, public_url="https://diemtua.example.vn").test_client()
    phone = Phone(client, screening.project_id, token)
    [form] = parse_form_list(phone.get("/formList").data)
    base = f"https://diemtua.example.vn/v1/key/{token}/projects/{screening.project_id}"
    assert form["downloadUrl"] == f"{base}/forms/household_visit.xml"
    assert form["manifestUrl"] == f"{base}/forms/household_visit/manifest"


def test_manifest_url_only_for_forms_that_expect_media(
        client: FlaskClient, screening: Screening, visit_form: int) -> None:
    forms = {form["formID"]: form for form in parse_form_list(
        client.get("/formList", headers=basic_admin(screening), base_url="https://x").data)}
    assert forms["child_screening"]["manifestUrl"] is None
    assert forms["household_visit"]["manifestUrl"] is not None
    assert forms["household_visit"]["name"] == "Thăm hộ gia đình"
    assert forms["household_visit"]["version"] == "3"


def basic_admin(screening: Screening) -> dict[str, str]:
    web_user(screening.world, "quanly@diemtua.test", "manager")
    return basic("quanly@diemtua.test")


def test_closing_closed_unpublished_and_deleted_forms_are_not_listed(
        phone: Phone, screening: Screening, visit_form: int) -> None:
    from server.models import Form
    from server.operations.forms import create_form

    world = screening.world
    assign(world, visit_form, phone.actor_id or 0)
    draft_xml = VISIT_DRAFT.encode()
    with world.uow() as db:
        draft = create_form(db, world.services.store, world.project_id, draft_xml,
                            "application/xml")
        draft_id = draft.id
    assign(world, draft_id, phone.actor_id or 0)
    listed = {form["formID"] for form in parse_form_list(phone.get("/formList").data)}
    assert listed == {"child_screening", "household_visit"}

    set_form_state(world, screening.form_id, "closing")
    set_form_state(world, visit_form, "closed")
    assert parse_form_list(phone.get("/formList").data) == []

    set_form_state(world, screening.form_id, "open")
    with world.uow() as db:
        form = db.get(Form, screening.form_id)
        assert form is not None
        from server.operations.forms import delete_form
        delete_form(form)
    assert parse_form_list(phone.get("/formList").data) == []


VISIT_DRAFT = """<h:html xmlns="http://www.w3.org/2002/xforms" \
xmlns:h="http://www.w3.org/1999/xhtml"><h:head><h:title>Nháp</h:title><model><instance>\
<data id="draft_only" version="1"><q/></data></instance></model></h:head><h:body>\
<input ref="/data/q"><label>Q</label></input></h:body></h:html>"""

UNTITLED = """<h:html xmlns="http://www.w3.org/2002/xforms" \
xmlns:h="http://www.w3.org/1999/xhtml"><h:head><model><instance>\
<data id="untitled"><q/></data></instance></model></h:head><h:body>\
<input ref="/data/q"><label>Q</label></input></h:body></h:html>"""


def test_name_falls_back_to_form_id_and_version_element_is_always_there(
        phone: Phone, screening: Screening) -> None:
    form_id = publish_xform(screening.world, UNTITLED)
    assign(screening.world, form_id, phone.actor_id or 0)
    response = phone.get("/formList", query_string=None)
    forms = {form["formID"]: form for form in parse_form_list(response.data)}
    assert forms["untitled"]["name"] == "untitled"
    assert forms["untitled"]["version"] == ""
    assert b"<version></version>" in response.data


def test_app_user_sees_only_assigned_forms(
        client: FlaskClient, screening: Screening, visit_form: int) -> None:
    actor_id, token = new_app_user(screening.world, screening.project_id)
    phone = Phone(client, screening.project_id, token)
    assert parse_form_list(phone.get("/formList").data) == []
    assign(screening.world, visit_form, actor_id)
    assert [form["formID"] for form in parse_form_list(phone.get("/formList").data)] == [
        "household_visit"]


def test_form_id_filters_and_unknown_parameters_are_ignored(
        phone: Phone, screening: Screening, visit_form: int) -> None:
    assign(screening.world, visit_form, phone.actor_id or 0)
    everything = phone.get("/formList?verbose=true&listAllVersions=true&items=5&st=ignored")
    assert everything.status_code == 200
    assert len(parse_form_list(everything.data)) == 2
    only = parse_form_list(phone.get("/formList?formID=household_visit").data)
    assert [form["formID"] for form in only] == ["household_visit"]
    assert parse_form_list(phone.get("/formList?formID=nothing").data) == []


def test_anonymous_and_bad_key_are_challenged(client: FlaskClient, screening: Screening
                                              ) -> None:
    for phone in (Phone(client, screening.project_id, None),
                  Phone(client, screening.project_id, "not-a-real-token")):
        response = phone.get("/formList")
        assert response.status_code == 401
        assert_openrosa_xml(response)
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")


def test_app_user_of_another_project_is_refused(client: FlaskClient, screening: Screening
                                                ) -> None:
    from server.operations.projects import create_project

    with screening.world.uow() as db:
        other = create_project(db, "Xã Hoà An").id
    _actor, token = new_app_user(screening.world, other)
    response = Phone(client, screening.project_id, token).get("/formList")
    assert response.status_code == 403
    assert_openrosa_xml(response)


def test_unknown_project_is_404_in_openrosa_xml(phone: Phone) -> None:
    response = Phone(phone.client, 999, phone.token).get("/formList")
    assert response.status_code == 404
    assert_openrosa_xml(response)


def test_plain_form_list_for_a_web_user_over_https_across_their_projects(
        client: FlaskClient, screening: Screening) -> None:
    from server.operations.forms import create_form
    from server.operations.projects import create_project
    from server.operations.users import grant_project_role
    from tests.conftest import XLSX_TYPE, fixture_bytes

    world = screening.world
    user_id = web_user(world, "canbo@diemtua.test", "formfill")
    with world.uow() as db:
        mine, hidden = create_project(db, "Xã Hoà An"), create_project(db, "Xã Hoà Lạc")
        for project in (mine, hidden):
            create_form(db, world.services.store, project.id,
                        fixture_bytes("child_followup.xlsx"), XLSX_TYPE, publish=True,
                        ignore_warnings=True)
        grant_project_role(db, mine.id, user_id, "viewer")
        mine_id = mine.id
    response = client.get("/formList?deviceID=collect%3AXy7Qk2Lm9Pz4Rt6W",
                          headers={**collect_headers(), **basic("canbo@diemtua.test")},
                          base_url="https://diemtua.example.vn")
    assert response.status_code == 200
    assert_openrosa_xml(response)
    urls = sorted(form["downloadUrl"] or "" for form in parse_form_list(response.data))
    assert urls == sorted([
        f"https://diemtua.example.vn/v1/projects/{mine_id}/forms/child_followup.xml",
        f"https://diemtua.example.vn/v1/projects/{screening.project_id}/forms/"
        "child_screening.xml",
    ])


def test_basic_over_plain_http_is_refused_but_works_behind_a_tls_proxy(
        services: Services, client: FlaskClient, screening: Screening) -> None:
    web_user(screening.world, "canbo@diemtua.test", "formfill")
    headers = {**collect_headers(), **basic("canbo@diemtua.test")}
    refused = client.get("/formList", headers=headers)
    assert refused.status_code == 401
    assert b"HTTPS" in refused.data
    assert "WWW-Authenticate" in refused.headers
    # Without configured proxy hops, X-Forwarded-Proto is not believed.
    spoofed = client.get("/formList", headers={**headers, "X-Forwarded-Proto": "https"})
    assert spoofed.status_code == 401
    proxied = app_with(services, proxy_hops=1).test_client()
    behind_proxy = proxied.get("/formList", headers={**headers, "X-Forwarded-Proto": "https",
                                                     "X-Forwarded-Host": "diemtua.example.vn"})
    assert behind_proxy.status_code == 200
    [form] = parse_form_list(behind_proxy.data)
    assert (form["downloadUrl"] or "").startswith("https://diemtua.example.vn/v1/projects/")


def test_anonymous_plain_form_list_is_challenged(client: FlaskClient, world: World) -> None:
    response = client.get("/formList", headers=collect_headers())
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


def test_openrosa_version_other_than_1_0_is_refused_and_absence_tolerated(
        phone: Phone) -> None:
    wrong = phone.get("/formList", headers={"X-OpenRosa-Version": "2.0"})
    assert wrong.status_code == 400
    assert_openrosa_xml(wrong)
    assert b"X-OpenRosa-Version" in wrong.data
    absent = phone.client.get(f"{phone.base}/formList")
    assert absent.status_code == 200
