"""`HEAD`/`GET`/`POST …/submission` as Collect uses them (docs/openrosa.md §7, §8, §9)."""

from __future__ import annotations

import io

from flask.testing import FlaskClient
from sqlalchemy import select

from server.models import Blob, Submission
from server.services import Services
from tests.conftest import PNG_BYTES, fixture_bytes, new_instance_id, screening_xml
from tests.openrosa.checks import assert_created, assert_refused, attachments, versions
from tests.openrosa.conftest import Phone, app_with
from tests.openrosa.wire import (
    DEVICE_ID,
    USER_AGENT,
    PartSpec,
    collect_headers,
    multipart,
    submission_parts,
)

JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 32 + b"\xff\xd9"


# --- pre-flight -----------------------------------------------------------------------------


def test_head_and_get_answer_204_with_our_real_limit(services: Services, phone: Phone) -> None:
    limited = app_with(services, max_submission_bytes=5_000_000).test_client()
    for client in (phone.client, limited):
        for method in ("HEAD", "GET"):
            for url in (f"{phone.base}/submission", "/submission"):
                response = client.open(url, method=method, headers=collect_headers(),
                                       query_string={"deviceID": DEVICE_ID})
                assert response.status_code == 204, (method, url)
                assert response.data == b""
                assert response.headers["X-OpenRosa-Version"] == "1.0"
                assert response.headers["Date"]
                expected = "5000000" if client is limited else str(
                    services.settings.max_submission_bytes)
                assert response.headers["X-OpenRosa-Accept-Content-Length"] == expected


def test_head_for_unknown_project_or_bad_key(client: FlaskClient, phone: Phone) -> None:
    assert Phone(client, 999, phone.token).head_submission().status_code == 404
    bad_key = Phone(client, phone.project_id, "wrong-token").head_submission()
    assert bad_key.status_code == 401
    assert "WWW-Authenticate" in bad_key.headers


# --- new, retried, split, edited ------------------------------------------------------------


def test_new_submission_is_201_and_stores_device_and_user_agent(
        services: Services, phone: Phone) -> None:
    instance_id = new_instance_id()
    response = phone.submit(screening_xml(instance_id, "Trần Văn Đức", photo="house.png"),
                            {"house.png": PNG_BYTES})
    assert_created(response)
    [version] = versions(services, instance_id)
    assert version.device_id == DEVICE_ID
    assert version.user_agent == USER_AGENT
    assert version.submitter_id == phone.actor_id
    assert attachments(services, instance_id) == {"house.png": PNG_BYTES}


def test_both_real_client_fixtures_are_accepted(services: Services, phone: Phone) -> None:
    collect = phone.submit(fixture_bytes("javarosa-submission.xml"), {"house.png": PNG_BYTES})
    assert_created(collect)
    web = phone.submit(fixture_bytes("webforms-submission.xml"),
                       {"1795913459271.png": PNG_BYTES})
    assert_created(web)
    assert attachments(services, "uuid:6b07b5af-27c4-4a23-90b7-b9e5f2a1f43d") == {
        "house.png": PNG_BYTES}
    assert attachments(services, "uuid:181406ec-809f-4bd9-a60a-01260df68ceb") == {
        "1795913459271.png": PNG_BYTES}
    [web_version] = versions(services, "uuid:181406ec-809f-4bd9-a60a-01260df68ceb")
    assert web_version.xml.encode() == fixture_bytes("webforms-submission.xml")


def test_identical_repost_is_201_without_a_new_version(services: Services, phone: Phone
                                                       ) -> None:
    instance_id = new_instance_id()
    xml = screening_xml(instance_id, "Lê Thị Hoa", photo="house.png")
    assert_created(phone.submit(xml, {"house.png": PNG_BYTES}))
    again = phone.submit(xml, {"house.png": PNG_BYTES})
    assert_created(again)
    assert len(versions(services, instance_id)) == 1


def test_split_upload_completes_the_attachment(services: Services, phone: Phone) -> None:
    instance_id = new_instance_id()
    xml = screening_xml(instance_id, "Phạm Văn Nam", photo="house.png")
    assert_created(phone.submit(xml, incomplete=True))
    assert attachments(services, instance_id) == {"house.png": None}
    assert_created(phone.submit(xml, {"house.png": PNG_BYTES}))
    assert attachments(services, instance_id) == {"house.png": PNG_BYTES}


def test_same_name_with_new_bytes_replaces_the_attachment(services: Services, phone: Phone
                                                          ) -> None:
    instance_id = new_instance_id()
    xml = screening_xml(instance_id, "Võ Thị Mai", photo="house.png")
    assert_created(phone.submit(xml, {"house.png": PNG_BYTES}))
    assert_created(phone.submit(xml, {"house.png": JPEG_BYTES}))
    assert attachments(services, instance_id) == {"house.png": JPEG_BYTES}


def test_part_not_referenced_by_the_xml_is_ignored(services: Services, phone: Phone) -> None:
    instance_id = new_instance_id()
    xml = screening_xml(instance_id, "Đỗ Văn Hùng", photo="house.png")
    response = phone.submit(xml, {"house.png": PNG_BYTES, "extra.jpg": JPEG_BYTES})
    assert_created(response)
    assert attachments(services, instance_id) == {"house.png": PNG_BYTES}
    with services.database.unit_of_work() as db:
        assert db.scalar(select(Blob).where(Blob.size == len(JPEG_BYTES))) is None


def test_different_xml_under_the_same_instance_id_is_409_1(phone: Phone) -> None:
    instance_id = new_instance_id()
    assert_created(phone.submit(screening_xml(instance_id, "Bùi Văn Tâm")))
    text = assert_refused(phone.submit(screening_xml(instance_id, "Bùi Văn Tâm (sửa)")),
                          409, "409.1")
    assert "different XML" in text


def test_edit_makes_a_version_and_carries_attachments_over(services: Services, phone: Phone
                                                           ) -> None:
    original = new_instance_id()
    first = screening_xml(original, "Ngô Thị Lan", photo="house.png")
    assert_created(phone.submit(first, {"house.png": PNG_BYTES}))
    edit = new_instance_id()
    assert_created(phone.submit(screening_xml(edit, "Ngô Thị Lan", photo="house.png",
                                              deprecated_id=original)))
    history = versions(services, original)
    assert [v.instance_id for v in history] == [original, edit]
    assert [v.current for v in history] == [False, True]
    assert attachments(services, edit) == {"house.png": PNG_BYTES}
    with services.database.unit_of_work() as db:
        submission = db.scalar(select(Submission).where(Submission.instance_id == original))
        assert submission is not None and submission.review_state == "edited"
    # The phone that still holds the original and sends it again is told it is out of date.
    text = assert_refused(phone.submit(first, {"house.png": PNG_BYTES}), 409, "409.9")
    assert original in text
    # The edit itself, re-sent with a new photo, replaces the carried-over one.
    assert_created(phone.submit(screening_xml(edit, "Ngô Thị Lan", photo="house.png",
                                              deprecated_id=original),
                                {"house.png": JPEG_BYTES}))
    assert attachments(services, edit) == {"house.png": JPEG_BYTES}


def test_edit_of_an_unknown_submission_is_404_5(phone: Phone) -> None:
    response = phone.submit(screening_xml(new_instance_id(), "Hồ Văn Bảy",
                                          deprecated_id="uuid:nonexistent"))
    text = assert_refused(response, 404, "404.5")
    assert "uuid:nonexistent" in text


# --- how the XML may arrive -----------------------------------------------------------------


def test_xml_as_a_plain_field_or_as_application_xml_is_accepted(services: Services,
                                                                phone: Phone) -> None:
    plain_id, app_xml_id = new_instance_id(), new_instance_id()
    plain = phone.post([PartSpec("xml_submission_file",
                                 screening_xml(plain_id, "Lý Văn Sơn").encode())])
    assert_created(plain)
    typed = phone.post([PartSpec("xml_submission_file",
                                 screening_xml(app_xml_id, "Lý Thị Thu").encode(),
                                 "submission.xml", "application/xml")])
    assert_created(typed)
    assert len(versions(services, plain_id)) == len(versions(services, app_xml_id)) == 1


def test_werkzeug_built_multipart_works_too(phone: Phone) -> None:
    """The test client's own multipart encoder (a different writer than OkHttp's)."""
    xml = screening_xml(new_instance_id(), "Mai Văn Tú", photo="house.png").encode()
    response = phone.client.post(
        f"{phone.base}/submission", headers=collect_headers(),
        data={"xml_submission_file": (io.BytesIO(xml), "instance.xml", "text/xml"),
              "house.png": (io.BytesIO(PNG_BYTES), "house.png", "image/png")})
    assert_created(response)


def test_missing_xml_part_is_400_7(phone: Phone) -> None:
    text = assert_refused(phone.post([PartSpec("house.png", PNG_BYTES, "house.png")]),
                          400, "400.7")
    assert "xml_submission_file" in text
    not_multipart = phone.client.post(f"{phone.base}/submission", headers=collect_headers(),
                                      data=b"<data id='child_screening'/>",
                                      content_type="text/xml")
    assert_refused(not_multipart, 400, "400.7")


def test_broken_multipart_is_400_39(phone: Phone) -> None:
    xml = screening_xml(new_instance_id(), "Cao Văn Khải").encode()
    body = (b"--b0undary\r\nContent-Disposition: form-data; name=\"xml_submission_file\"; "
            b"filename=\"i.xml\"\r\nContent-Type: text/xml\r\n\r\n" + xml[:40])
    for content_type in ("multipart/form-data; boundary=b0undary", "multipart/form-data"):
        response = phone.client.post(f"{phone.base}/submission", data=body,
                                     content_type=content_type, headers=collect_headers())
        assert_refused(response, 400, "400.39")


def test_instance_without_form_id_is_400_2(phone: Phone) -> None:
    xml = b"<data><meta><instanceID>uuid:x</instanceID></meta></data>"
    text = assert_refused(phone.submit(xml), 400, "400.2")
    assert "form ID" in text


def test_wrong_openrosa_version_is_400_6_and_a_missing_one_is_tolerated(phone: Phone) -> None:
    """See `access.check_openrosa_version` for why absence is tolerated."""
    xml = screening_xml(new_instance_id(), "Z")
    wrong = phone.submit(xml, headers={"X-OpenRosa-Version": "0.9"})
    assert_refused(wrong, 400, "400.6")
    body, content_type = multipart(submission_parts(xml))
    absent = phone.client.post(f"{phone.base}/submission", data=body, content_type=content_type)
    assert_created(absent)


def test_post_never_answers_200_204_or_a_redirect(phone: Phone) -> None:
    """Collect treats 200 as "login failure?", 204 as an exception, and OkHttp turns a
    redirected POST into a GET (docs/openrosa.md §1, §8)."""
    xml = screening_xml(new_instance_id(), "Tô Văn Thành", photo="house.png")
    outcomes = [phone.submit(xml, incomplete=True), phone.submit(xml, {"house.png": PNG_BYTES}),
                phone.submit(xml), phone.submit(b"<broken")]
    for response in outcomes:
        assert response.status_code not in {200, 204, 301, 302, 303, 307, 308}
        assert response.status_code in {201, 400}


def test_vietnamese_file_names_sent_as_raw_utf8_are_matched(services: Services, phone: Phone
                                                            ) -> None:
    """Collect writes non-ASCII part names as raw UTF-8 in the header (docs/openrosa.md §8)."""
    instance_id = new_instance_id()
    xml = screening_xml(instance_id, "Hoàng Văn Thụ", photo="ảnh nhà.png")
    assert_created(phone.submit(xml, {"ảnh nhà.png": PNG_BYTES}))
    assert attachments(services, instance_id) == {"ảnh nhà.png": PNG_BYTES}
