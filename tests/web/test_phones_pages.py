"""The phones page (`/ui/p/<id>/phones`): an officer makes a phone for villages ticked from the
commune's list, gives it forms, shows its ODK Collect QR code (the server address the browser
reached), prints the cards, revokes a phone or gives it a new key — each only with the API's
verb and, for a manager limited to villages, only for phones of its villages (docs/pages.md
"Điện thoại").
"""

from __future__ import annotations

import re

from sqlalchemy import select

from server.models import AppUser, Project
from server.operations import qrcode
from server.operations.forms import attach_form_media, create_form, publish_draft
from tests.web.forms_phones_world import (  # noqa: F401 (fixtures)
    INSIDE,
    OUTSIDE,
    SCREENING,
    XLSX,
    Commune,
    Person,
    commune_fixture,
    form_bytes,
    pages_app_fixture,
    villages_csv,
)

OPENROSA = {"X-OpenRosa-Version": "1.0"}


def published_screening(commune: Commune) -> None:
    """The screening form, published with villages.csv (which fills the village list)."""
    with commune.uow() as db:
        form = create_form(db, commune.services.store, commune.project_id,
                           form_bytes(SCREENING), XLSX)
        assert form.draft_def is not None
        attach_form_media(db, commune.services.store, form.draft_def, "villages.csv",
                          villages_csv(), "text/csv")
        publish_draft(db, form)


def create_phone(person: Person, commune: Commune, name: str, villages: list[str],
                 forms: list[str] | None = None) -> int:
    response = person.post(f"{commune.ui}/phones", {
        "display_name": name, "villages": villages, "forms": forms or []})
    assert response.status_code == 303, response.get_data(as_text=True)
    found = re.search(r"/phones/(\d+)\?done=phone_created$", response.headers["Location"])
    assert found, response.headers["Location"]
    return int(found.group(1))


def test_a_new_phone_for_a_ticked_village_gets_its_forms_and_a_qr_code(
        commune: Commune) -> None:
    published_screening(commune)
    manager = commune.signed_in("manager")
    page = manager.get(f"{commune.ui}/phones").get_data(as_text=True)
    ticks = re.findall(r'name="villages" value="([^"]+)"', page)
    assert ticks == ["T01", "T02", "T03", "T04", "T05", "T06"]
    assert f'name="forms" value="{SCREENING}" checked' in page

    actor_id = create_phone(manager, commune, "Lò Thị Mai", [INSIDE], [SCREENING])
    html = manager.get(f"{commune.ui}/phones/{actor_id}?done=phone_created").get_data(
        as_text=True)
    assert "Đã tạo điện thoại" in html and "Thôn Đông" in html and SCREENING in html
    assert f'src="/ui/p/{commune.project_id}/phones/{actor_id}/qr.png"' in html

    phone = commune.app_user(actor_id)
    assert phone.villages == [INSIDE] and phone.token
    png = manager.get(f"{commune.ui}/phones/{actor_id}/qr.png")
    assert png.mimetype == "image/png" and "no-store" in png.headers["Cache-Control"]
    # The code sets Collect up with the address the browser reached (the test client's).
    url = qrcode.collect_url("http://localhost", phone.token, commune.project_id)
    with commune.uow() as db:
        name = db.get_one(Project, commune.project_id).name
    settings = qrcode.collect_settings(url, name, commune.project_id, username="Lò Thị Mai")
    assert png.data == qrcode.qr_png(qrcode.encode_settings(settings))
    # … and that address works: the phone lists its form.
    listing = commune.app.test_client().get(
        f"/v1/key/{phone.token}/projects/{commune.project_id}/formList", headers=OPENROSA)
    assert f"<formID>{SCREENING}</formID>" in listing.get_data(as_text=True)
    created = commune.audits("field_key.create")[-1]
    assert created.details == {"projectId": commune.project_id, "villages": [INSIDE],
                               "via": "web"}
    assert commune.audits("field_key.assignment.create")[-1].details["via"] == "web"


def test_the_qr_page_warns_that_a_phone_cannot_reach_this_machines_own_address(
        commune: Commune) -> None:
    commune.with_villages()
    manager = commune.signed_in("manager")
    actor_id = create_phone(manager, commune, "Quàng Văn Nam", [INSIDE])
    html = manager.get(f"{commune.ui}/phones/{actor_id}").get_data(as_text=True)
    assert "Mã QR trỏ tới máy chủ: http://localhost" in html
    assert 'id="address-warning"' in html
    remote = manager.get_at("http://192.168.1.20:8080",
                            f"{commune.ui}/phones/{actor_id}").get_data(as_text=True)
    assert "http://192.168.1.20:8080" in remote and 'id="address-warning"' not in remote


def test_a_village_the_commune_does_not_have_is_refused_with_the_communes_list(
        commune: Commune) -> None:
    commune.with_villages()
    manager = commune.signed_in("manager")
    refused = manager.post(f"{commune.ui}/phones",
                           {"display_name": "Máy lạ", "villages": ["T99"]})

    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "Có thôn không thuộc danh sách thôn của xã" in body
    assert "Mã thôn không có trong xã: T99" in body and "T01 (Thôn Đông)" in body
    assert 'value="Máy lạ"' in body  # what was typed stays
    with commune.uow() as db:
        assert db.scalars(select(AppUser).where(
            AppUser.project_id == commune.project_id)).all() == []


def test_a_phone_needs_a_name(commune: Commune) -> None:
    commune.with_villages()
    manager = commune.signed_in("manager")
    refused = manager.post(f"{commune.ui}/phones", {"display_name": " ", "villages": [INSIDE]})
    assert refused.status_code == 400
    assert "Hãy nhập tên cộng tác viên" in refused.get_data(as_text=True)


def test_a_manager_of_one_village_reaches_only_that_villages_phones(commune: Commune) -> None:
    commune.with_villages()
    manager = commune.signed_in("manager")
    outside = create_phone(manager, commune, "Máy thôn Phú Mỹ", [OUTSIDE])
    limited = commune.signed_in("manager", [INSIDE])

    page = limited.get(f"{commune.ui}/phones").get_data(as_text=True)
    assert re.findall(r'name="villages" value="([^"]+)"', page) == [INSIDE]
    assert f'id="phone-{outside}"' not in page
    refused = limited.post(f"{commune.ui}/phones",
                           {"display_name": "Máy mới", "villages": [OUTSIDE]})
    assert refused.status_code == 403
    for path in ("", "/qr.png"):
        assert limited.get(f"{commune.ui}/phones/{outside}{path}").status_code == 403
    assert limited.post(f"{commune.ui}/phones/{outside}/revoke",
                        {"confirm": "yes"}).status_code == 403
    inside = create_phone(limited, commune, "Máy thôn Đông", [INSIDE])
    assert limited.get(f"{commune.ui}/phones/{inside}/qr.png").status_code == 200


def test_revoking_asks_for_the_box_then_the_phones_key_stops(commune: Commune) -> None:
    published_screening(commune)
    manager = commune.signed_in("manager")
    actor_id = create_phone(manager, commune, "Máy bị mất", [INSIDE], [SCREENING])
    token = commune.app_user(actor_id).token
    key_list = f"/v1/key/{token}/projects/{commune.project_id}/formList"
    phone = commune.app.test_client()
    assert phone.get(key_list, headers=OPENROSA).status_code == 200

    unconfirmed = manager.post(f"{commune.ui}/phones/{actor_id}/revoke")
    assert unconfirmed.status_code == 400
    assert commune.app_user(actor_id).token == token
    revoked = manager.post(f"{commune.ui}/phones/{actor_id}/revoke", {"confirm": "yes"})
    assert revoked.status_code == 303

    assert commune.app_user(actor_id).token is None
    assert phone.get(key_list, headers=OPENROSA).status_code == 401
    listing = manager.get(revoked.headers["Location"]).get_data(as_text=True)
    assert "Đã thu hồi điện thoại" in listing and "revoked-phone" in listing
    assert manager.get(f"{commune.ui}/phones/{actor_id}/qr.png").status_code == 404
    assert commune.audits("field_key.session.end")[-1].details == {
        "projectId": commune.project_id, "via": "web"}


def test_a_new_key_stops_the_old_one_and_keeps_villages_and_forms(commune: Commune) -> None:
    published_screening(commune)
    manager = commune.signed_in("manager")
    actor_id = create_phone(manager, commune, "Máy cũ", [INSIDE], [SCREENING])
    old = commune.app_user(actor_id).token
    assert manager.post(f"{commune.ui}/phones/{actor_id}/reissue").status_code == 400
    assert commune.app_user(actor_id).token == old

    reissued = manager.post(f"{commune.ui}/phones/{actor_id}/reissue", {"confirm": "yes"})
    assert reissued.status_code == 303
    new = commune.app_user(actor_id).token
    assert new and new != old and commune.app_user(actor_id).villages == [INSIDE]
    phone = commune.app.test_client()
    base = f"/projects/{commune.project_id}/formList"
    assert phone.get(f"/v1/key/{old}{base}", headers=OPENROSA).status_code == 401
    assert SCREENING in phone.get(f"/v1/key/{new}{base}", headers=OPENROSA).get_data(
        as_text=True)
    assert "Đã cấp mã QR mới" in manager.get(reissued.headers["Location"]).get_data(
        as_text=True)


def test_the_cards_list_every_active_phone_with_its_code_in_vietnamese(
        commune: Commune) -> None:
    commune.with_villages()
    manager = commune.signed_in("manager")
    first = create_phone(manager, commune, "Lò Văn Một", [INSIDE])
    second = create_phone(manager, commune, "Lò Văn Hai", ["T02"])
    gone = create_phone(manager, commune, "Lò Văn Ba", ["T03"])
    manager.post(f"{commune.ui}/phones/{gone}/revoke", {"confirm": "yes"})

    html = manager.get(f"{commune.ui}/phones/cards?lang=en").get_data(as_text=True)
    cards = re.findall(r'<section class="phone-card" id="card-(\d+)"', html)
    assert sorted(map(int, cards)) == sorted([first, second])
    for actor_id in (first, second):
        assert f'src="/ui/p/{commune.project_id}/phones/{actor_id}/qr.png"' in html
    assert "Thôn Đông" in html and "Thôn Đoài" in html and "Lò Văn Ba" not in html
    # The page speaks English; the cards stay in the collaborators' Vietnamese.
    assert "Phone cards" in html and "Cài ứng dụng ODK Collect" in html
    assert "Quét mã QR" in html and "tự gửi khi có mạng" in html


def test_people_without_the_right_get_no_phones_page(commune: Commune) -> None:
    commune.with_villages()
    manager = commune.signed_in("manager")
    actor_id = create_phone(manager, commune, "Máy thôn Đông", [INSIDE])
    for role in ("viewer", "cp_officer", "formfill", None):
        person = commune.signed_in(role)
        for path in ("", f"/{actor_id}", f"/{actor_id}/qr.png", "/cards"):
            assert person.get(f"{commune.ui}/phones{path}").status_code == 403, (role, path)
        assert person.post(f"{commune.ui}/phones/{actor_id}/revoke",
                           {"confirm": "yes"}).status_code == 403
    nobody = commune.app.test_client()
    response = nobody.get(f"{commune.ui}/phones/{actor_id}/qr.png")
    assert response.status_code == 302 and "/ui/login" in response.headers["Location"]


def test_the_menu_offers_the_phones_page_to_those_who_may_list_phones(
        commune: Commune) -> None:
    for role, shown in (("manager", True), ("cp_officer", False), ("viewer", False)):
        html = commune.signed_in(role).get(f"{commune.ui}/forms").get_data(as_text=True)
        assert ('id="nav-phones"' in html) is shown, role
