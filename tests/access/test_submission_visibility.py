"""Submissions, their XML, files, CSV and OData as each role sees them, over real HTTP: rows of
the caller's villages only, sensitive answers absent for roles that may not read them, and the
exact bytes for those who may (docs/access.md)."""

from __future__ import annotations

import csv
import io
import zipfile

import requests

from tests.access.commune import CONCERN, ETHNICITY, ILLNESS, INSIDE, Commune
from tests.conftest import LiveServer

SENSITIVE_WORDS = (CONCERN, ILLNESS, ETHNICITY, "f_protection", "e_illness", "c_ethnic")


def get(server: LiveServer, commune: Commune, who: str, path: str) -> requests.Response:
    return requests.get(f"{server.url}{path}", headers=commune.bearer(who), timeout=30)


def xml_path(commune: Commune, instance_id: str) -> str:
    return f"{commune.screening_base()}/submissions/{instance_id}.xml"


def zip_tables(body: bytes) -> dict[str, list[dict[str, str]]]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))
                for name in archive.namelist() if name.endswith(".csv")}


def test_a_viewer_reads_the_visit_without_its_confidential_health_and_ethnicity_answers(
        live_server: LiveServer, commune: Commune) -> None:
    response = get(live_server, commune, "viewer", xml_path(commune, commune.visit_inside))

    assert response.status_code == 200
    body = response.text
    for word in SENSITIVE_WORDS:
        assert word not in body
    assert "c_full_name" in body and "<village>T01</village>" in body


def test_the_officer_and_the_admin_get_the_phones_bytes_exactly(
        live_server: LiveServer, commune: Commune) -> None:
    sent = commune.xml_of(commune.visit_inside).encode("utf-8")
    for who in ("admin", "cp_officer", "manager", "cp_officer_t01", "manager_t01"):
        response = get(live_server, commune, who, xml_path(commune, commune.visit_inside))
        assert response.status_code == 200, who
        assert response.content == sent, who


def test_a_role_limited_to_t01_does_not_find_other_villages_visits(
        live_server: LiveServer, commune: Commune) -> None:
    for who in ("cp_officer_t01", "manager_t01", "viewer_t01"):
        for path in ("", ".xml", "/versions", "/attachments", "/comments"):
            url = f"{commune.screening_base()}/submissions/{commune.visit_outside}{path}"
            assert get(live_server, commune, who, url).status_code == 404, (who, path)
        listed = get(live_server, commune, who, f"{commune.screening_base()}/submissions")
        instance_ids = {row["instanceId"] for row in listed.json()}
        assert commune.visit_inside in instance_ids
        assert commune.visit_outside not in instance_ids


def test_a_visit_of_no_known_village_is_seen_only_without_a_village_limit(
        live_server: LiveServer, commune: Commune) -> None:
    path = f"{commune.screening_base()}/submissions/{commune.visit_unknown_village}"
    assert get(live_server, commune, "cp_officer_t01", path).status_code == 404
    assert get(live_server, commune, "cp_officer", path).status_code == 200


def test_the_csv_zip_leaves_sensitive_columns_out_for_a_viewer_and_other_villages_out_for_t01(
        live_server: LiveServer, commune: Commune) -> None:
    path = f"{commune.screening_base()}/submissions.csv.zip"

    viewer = get(live_server, commune, "viewer", path)
    assert viewer.status_code == 200
    children = zip_tables(viewer.content)["household_screening-child.csv"]
    assert children and not [c for c in children[0] if "f_protection" in c or "c_ethnic" in c
                             or "e_illness" in c or "d_functioning" in c]
    assert not [row for row in children if CONCERN in row.values() or ILLNESS in row.values()]

    limited = zip_tables(get(live_server, commune, "cp_officer_t01", path).content)
    villages = {row["village"] for row in limited["household_screening.csv"]}
    assert villages == {INSIDE}
    assert any(CONCERN in row.get("f_protection-f_type", "")
               for row in limited["household_screening-child.csv"])


def test_odata_metadata_and_the_child_table_leave_sensitive_fields_out_for_a_viewer(
        live_server: LiveServer, commune: Commune) -> None:
    service = f"/v1/projects/{commune.project_id}/forms/household_screening.svc"

    metadata = get(live_server, commune, "viewer", f"{service}/$metadata")
    assert metadata.status_code == 200
    assert "f_protection" not in metadata.text and "c_ethnic" not in metadata.text
    assert "c_full_name" in metadata.text
    assert "f_protection" in get(live_server, commune, "cp_officer", f"{service}/$metadata").text

    table = get(live_server, commune, "viewer", f"{service}/Submissions.household.child")
    assert table.status_code == 200
    for word in SENSITIVE_WORDS:
        assert word not in table.text


def test_odata_counts_only_the_callers_villages(
        live_server: LiveServer, commune: Commune) -> None:
    service = f"/v1/projects/{commune.project_id}/forms/household_screening.svc"
    everyone = get(live_server, commune, "cp_officer", f"{service}/Submissions?$count=true")
    limited = get(live_server, commune, "cp_officer_t01", f"{service}/Submissions?$count=true")

    villages = {row["village"] for row in limited.json()["value"]}
    assert villages == {INSIDE}
    assert limited.json()["@odata.count"] == len(limited.json()["value"])
    assert limited.json()["@odata.count"] < everyone.json()["@odata.count"]


def test_the_web_pages_cookie_is_held_to_the_same_rule(
        live_server: LiveServer, commune: Commune) -> None:
    cookies = {"session": commune.tokens["viewer_t01"]}
    outside = requests.get(f"{live_server.url}{xml_path(commune, commune.visit_outside)}",
                           cookies=cookies, timeout=30)
    inside = requests.get(f"{live_server.url}{xml_path(commune, commune.visit_inside)}",
                          cookies=cookies, timeout=30)

    assert outside.status_code == 404
    assert inside.status_code == 200 and CONCERN not in inside.text


def test_a_health_reviewer_and_a_data_collector_do_not_read_submissions(
        live_server: LiveServer, commune: Commune) -> None:
    for who in ("health_reviewer", "commune_leader", "formfill", "formfill_t01", "stranger"):
        response = get(live_server, commune, who, xml_path(commune, commune.visit_inside))
        assert response.status_code == 403, who
