"""The OData feed over HTTP: Central's documents, paging, counting, filtering, repeats."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from server.models import Form, ReviewState
from server.operations.forms import create_form
from server.operations.review import get_submission, set_review_state
from tests.conftest import PNG_BYTES, Screening, fixture_bytes, new_instance_id, screening_xml
from tests.exports.forms import PEER_TINY

JSON_TYPE = "application/json; charset=utf-8; odata.metadata=minimal"


@pytest.fixture
def five(screening: Screening) -> list[str]:
    """Five households, oldest first; each with as many children as its number."""
    return [screening.submit(screening_xml(new_instance_id(), f"Hộ {n}",
                                           tuple((f"Trẻ {n}.{k}", k, "no") for k in range(n))))
            for n in range(1, 6)]


def follow(client: FlaskClient, url: str, headers: dict[str, str]) -> list[dict]:
    """Every row of a table, following @odata.nextLink as a client would."""
    rows: list[dict] = []
    while url:
        page = client.get(url, headers=headers)
        assert page.status_code == 200, page.json
        rows += page.json["value"]
        next_link = page.json.get("@odata.nextLink")
        url = "" if next_link is None else "{0.path}?{0.query}".format(urlsplit(next_link))
    return rows


def test_service_document_and_headers(client: FlaskClient, screening: Screening,
                                      admin_headers: dict[str, str]) -> None:
    response = client.get(f"{screening.base}.svc", headers=admin_headers)

    assert response.status_code == 200
    assert response.headers["Content-Type"] == JSON_TYPE
    assert response.headers["OData-Version"] == "4.0"
    assert response.json == {
        "@odata.context": "http://localhost/v1/projects/1/forms/child_screening.svc/$metadata",
        "value": [{"name": "Submissions", "kind": "EntitySet", "url": "Submissions"},
                  {"name": "Submissions.child", "kind": "EntitySet",
                   "url": "Submissions.child"}]}


def test_metadata_is_edmx_xml(client: FlaskClient, screening: Screening,
                              admin_headers: dict[str, str]) -> None:
    response = client.get(f"{screening.base}.svc/$metadata", headers=admin_headers)

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/xml")
    assert b'Namespace="org.opendatakit.user.child_screening"' in response.data
    assert b'<Property Name="child_age" Type="Edm.Int64"/>' in response.data


def test_top_count_and_next_links_walk_every_submission(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str],
        five: list[str]) -> None:
    first = client.get(f"{screening.base}.svc/Submissions?$top=2&$count=true",
                       headers=admin_headers)

    assert first.headers["Content-Type"] == JSON_TYPE
    body = first.json
    assert [r["__id"] for r in body["value"]] == five[::-1][:2]
    assert body["@odata.count"] == 5
    assert body["@odata.context"].endswith("/child_screening.svc/$metadata#Submissions")
    assert "%24skiptoken=01" in body["@odata.nextLink"]
    assert "%24top=2" in body["@odata.nextLink"]
    every = follow(client, f"{screening.base}.svc/Submissions?$top=2", admin_headers)
    assert [r["__id"] for r in every] == five[::-1]


def test_skip_and_last_page_has_no_next_link(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str],
        five: list[str]) -> None:
    body = client.get(f"{screening.base}.svc/Submissions?$skip=3&$top=5",
                      headers=admin_headers).json

    assert [r["__id"] for r in body["value"]] == five[::-1][3:]
    assert "@odata.nextLink" not in body and "@odata.count" not in body


def test_typed_values_and_system_metadata(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    screening.submit(fixture_bytes("javarosa-submission.xml"), {"house.png": PNG_BYTES},
                     submitter_id=screening.world.admin_id, device_id="collect:Q")

    (row,) = client.get(f"{screening.base}.svc/Submissions", headers=admin_headers).json["value"]
    (wkt,) = client.get(f"{screening.base}.svc/Submissions?$wkt=true",
                        headers=admin_headers).json["value"]

    assert row["household_head"] == "Nguyễn Văn An"
    assert row["num_children"] == 2
    assert row["location"] == {"type": "Point", "coordinates": [105.8542, 21.0285, 12],
                               "properties": {"accuracy": 5}}
    assert wkt["location"] == "POINT (105.8542 21.0285 12)"
    assert row["__system"]["submitterId"] == str(screening.world.admin_id)
    assert row["__system"]["submitterName"] == "Quản trị viên"
    assert row["__system"]["attachmentsPresent"] == 1
    assert row["__system"]["deviceId"] == "collect:Q"
    assert row["child@odata.navigationLink"] == (
        "Submissions('uuid%3A6b07b5af-27c4-4a23-90b7-b9e5f2a1f43d')/child")


def test_filter_on_review_state_submitter_and_date(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str],
        five: list[str]) -> None:
    collector = screening.user("thu@xa.test", "formfill")
    by_collector = screening.submit(screening_xml(new_instance_id(), "Hộ 6"),
                                    submitter_id=collector)
    with screening.world.uow() as db:
        form = db.get(Form, screening.form_id)
        assert form is not None
        set_review_state(db, get_submission(db, form, five[0]), ReviewState.APPROVED, None)

    def ids(expression: str) -> list[str]:
        response = client.get(f"{screening.base}.svc/Submissions",
                              query_string={"$filter": expression, "$count": "true"},
                              headers=admin_headers)
        assert response.status_code == 200, response.json
        assert response.json["@odata.count"] == len(response.json["value"])
        return [r["__id"] for r in response.json["value"]]

    assert ids("__system/reviewState eq 'approved'") == [five[0]]
    assert ids("__system/reviewState eq null") == [by_collector, *five[::-1][:-1]]
    assert ids(f"__system/submitterId eq {collector}") == [by_collector]
    assert ids(f"__system/submitterId eq '{collector}' or __system/reviewState ne null") == [
        by_collector, five[0]]
    assert ids("__system/submissionDate lt 2000-01-01") == []
    assert len(ids("__system/submissionDate ge 2000-01-01T00:00:00Z")) == 6
    assert len(ids("year(__system/submissionDate) ge 2000 and not "
                   "(__system/reviewState eq 'approved')")) == 5


def test_bad_filter_is_a_central_problem(client: FlaskClient, screening: Screening,
                                         admin_headers: dict[str, str]) -> None:
    broken = client.get(f"{screening.base}.svc/Submissions",
                        query_string={"$filter": "__system/reviewState eq"},
                        headers=admin_headers)
    unknown = client.get(f"{screening.base}.svc/Submissions",
                         query_string={"$filter": "household_head eq 'An'"},
                         headers=admin_headers)

    assert broken.status_code == 400 and broken.json["code"] == 400.18
    assert unknown.status_code == 501 and unknown.json["code"] == 501.5


def test_deleted_rows_only_for_a_filter_on_deleted_at(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str],
        five: list[str]) -> None:
    client.delete(f"{screening.base}/submissions/{five[2]}", headers=admin_headers)

    live = client.get(f"{screening.base}.svc/Submissions", headers=admin_headers).json["value"]
    deleted = client.get(f"{screening.base}.svc/Submissions",
                         query_string={"$filter": "__system/deletedAt ne null"},
                         headers=admin_headers).json["value"]

    assert five[2] not in [r["__id"] for r in live] and len(live) == 4
    assert [r["__id"] for r in deleted] == [five[2]]
    assert deleted[0]["__system"]["deletedAt"].endswith("Z")


def test_select_top_level_fields(client: FlaskClient, screening: Screening,
                                 admin_headers: dict[str, str], five: list[str]) -> None:
    body = client.get(f"{screening.base}.svc/Submissions",
                      query_string={"$select": "__id,household_head,num_children", "$top": "1"},
                      headers=admin_headers).json

    assert body["value"] == [{"household_head": "Hộ 5", "num_children": 5, "__id": five[4]}]


def test_repeat_table_pages_with_skiptoken(client: FlaskClient, screening: Screening,
                                           admin_headers: dict[str, str],
                                           five: list[str]) -> None:
    first = client.get(f"{screening.base}.svc/Submissions.child?$top=4&$count=true",
                       headers=admin_headers).json
    every = follow(client, f"{screening.base}.svc/Submissions.child?$top=4", admin_headers)

    assert first["@odata.count"] == 15
    assert len(first["value"]) == 4
    assert first["@odata.context"].endswith("$metadata#Submissions.child")
    assert len(every) == 15 and len({r["__id"] for r in every}) == 15
    assert [r["child_name"] for r in every[:5]] == [f"Trẻ 5.{k}" for k in range(5)]
    assert {r["__Submissions-id"] for r in every} == set(five)


def test_navigation_link_lists_one_submissions_children(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str],
        five: list[str]) -> None:
    (row,) = client.get(f"{screening.base}.svc/Submissions",
                        query_string={"$filter": "__system/submissionDate ge 2000-01-01",
                                      "$top": "1"},
                        headers=admin_headers).json["value"]
    link = row["child@odata.navigationLink"]

    body = client.get(f"{screening.base}.svc/{link}", headers=admin_headers).json

    assert [c["child_name"] for c in body["value"]] == [f"Trẻ 5.{k}" for k in range(5)]
    assert all(c["__Submissions-id"] == five[4] for c in body["value"])


def test_unknown_table_and_unpublished_form_are_404(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    with screening.world.uow() as db:
        create_form(db, screening.world.services.store, screening.project_id,
                    PEER_TINY.encode(), "application/xml")

    unknown = client.get(f"{screening.base}.svc/Submissions.nope", headers=admin_headers)
    draft_only = client.get(f"/v1/projects/{screening.project_id}/forms/peer_tiny.svc",
                            headers=admin_headers)

    assert unknown.status_code == 404
    assert draft_only.status_code == 404


def test_invalid_skiptoken_is_400(client: FlaskClient, screening: Screening,
                                  admin_headers: dict[str, str]) -> None:
    response = client.get(f"{screening.base}.svc/Submissions?$skiptoken=zz",
                          headers=admin_headers)

    assert response.status_code == 400 and response.json["code"] == 400.35
