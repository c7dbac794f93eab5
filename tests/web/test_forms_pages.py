"""The forms page (`/ui/p/<id>/forms`): an officer uploads the project's own screening XLSForm as
a draft, gives it the commune's `villages.csv`, tries it as a phone would, publishes it and
closes it; refused uploads are explained in plain words with pyxform's text beneath, never a
500, and nothing of them is kept; each action needs the API's verb (docs/pages.md "Biểu mẫu").
"""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select

from server.models import Form, FormDef, Village
from server.operations import qrcode
from tests.conftest import fixture_bytes
from tests.web.forms_phones_world import (  # noqa: F401 (fixtures)
    FOLLOWUP,
    SCREENING,
    UNCLOSED_GROUP,
    XLSX,
    Commune,
    Person,
    commune_fixture,
    file_field,
    form_bytes,
    pages_app_fixture,
    villages_csv,
)

OPENROSA = {"X-OpenRosa-Version": "1.0"}


def upload(person: Person, commune: Commune, data: bytes, name: str = "bieu_mau.xlsx",
           **extra: str) -> str:
    response = person.post(f"{commune.ui}/forms", {"file": file_field(data, name), **extra})
    return response.get_data(as_text=True) if response.status_code != 303 else (
        response.headers["Location"])


def screening_draft(commune: Commune, person: Person) -> str:
    """The screening form uploaded through the page, with villages.csv: its page's path."""
    location = upload(person, commune, form_bytes(SCREENING), "household_screening.xlsx")
    assert location.endswith(f"/forms/{SCREENING}?done=form_uploaded"), location
    page = f"{commune.ui}/forms/{SCREENING}"
    sent = person.post(f"{page}/draft/attachments/villages.csv",
                       {"file": file_field(villages_csv(), "thon-cua-xa.csv")})
    assert sent.status_code == 303, sent.get_data(as_text=True)
    return page


def text_of(html: str, element_id: str) -> str:
    """The markup inside the element of that id (an element holding none of its own kind)."""
    found = re.search(rf'<(\w+)[^>]*\bid="{re.escape(element_id)}"[^>]*>(.*?)</\1>', html, re.S)
    assert found, f"no #{element_id}"
    return found.group(2)


def test_the_screening_xlsform_becomes_a_draft_that_says_which_file_it_still_needs(
        commune: Commune) -> None:
    manager = commune.signed_in("manager")
    listing = manager.get(f"{commune.ui}/forms").get_data(as_text=True)
    assert 'id="upload"' in listing and 'id="empty"' in listing

    location = upload(manager, commune, form_bytes(SCREENING), "household_screening.xlsx")
    page = manager.get(location).get_data(as_text=True)

    assert "Đã tải lên biểu mẫu làm bản nháp" in page
    assert 'id="draft-files-villages.csv"' in page
    assert "CÒN THIẾU" in page and "villages.csv" in text_of(page, "missing-files")
    listing = manager.get(f"{commune.ui}/forms").get_data(as_text=True)
    assert f'id="form-{SCREENING}"' in listing and "chưa công bố" in listing
    assert [a.details["via"] for a in commune.audits("form.create")] == ["web"]


def test_villages_csv_on_the_draft_fills_the_communes_village_list(commune: Commune) -> None:
    manager = commune.signed_in("manager")
    upload(manager, commune, form_bytes(SCREENING), "household_screening.xlsx")
    sent = manager.post(f"{commune.ui}/forms/{SCREENING}/draft/attachments/villages.csv",
                        {"file": file_field(villages_csv(), "danh-sach-thon.csv")})
    page = manager.get(sent.headers["Location"]).get_data(as_text=True)

    assert "Đã tải tệp đính kèm lên bản nháp" in page
    assert 'id="missing-files"' not in page
    assert "Đã có" in text_of(page, "draft-files-villages.csv")
    with commune.uow() as db:
        codes = db.scalars(select(Village.code).where(Village.project_id == commune.project_id))
        assert sorted(codes) == ["T01", "T02", "T03", "T04", "T05", "T06"]
    audit = commune.audits("form.attachment.update")[-1]
    assert audit.details["name"] == "villages.csv" and audit.details["via"] == "web"


def test_a_file_the_form_does_not_name_is_not_accepted(commune: Commune) -> None:
    manager = commune.signed_in("manager")
    page = screening_draft(commune, manager)
    refused = manager.post(f"{page}/draft/attachments/logo.png",
                           {"file": file_field(b"\x89PNG", "logo.png")})
    assert refused.status_code == 404
    assert "Biểu mẫu không cần tệp có tên này" in refused.get_data(as_text=True)


def test_publishing_with_the_suggested_version_then_the_same_version_again(
        commune: Commune) -> None:
    manager = commune.signed_in("manager")
    page = screening_draft(commune, manager)
    html = manager.get(page).get_data(as_text=True)
    suggested = re.search(r'id="version" name="version" value="([^"]*)"', html)
    assert suggested and suggested.group(1)  # the draft's own version, never published

    published = manager.post(f"{page}/draft/publish", {"version": suggested.group(1)})
    assert published.status_code == 303
    html = manager.get(published.headers["Location"]).get_data(as_text=True)
    assert suggested.group(1) in text_of(html, "form-version")
    assert html.count('class="version-row"') == 1 and 'id="draft"' not in html

    # A new draft made from the published version must get a new version to be published.
    assert manager.post(f"{page}/draft", {"copy": "published"}).status_code == 303
    html = manager.get(page).get_data(as_text=True)
    again = re.search(r'id="version" name="version" value="([^"]*)"', html)
    assert again and again.group(1) != suggested.group(1)
    refused = manager.post(f"{page}/draft/publish", {"version": suggested.group(1)})
    assert refused.status_code == 409
    body = refused.get_data(as_text=True)
    assert "Phiên bản này đã được công bố trước đây" in body
    assert "version string is the same" in text_of(body, "problem-details").replace(
        "\n", " ") or "version string is the same" in body
    with commune.uow() as db:
        form = db.scalars(select(Form).where(Form.project_id == commune.project_id)).one()
        assert form.current_def is not None and form.draft_def is not None
        assert form.draft_def.version == form.current_def.version  # the refusal changed nothing


def test_a_broken_xlsform_is_explained_in_plain_words_and_nothing_is_kept(
        commune: Commune) -> None:
    manager = commune.signed_in("manager")
    response = manager.post(f"{commune.ui}/forms",
                            {"file": file_field(UNCLOSED_GROUP, "hong.xlsx")})

    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "Lỗi ở dòng 3 của bảng tính." in body
    assert "Nhóm “gia_dinh” được mở (begin_group) nhưng không có dòng đóng (end_group)." in body
    details = text_of(body, "problem-details")
    assert "Chi tiết kỹ thuật" in details
    assert "[row : 3] Unmatched &#39;begin_group&#39;" in body
    with commune.uow() as db:
        assert db.scalars(select(Form).where(Form.project_id == commune.project_id)).all() == []

    english = manager.post(f"{commune.ui}/forms?lang=en",
                           {"file": file_field(UNCLOSED_GROUP, "hong.xlsx")})
    assert "The group “gia_dinh” is opened (begin_group) but never closed" in english.get_data(
        as_text=True)


def test_a_file_that_is_no_spreadsheet_at_all_is_refused_not_a_500(commune: Commune) -> None:
    manager = commune.signed_in("manager")
    for data in (b"PK\x03\x04 half of a zip", b"\xd0\xcf\x11\xe0 old excel", b"hello"):
        response = manager.post(f"{commune.ui}/forms", {"file": file_field(data, "x.xlsx")})
        assert response.status_code == 400, data
        body = response.get_data(as_text=True)
        assert 'id="problem"' in body
        assert "Không đọc được tệp này" in body or "không phải biểu mẫu hợp lệ" in body


def test_the_api_answers_a_truncated_xlsx_with_400_15_too(commune: Commune) -> None:
    """The same reader serves both: a half-copied workbook is a refused form, not a crash."""
    manager = commune.signed_in("manager")
    response = manager.client.post(
        f"/v1/projects/{commune.project_id}/forms", data=form_bytes(SCREENING)[:5000],
        headers={"Authorization": f"Bearer {manager.token}", "Content-Type": XLSX})
    assert response.status_code == 400
    assert response.json is not None and response.json["code"] == 400.15


def test_an_upload_without_a_file_asks_for_one(commune: Commune) -> None:
    manager = commune.signed_in("manager")
    response = manager.post(f"{commune.ui}/forms")
    assert response.status_code == 400
    assert "Hãy chọn một tệp" in response.get_data(as_text=True)


def test_warnings_are_listed_and_the_same_file_goes_in_once_they_are_accepted(
        commune: Commune) -> None:
    manager = commune.signed_in("manager")
    warned = manager.post(f"{commune.ui}/forms",
                          {"file": file_field(fixture_bytes("child_screening.xlsx"), "a.xlsx")})
    assert warned.status_code == 400
    body = warned.get_data(as_text=True)
    assert "có 1 cảnh báo" in body and "max-pixels" in text_of(body, "problem-warnings")
    assert 'id="ignore-warnings"' in body

    accepted = manager.post(f"{commune.ui}/forms", {
        "file": file_field(fixture_bytes("child_screening.xlsx"), "a.xlsx"),
        "ignore_warnings": "true"})
    assert accepted.status_code == 303
    assert accepted.headers["Location"].endswith("/forms/child_screening?done=form_uploaded")


def test_the_same_form_twice_points_to_a_new_draft_and_another_form_is_no_draft(
        commune: Commune) -> None:
    manager = commune.signed_in("manager")
    screening_draft(commune, manager)
    twice = manager.post(f"{commune.ui}/forms",
                         {"file": file_field(form_bytes(SCREENING), "lan-2.xlsx")})
    assert twice.status_code == 409
    assert f"Xã đã có biểu mẫu mã “{SCREENING}”" in twice.get_data(as_text=True)

    other = manager.post(f"{commune.ui}/forms/{SCREENING}/draft",
                         {"file": file_field(form_bytes(FOLLOWUP), "theo-doi.xlsx")})
    assert other.status_code == 400
    assert "Tệp này là một biểu mẫu khác" in other.get_data(as_text=True)


def test_closing_a_form_needs_the_confirmation_box(commune: Commune) -> None:
    manager = commune.signed_in("manager")
    page = screening_draft(commune, manager)
    assert manager.post(f"{page}/draft/publish").status_code == 303

    unconfirmed = manager.post(f"{page}/state", {"state": "closing"})
    assert unconfirmed.status_code == 400
    assert "Hãy đánh dấu ô xác nhận" in unconfirmed.get_data(as_text=True)
    confirmed = manager.post(f"{page}/state", {"state": "closing", "confirm": "yes"})
    assert confirmed.status_code == 303
    listing = manager.get(f"{commune.ui}/forms").get_data(as_text=True)
    assert "Đang ngừng" in listing
    assert manager.post(f"{page}/state", {"state": "open"}).status_code == 303  # no box needed
    states = [a.details for a in commune.audits("form.update")]
    assert states == [{"data": {"state": "closing"}, "via": "web"},
                      {"data": {"state": "open"}, "via": "web"}]


def test_the_draft_test_code_opens_the_draft_alone_until_it_is_published(
        commune: Commune) -> None:
    manager = commune.signed_in("manager")
    page = screening_draft(commune, manager)
    html = manager.get(page).get_data(as_text=True)
    url = re.search(r'<details id="test-link">.*?<code>([^<]+)</code>', html, re.S)
    assert url, "no draft test address"
    test_url = url.group(1).replace("&amp;", "&")
    assert test_url.startswith("http://localhost/v1/test/") and test_url.endswith(
        f"/projects/{commune.project_id}/forms/{SCREENING}/draft")

    # The QR image holds exactly Collect's settings for that address.
    png = manager.get(f"{page}/draft/qr.png")
    with commune.uow() as db:
        draft = db.scalars(select(FormDef).join(Form, Form.draft_def_id == FormDef.id).where(
            Form.project_id == commune.project_id)).one()
        title, xml_md5 = draft.name or SCREENING, draft.md5
    expected = qrcode.qr_png(qrcode.encode_settings(qrcode.draft_test_settings(test_url, title)))
    assert png.mimetype == "image/png" and png.data == expected

    phone = commune.app.test_client()  # no cookie: the address is the only key
    path = test_url.removeprefix("http://localhost")
    listing = phone.get(f"{path}/formList", headers=OPENROSA).get_data(as_text=True)
    assert f"<formID>{SCREENING}</formID>" in listing and f"md5:{xml_md5}" in listing
    assert f"<downloadUrl>{test_url}.xml</downloadUrl>" in listing
    xml = phone.get(f"{path}.xml").data
    assert hashlib.md5(xml, usedforsecurity=False).hexdigest() == xml_md5
    manifest = phone.get(f"{path}/manifest", headers=OPENROSA).get_data(as_text=True)
    assert "<filename>villages.csv</filename>" in manifest
    assert phone.get(f"{path}/attachments/villages.csv").data == villages_csv()
    sent = phone.post(f"{path}/submission", data=b"--x--", headers=OPENROSA)
    assert sent.status_code == 409 and "bản nháp để thử" in sent.get_data(as_text=True)
    assert phone.get(f"{path.replace('/test/', '/test/x')}/formList",
                     headers=OPENROSA).status_code == 404

    assert manager.post(f"{page}/draft/publish").status_code == 303
    assert phone.get(f"{path}/formList", headers=OPENROSA).status_code == 404
    assert phone.get(f"{path}.xml").status_code == 404


def test_the_followup_drafts_children_list_is_empty_for_a_tester(commune: Commune) -> None:
    """A draft token holds no village: the entity list it reads has its header alone."""
    manager = commune.signed_in("manager")
    screening_draft(commune, manager)
    manager.post(f"{commune.ui}/forms/{SCREENING}/draft/publish")
    upload(manager, commune, form_bytes(FOLLOWUP), "child_followup.xlsx")
    html = manager.get(f"{commune.ui}/forms/{FOLLOWUP}").get_data(as_text=True)
    assert "Máy chủ tự cung cấp" in html  # children.csv is never uploaded
    test_url = re.search(r'<details id="test-link">.*?<code>([^<]+)</code>', html, re.S)
    assert test_url
    path = test_url.group(1).removeprefix("http://localhost")
    phone = commune.app.test_client()
    manifest = phone.get(f"{path}/manifest", headers=OPENROSA).get_data(as_text=True)
    assert "<filename>children.csv</filename>" in manifest
    children = phone.get(f"{path}/attachments/children.csv").get_data(as_text=True)
    assert len(children.strip().splitlines()) == 1  # the header alone


def test_a_viewer_reads_the_list_and_a_published_form_but_changes_nothing(
        commune: Commune) -> None:
    manager = commune.signed_in("manager")
    page = screening_draft(commune, manager)
    viewer = commune.signed_in("viewer")
    assert viewer.get(page).status_code == 403  # a draft alone: for those who may change it
    manager.post(f"{page}/draft/publish")

    listing = viewer.get(f"{commune.ui}/forms").get_data(as_text=True)
    assert f'id="form-{SCREENING}"' in listing and 'id="upload"' not in listing
    html = viewer.get(page).get_data(as_text=True)
    assert 'id="states"' not in html and 'id="new-draft"' not in html
    assert viewer.post(f"{page}/state", {"state": "closed", "confirm": "yes"}).status_code == 403
    assert viewer.post(f"{commune.ui}/forms",
                       {"file": file_field(UNCLOSED_GROUP, "x.xlsx")}).status_code == 403
    assert viewer.get(f"{page}/draft/qr.png").status_code == 403


def test_a_manager_of_one_village_changes_the_communes_forms_as_the_api_lets_it(
        commune: Commune) -> None:
    """Forms are the whole commune's and the API asks `form.update` with no village limit."""
    limited = commune.signed_in("manager", ["T01"])
    page = screening_draft(commune, limited)
    assert limited.post(f"{page}/draft/publish").status_code == 303


def test_the_menu_offers_the_forms_page_to_those_who_may_list_forms(commune: Commune) -> None:
    for role, shown in (("manager", True), ("viewer", True), ("formfill", True),
                        ("health_reviewer", False), ("commune_leader", False)):
        person = commune.signed_in(role)
        html = person.get(f"/ui/p/{commune.project_id}/dashboard").get_data(as_text=True)
        if role == "formfill":  # no registry: the forms page itself carries the menu
            html = person.get(f"{commune.ui}/forms").get_data(as_text=True)
        assert ('id="nav-forms"' in html) is shown, role
