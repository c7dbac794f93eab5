"""The submissions API as Central clients use it: read, create, edit, attachments, review."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from server.models import Audit, Submission
from tests.conftest import (
    PNG_BYTES,
    Screening,
    fixture_bytes,
    new_instance_id,
    screening_xml,
)

JAVAROSA_ID = "uuid:6b07b5af-27c4-4a23-90b7-b9e5f2a1f43d"
XML = {"Content-Type": "application/xml"}


def test_list_is_newest_first_with_current_version(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    first = screening.submit(fixture_bytes("javarosa-submission.xml"), device_id="collect:A1")
    second = screening.submit(screening_xml(new_instance_id(), "Trần Thị Hoa"))

    response = client.get(f"{screening.base}/submissions", headers=admin_headers)

    assert response.status_code == 200
    listed = response.json
    assert [item["instanceId"] for item in listed] == [second, first]
    oldest = listed[1]
    assert oldest["deviceId"] == "collect:A1"
    assert oldest["userAgent"] == "test-suite/1.0"
    assert oldest["reviewState"] is None
    assert oldest["createdAt"].endswith("Z") and len(oldest["createdAt"]) == 24
    assert oldest["currentVersion"]["instanceName"] == "Nguyễn Văn An 2026-11-20"
    assert oldest["currentVersion"]["current"] is True
    assert "submitter" not in oldest


def test_extended_metadata_names_the_submitter(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    collector = screening.user("thu@xa.test", "formfill", display_name="Cộng tác viên Thu")
    screening.submit(screening_xml(new_instance_id(), "Lò Văn Páo"), submitter_id=collector)

    response = client.get(f"{screening.base}/submissions",
                          headers={**admin_headers, "X-Extended-Metadata": "true"})

    (item,) = response.json
    assert item["submitterId"] == collector
    assert item["submitter"]["displayName"] == "Cộng tác viên Thu"
    assert item["submitter"]["type"] == "user"
    assert item["formVersion"] == "2026112801"
    assert item["currentVersion"]["submitter"]["id"] == collector


def test_one_submission_and_its_exact_xml(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    xml = fixture_bytes("webforms-submission.xml")
    instance_id = screening.submit(xml)

    one = client.get(f"{screening.base}/submissions/{instance_id}", headers=admin_headers)
    raw = client.get(f"{screening.base}/submissions/{instance_id}.xml", headers=admin_headers)

    assert one.status_code == 200 and one.json["instanceId"] == instance_id
    assert raw.status_code == 200
    assert raw.headers["Content-Type"].startswith("application/xml")
    assert raw.data == xml


def test_unknown_submission_is_centrals_404(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    response = client.get(f"{screening.base}/submissions/uuid:nope", headers=admin_headers)

    assert response.status_code == 404
    assert response.json == {"code": 404.1,
                             "message": "Could not find the resource you were looking for."}


def test_create_from_xml_then_attach_the_photo(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    instance_id = new_instance_id()
    xml = screening_xml(instance_id, "Hoàng Thị Mai", (("Hoàng Văn Nam", 5, "no"),),
                        photo="nha.png")

    created = client.post(f"{screening.base}/submissions?deviceID=pyodk:1",
                          data=xml.encode("utf-8"), headers={**admin_headers, **XML})
    listed = client.get(f"{screening.base}/submissions/{instance_id}/attachments",
                        headers=admin_headers)
    uploaded = client.post(f"{screening.base}/submissions/{instance_id}/attachments/nha.png",
                           data=PNG_BYTES, headers={**admin_headers, "Content-Type": "image/png"})
    photo = client.get(f"{screening.base}/submissions/{instance_id}/attachments/nha.png",
                       headers=admin_headers)

    assert created.status_code == 200, created.json
    assert created.json["instanceId"] == instance_id
    assert created.json["deviceId"] == "pyodk:1"
    assert created.json["submitterId"] == screening.world.admin_id
    assert listed.json == [{"name": "nha.png", "exists": False}]
    assert uploaded.status_code == 200 and uploaded.json == {"success": True}
    assert photo.status_code == 200
    assert photo.data == PNG_BYTES
    assert photo.headers["Content-Type"] == "image/png"
    assert photo.headers["ETag"].strip('"') and "nha.png" in photo.headers["Content-Disposition"]
    again = client.get(f"{screening.base}/submissions/{instance_id}/attachments/nha.png",
                       headers={**admin_headers, "If-None-Match": photo.headers["ETag"]})
    assert again.status_code == 304


def test_attachment_the_submission_does_not_expect_is_404(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    instance_id = screening.submit(screening_xml(new_instance_id(), "Vi Văn Sáng"))

    response = client.post(f"{screening.base}/submissions/{instance_id}/attachments/x.png",
                           data=PNG_BYTES, headers=admin_headers)

    assert response.status_code == 404


def test_create_refuses_xml_of_another_form(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    xml = screening_xml(new_instance_id(), "Sai Biểu Mẫu").replace(
        'id="child_screening"', 'id="other_form"')

    response = client.post(f"{screening.base}/submissions", data=xml.encode(),
                           headers={**admin_headers, **XML})

    assert response.status_code == 400
    assert response.json["code"] == 400.8


def test_create_refuses_broken_xml(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    response = client.post(f"{screening.base}/submissions", data=b"<data id='child_scr",
                           headers={**admin_headers, **XML})

    assert response.status_code == 400


def test_identical_create_twice_is_one_submission(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    xml = screening_xml(new_instance_id(), "Đinh Văn Lực").encode("utf-8")

    for _ in range(2):
        assert client.post(f"{screening.base}/submissions", data=xml,
                           headers={**admin_headers, **XML}).status_code == 200
    changed = xml.replace("Đinh Văn Lực".encode(), "Đinh Văn Lúc".encode())
    conflict = client.post(f"{screening.base}/submissions", data=changed,
                           headers={**admin_headers, **XML})

    assert len(client.get(f"{screening.base}/submissions", headers=admin_headers).json) == 1
    assert conflict.status_code == 409 and conflict.json["code"] == 409.1


def test_edit_with_put_makes_a_new_version(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    original = new_instance_id()
    screening.submit(screening_xml(original, "Phạm Văn Đồng", photo="house.png"),
                     {"house.png": PNG_BYTES})
    edit_id = new_instance_id()
    edited = screening_xml(edit_id, "Phạm Văn Đông", photo="house.png", deprecated_id=original)

    response = client.put(f"{screening.base}/submissions/{original}",
                          data=edited.encode("utf-8"), headers={**admin_headers, **XML})
    versions = client.get(f"{screening.base}/submissions/{original}/versions",
                          headers=admin_headers)
    raw = client.get(f"{screening.base}/submissions/{original}.xml", headers=admin_headers)
    photo = client.get(f"{screening.base}/submissions/{original}/attachments/house.png",
                       headers=admin_headers)

    assert response.status_code == 200, response.json
    assert response.json["instanceId"] == original
    assert response.json["reviewState"] == "edited"
    assert response.json["currentVersion"]["instanceId"] == edit_id
    assert [v["instanceId"] for v in versions.json] == [edit_id, original]
    assert [v["current"] for v in versions.json] == [True, False]
    assert raw.data == edited.encode("utf-8")
    # The edit did not resend the photo: it is carried over by name, as Central does.
    assert photo.data == PNG_BYTES


def test_put_needs_the_current_version_as_deprecated_id(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    original = screening.submit(screening_xml(new_instance_id(), "Mai Văn Bảy"))
    without = screening_xml(new_instance_id(), "Mai Văn Bảy")
    stale = screening_xml(new_instance_id(), "Mai Văn Bảy", deprecated_id="uuid:old")

    missing = client.put(f"{screening.base}/submissions/{original}", data=without.encode(),
                         headers={**admin_headers, **XML})
    outdated = client.put(f"{screening.base}/submissions/{original}", data=stale.encode(),
                          headers={**admin_headers, **XML})

    assert missing.status_code == 400 and missing.json["code"] == 400.19
    assert outdated.status_code == 409 and outdated.json["code"] == 409.9


def test_review_state_is_set_and_audited(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    instance_id = screening.submit(screening_xml(new_instance_id(), "Chu Thị Lan"))

    response = client.patch(f"{screening.base}/submissions/{instance_id}",
                            json={"reviewState": "hasIssues"}, headers=admin_headers)
    wrong = client.patch(f"{screening.base}/submissions/{instance_id}",
                         json={"reviewState": "great"}, headers=admin_headers)

    assert response.status_code == 200
    assert response.json["reviewState"] == "hasIssues"
    assert response.json["updatedAt"] is not None
    assert wrong.status_code == 400
    with screening.world.uow() as db:
        audit = db.scalars(select(Audit).where(Audit.action == "submission.update")).one()
        assert audit.actor_id == screening.world.admin_id
        assert audit.details == {"instanceId": instance_id, "reviewState": "hasIssues"}


def test_comments_are_listed_newest_first(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    instance_id = screening.submit(screening_xml(new_instance_id(), "Sầm Thị Nhung"))
    url = f"{screening.base}/submissions/{instance_id}/comments"

    first = client.post(url, json={"body": "Cần kiểm tra lại tuổi của trẻ."},
                        headers=admin_headers)
    client.post(url, json={"body": "Đã gọi điện cho trưởng thôn."}, headers=admin_headers)
    empty = client.post(url, json={"body": ""}, headers=admin_headers)
    listed = client.get(url, headers=admin_headers)

    assert first.status_code == 200
    assert first.json["body"] == "Cần kiểm tra lại tuổi của trẻ."
    assert first.json["actorId"] == screening.world.admin_id
    assert [c["body"] for c in listed.json] == ["Đã gọi điện cho trưởng thôn.",
                                                "Cần kiểm tra lại tuổi của trẻ."]
    assert empty.status_code == 400


def test_deleted_submission_disappears_and_cannot_come_back(
        client: FlaskClient, screening: Screening, admin_headers: dict[str, str]) -> None:
    xml = screening_xml(new_instance_id(), "Lục Văn Hải").encode("utf-8")
    instance_id = screening.submit(xml)

    deleted = client.delete(f"{screening.base}/submissions/{instance_id}", headers=admin_headers)
    listed = client.get(f"{screening.base}/submissions", headers=admin_headers)
    gone = client.get(f"{screening.base}/submissions/{instance_id}", headers=admin_headers)
    again = client.post(f"{screening.base}/submissions", data=xml,
                        headers={**admin_headers, **XML})

    assert deleted.status_code == 200 and deleted.json == {"success": True}
    assert listed.json == []
    assert gone.status_code == 404
    assert again.status_code == 409 and again.json["code"] == 409.18
    with screening.world.uow() as db:
        assert db.scalars(select(Submission)).one().deleted_at is not None
