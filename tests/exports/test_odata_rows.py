"""OData rows, tables and metadata shaped as Central shapes them."""

from __future__ import annotations

import hashlib
from datetime import datetime

import pytest
from defusedxml import ElementTree

from exports.edmx import metadata_document, service_document
from exports.odata import RowOptions, repeat_rows, submission_row, typed_value
from exports.odata_filter import QueryError
from exports.odata_query import (
    make_skiptoken,
    paging,
    parse_skiptoken,
    resolve_table,
    row_options,
)
from exports.schema import form_schema
from exports.source import ExportRow
from tests.conftest import fixture_bytes
from tests.exports.forms import NESTED, PEER_TINY, nested_instance

ALICE_ID = "uuid:00000000-0000-0000-0000-000000000001"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def export_row(instance_id: str, xml: str) -> ExportRow:
    return ExportRow(submission_id=1, instance_id=instance_id, xml=xml,
                     created_at=datetime(2026, 11, 28, 23, 18, 14, 669000), updated_at=None,
                     deleted_at=None, submitter_id=7, submitter_name="Collect device 1",
                     review_state=None, device_id=None, form_version="1")


def test_row_matches_centrals_observed_shape() -> None:
    alice = ('<data id="peer_tiny" version="1"><name>Alice</name><age>30</age>'
             f"<meta><instanceID>{ALICE_ID}</instanceID></meta></data>")

    data = submission_row(export_row(ALICE_ID, alice), form_schema(PEER_TINY), RowOptions())

    assert data == {
        "name": "Alice", "age": 30, "meta": {"instanceID": ALICE_ID}, "__id": ALICE_ID,
        "__system": {"submissionDate": "2026-11-28T23:18:14.669Z", "updatedAt": None,
                     "submitterId": "7", "submitterName": "Collect device 1",
                     "attachmentsPresent": 0, "attachmentsExpected": 0, "status": None,
                     "reviewState": None, "deviceId": None, "edits": 0, "formVersion": "1",
                     "deletedAt": None}}
    assert list(data) == ["name", "age", "meta", "__id", "__system"]


def sha1(text: str) -> str:
    """Central's row id: a SHA-1 of the row's place in the submission (not a secret)."""
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def test_repeat_rows_carry_stable_ids_and_their_parents() -> None:
    iid = "uuid:nested-1"
    schema = form_schema(NESTED)
    member, visit = schema.repeats()
    row = export_row(iid, nested_instance(iid))

    top = submission_row(row, schema, RowOptions())
    members = repeat_rows(row, schema, member, RowOptions())
    visits = repeat_rows(row, schema, visit, RowOptions())

    first_member = sha1(f"Submissions#{iid}%%hh#%%member#0")
    assert top["hh"]["member@odata.navigationLink"] == "Submissions('uuid%3Anested-1')/hh/member"
    assert [m["mname"] for m in members] == ["Út", "Tèo"]
    assert members[0]["__id"] == first_member
    assert members[0]["__Submissions-id"] == iid
    assert members[0]["visit@odata.navigationLink"] == (
        f"Submissions('uuid%3Anested-1')/hh/member('{first_member}')/visit")
    assert [v["weight"] for v in visits] == [12.5, 13, None]
    assert [v["__Submissions-hh-member-id"] for v in visits] == [
        first_member, first_member, members[1]["__id"]]
    assert visits[1]["__id"] == sha1(f"Submissions#{iid}%%hh#%%member#0%%visit#1")


def test_expand_puts_repeats_inline() -> None:
    iid = "uuid:nested-1"
    schema = form_schema(NESTED)

    top = submission_row(export_row(iid, nested_instance(iid)), schema,
                         RowOptions(expand=True))

    assert [m["mname"] for m in top["hh"]["member"]] == ["Út", "Tèo"]
    assert [v["vdate"] for v in top["hh"]["member"][0]["visit"]] == ["2026-01-02", "2026-02-03"]


@pytest.mark.parametrize(("kind", "text", "wkt", "expected"), [
    ("int", "42", False, 42),
    ("int", "", False, None),
    ("decimal", "2.50", False, 2.5),
    ("decimal", "abc", False, None),
    ("geopoint", "21.0285 105.8542 12.0 5.0", False,
     {"type": "Point", "coordinates": [105.8542, 21.0285, 12], "properties": {"accuracy": 5}}),
    ("geopoint", "21.0285 105.8542", True, "POINT (105.8542 21.0285)"),
    ("geotrace", "1 2 0 0;3 4 0 0", True, "LINESTRING (2 1 0,4 3 0)"),
    ("dateTime", "2026-11-28T23:50:59.714+07", False, "2026-11-28T23:50:59.714+07:00"),
    ("string", "Nguyễn", False, "Nguyễn"),
    ("int", None, False, None),
])
def test_typed_values(kind: str, text: str | None, wkt: bool, expected: object) -> None:
    assert typed_value(kind, text, wkt) == expected


def test_select_keeps_asked_fields_and_metadata() -> None:
    schema = form_schema(fixture_bytes("child_screening.xml"))
    xml = fixture_bytes("javarosa-submission.xml").decode()
    options = row_options(schema, None, {"$select": "household_head,meta,__system/reviewState"})

    data = submission_row(export_row("uuid:x", xml), schema, options)

    assert data == {"household_head": "Nguyễn Văn An",
                    "meta": {"instanceID": "uuid:6b07b5af-27c4-4a23-90b7-b9e5f2a1f43d",
                             "instanceName": "Nguyễn Văn An 2026-11-20"},
                    "__system": {"reviewState": None}}


@pytest.mark.parametrize(("select", "code"), [
    ("nonexistent", "400.23"), ("child/child_name", "400.24"), ("__nope", "400.23")])
def test_select_errors_use_centrals_codes(select: str, code: str) -> None:
    schema = form_schema(fixture_bytes("child_screening.xml"))

    with pytest.raises(QueryError) as caught:
        row_options(schema, None, {"$select": select})

    assert caught.value.code == code


def test_tables_resolve_to_repeats_only() -> None:
    schema = form_schema(NESTED)

    assert resolve_table(schema, "Submissions") is None
    assert resolve_table(schema, "Submissions.hh.member.visit").path == "/hh/member/visit"  # type: ignore[union-attr]
    for wrong in ("Submissions.hh", "Submissions.nope", "Other"):
        with pytest.raises(QueryError):
            resolve_table(schema, wrong)


def test_skiptoken_round_trip_and_garbage() -> None:
    token = make_skiptoken({"instanceId": "uuid:ä"})

    assert token.startswith("01")
    assert parse_skiptoken(token) == {"instanceId": "uuid:ä"}
    assert paging({"$skiptoken": token, "$skip": "5"}).skip == 0
    for bad in ("02abc", "01%%%", "01" + "bnVsbA=="):
        with pytest.raises(QueryError) as caught:
            parse_skiptoken(bad)
        assert caught.value.code == "400.35"


def test_service_document_lists_submissions_and_repeat_tables() -> None:
    document = service_document(form_schema(NESTED), "http://x/v1/projects/1/forms/nested.svc/$metadata")

    assert [t["name"] for t in document["value"]] == [
        "Submissions", "Submissions.hh.member", "Submissions.hh.member.visit"]
    assert document["value"][0] == {"name": "Submissions", "kind": "EntitySet",
                                    "url": "Submissions"}


def test_metadata_document_types_and_keys() -> None:
    document = metadata_document(form_schema(fixture_bytes("child_screening.xml")),
                                 "child_screening")
    root = ElementTree.fromstring(document.encode("utf-8"))
    schemas = {s.get("Namespace"): s for s in root.iter(f"{EDM}Schema")}

    assert set(schemas) == {"org.opendatakit.submission", "org.opendatakit.user.child_screening"}
    user = schemas["org.opendatakit.user.child_screening"]
    types = {t.get("Name"): t for t in user.iter(f"{EDM}EntityType")}
    assert set(types) == {"Submissions", "Submissions.child"}
    props = {p.get("Name"): p.get("Type") for p in types["Submissions"].iter(f"{EDM}Property")}
    assert props["__id"] == "Edm.String"
    assert props["__system"] == "org.opendatakit.submission.metadata"
    assert props["num_children"] == "Edm.Int64"
    assert props["location"] == "Edm.GeographyPoint"
    assert props["visit_date"] == "Edm.Date"
    assert props["meta"] == "org.opendatakit.user.child_screening.meta"
    child = {p.get("Name"): p.get("Type")
             for p in types["Submissions.child"].iter(f"{EDM}Property")}
    assert child["__Submissions-id"] == "Edm.String"
    nav = types["Submissions"].find(f"{EDM}NavigationProperty")
    assert nav is not None and nav.get("Type") == (
        "Collection(org.opendatakit.user.child_screening.Submissions.child)")
    key = types["Submissions"].find(f"{EDM}Key/{EDM}PropertyRef")
    assert key is not None and key.get("Name") == "__id"
