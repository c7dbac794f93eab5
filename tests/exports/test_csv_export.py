"""Central's CSV layout: exact headers, metadata columns, repeat tables and their keys."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import datetime

from exports.csv_export import csv_stream, layout, zip_stream
from exports.schema import form_schema
from exports.source import ExportRow, MediaFile
from tests.conftest import fixture_bytes
from tests.exports.forms import HEAD, NESTED, PEER_TINY, nested_instance

ALICE_ID = "uuid:00000000-0000-0000-0000-000000000001"


def row(instance_id: str, xml: str, **extra: object) -> ExportRow:
    values: dict[str, object] = {
        "submission_id": 1, "instance_id": instance_id, "xml": xml,
        "created_at": datetime(2026, 11, 28, 23, 18, 14, 669000), "updated_at": None,
        "deleted_at": None, "submitter_id": 7, "submitter_name": "Collect device 1",
        "review_state": None, "device_id": None, "form_version": "1"}
    values.update(extra)
    return ExportRow(**values)  # type: ignore[arg-type]


def test_header_and_row_match_centrals_observed_export() -> None:
    alice = ('<data id="peer_tiny" version="1"><name>Alice</name><age>30</age>'
             f"<meta><instanceID>{ALICE_ID}</instanceID></meta></data>")

    text = b"".join(csv_stream(form_schema(PEER_TINY), "peer_tiny", [row(ALICE_ID, alice)]))

    assert text.decode("utf-8") == (
        "SubmissionDate,name,age,meta-instanceID,KEY,SubmitterID,SubmitterName,"
        "AttachmentsPresent,AttachmentsExpected,Status,ReviewState,DeviceID,Edits,FormVersion\n"
        f"2026-11-28T23:18:14.669Z,Alice,30,{ALICE_ID},{ALICE_ID},7,Collect device 1,0,0,,,,0,1\n"
    )


def test_screening_header_splits_geopoint_and_flattens_groups() -> None:
    tables = layout(form_schema(fixture_bytes("child_screening.xml")), "child_screening")

    assert [t.file_name for t in tables] == ["child_screening.csv", "child_screening-child.csv"]
    assert ",".join(tables[0].header) == (
        "SubmissionDate,start,end,household_head,visit_date,village,location-Latitude,"
        "location-Longitude,location-Altitude,location-Accuracy,house_photo,num_children,"
        "child_count,summary,meta-instanceID,meta-instanceName,KEY,SubmitterID,SubmitterName,"
        "AttachmentsPresent,AttachmentsExpected,Status,ReviewState,DeviceID,Edits,FormVersion")
    assert ",".join(tables[1].header) == (
        "child_name,child_age,orphan,orphan_detail,child_label,meta-entity-label,PARENT_KEY,KEY")


def test_metadata_columns_carry_review_device_edits_and_attachments() -> None:
    xml = fixture_bytes("javarosa-submission.xml").decode("utf-8")
    exported = row("uuid:6b07b5af-27c4-4a23-90b7-b9e5f2a1f43d", xml, review_state="approved",
                   device_id="collect:Xy12", edits=2, attachments_present=1,
                   attachments_expected=1, form_version="2026112801")

    text = b"".join(csv_stream(form_schema(fixture_bytes("child_screening.xml")),
                               "child_screening", [exported])).decode("utf-8")
    header, values = list(csv.reader(io.StringIO(text)))
    record = dict(zip(header, values, strict=True))

    assert record["household_head"] == "Nguyễn Văn An"
    assert record["location-Latitude"] == "21.0285"
    assert record["location-Accuracy"] == "5.0"
    assert record["house_photo"] == "house.png"
    assert record["meta-instanceName"] == "Nguyễn Văn An 2026-11-20"
    assert (record["AttachmentsPresent"], record["AttachmentsExpected"]) == ("1", "1")
    assert (record["ReviewState"], record["DeviceID"], record["Edits"]) == (
        "approved", "collect:Xy12", "2")
    assert record["Status"] == ""


def test_nested_repeats_link_by_parent_key() -> None:
    iid = "uuid:nested-1"

    archive = zipfile.ZipFile(io.BytesIO(b"".join(
        zip_stream(form_schema(NESTED), "nested", [row(iid, nested_instance(iid))]))))

    assert archive.namelist() == ["nested.csv", "nested-member.csv", "nested-visit.csv"]
    members = list(csv.reader(io.StringIO(archive.read("nested-member.csv").decode())))
    visits = list(csv.reader(io.StringIO(archive.read("nested-visit.csv").decode())))
    assert members == [["mname", "tags", "PARENT_KEY", "KEY"],
                       ["Út", "a b", iid, f"{iid}/hh/member[1]"],
                       ["Tèo", "", iid, f"{iid}/hh/member[2]"]]
    assert visits == [["vdate", "weight", "PARENT_KEY", "KEY"],
                      ["2026-01-02", "12.5", f"{iid}/hh/member[1]", f"{iid}/hh/member[1]/visit[1]"],
                      ["2026-02-03", "13", f"{iid}/hh/member[1]", f"{iid}/hh/member[1]/visit[2]"],
                      ["2026-03-04", "", f"{iid}/hh/member[2]", f"{iid}/hh/member[2]/visit[1]"]]
    main = archive.read("nested.csv").decode().splitlines()
    assert main[0].startswith("SubmissionDate,hh-name,meta-instanceID,KEY,")


def test_two_repeats_with_one_name_get_numbered_files() -> None:
    form = (
        f"{HEAD}<h:head><h:title>t</h:title><model><instance><data id=\"twice\">"
        "<a><member><x/></member></a><b><member><y/></member></b></data></instance>"
        '<bind nodeset="/data/a/member/x" type="string"/>'
        '<bind nodeset="/data/b/member/y" type="string"/></model></h:head><h:body>'
        '<repeat nodeset="/data/a/member"/><repeat nodeset="/data/b/member"/></h:body></h:html>')

    names = [t.file_name for t in layout(form_schema(form), "nested")]

    assert names == ["nested.csv", "nested-member~1.csv", "nested-member~2.csv"]


def test_zip_carries_media_and_quotes_cells_that_need_it() -> None:
    iid = "uuid:quote-1"
    xml = ('<data id="peer_tiny" version="1"><name>Lò, "Páo"\nxã Bản Phố</name><age>4</age>'
           f"<meta><instanceID>{iid}</instanceID></meta></data>")
    blobs = {"abc": [b"\x89PNG", b"rest"]}

    archive = zipfile.ZipFile(io.BytesIO(b"".join(zip_stream(
        form_schema(PEER_TINY), "peer_tiny", [row(iid, xml)],
        [MediaFile("ảnh nhà.png", "abc"), MediaFile("ảnh nhà.png", "abc")], blobs.__getitem__))))

    assert archive.namelist() == ["peer_tiny.csv", "media/ảnh nhà.png"]
    assert archive.read("media/ảnh nhà.png") == b"\x89PNGrest"
    line = archive.read("peer_tiny.csv").decode("utf-8").split("\n", 1)[1]
    assert line.startswith('2026-11-28T23:18:14.669Z,"Lò, ""Páo""\nxã Bản Phố",4,')


def test_empty_form_export_still_has_headers() -> None:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(
        zip_stream(form_schema(NESTED), "nested", []))))

    assert archive.read("nested-visit.csv") == b"vdate,weight,PARENT_KEY,KEY\n"
