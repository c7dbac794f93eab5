"""The accounts page (site administrators) and a commune's people and roles (managers), through
Flask's test client on a real database (SQLite and PostgreSQL): passwords made by the server
shown once and working, resets that sign the person out, roles limited to villages chosen from
the commune's list, an unknown village refused with that list, and a manager limited to a
village who gives, changes and removes nothing beyond it (docs/access.md, "Villages").
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.web.admin_commune import ADMIN_EMAIL, INSIDE, OUTSIDE, AdminCommune, admin_commune
from tests.web.conftest import PASSWORD

SHOWN_PASSWORD = re.compile(r'<code id="new-password" class="password">([^<]+)</code>')


@pytest.fixture(scope="module")
def commune(migrated_database: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[AdminCommune]:
    with admin_commune(migrated_database, tmp_path_factory.mktemp("people")) as built:
        yield built


@pytest.fixture(scope="module")
def admin(commune: AdminCommune) -> tuple[FlaskClient, str]:
    return commune.signed_in(ADMIN_EMAIL)


def text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def shown_password(body: str) -> str:
    found = SHOWN_PASSWORD.search(body)
    assert found, "no password on the page"
    return html.unescape(found.group(1))


def can_sign_in(commune: AdminCommune, email: str, password: str) -> bool:
    client = commune.app.test_client()
    form = client.get("/ui/login").get_data(as_text=True)
    token = re.search(r'name="csrf" value="([^"]+)"', form)
    assert token
    answer = client.post("/ui/login", data={"email": email, "password": password,
                                             "csrf": token.group(1)})
    return answer.status_code == 303


# --- accounts ---------------------------------------------------------------------------------


def test_a_new_account_gets_a_password_made_by_the_server_shown_once(
        commune: AdminCommune, admin: tuple[FlaskClient, str]) -> None:
    client, csrf = admin
    email = commune.email("moi")
    answer = client.post("/ui/users", data={"csrf": csrf, "email": email,
                                            "name": "Lò Văn Mới"})

    assert answer.status_code == 200
    password = shown_password(text(answer))
    assert len(password) == 19 and password.count("-") == 3
    assert can_sign_in(commune, email, password)
    listing = text(client.get("/ui/users"))
    assert email in listing and "Lò Văn Mới" in listing
    assert password not in listing  # shown once, on the answer to the form only
    created = commune.audits("user.create")[-1]
    assert created.details == {"data": {"email": email}, "via": "web"}
    assert password not in str(created.details)


def test_a_typed_password_is_judged_like_any_new_one(
        commune: AdminCommune, admin: tuple[FlaskClient, str]) -> None:
    client, csrf = admin
    email = commune.email("yeu")
    weak = client.post("/ui/users", data={"csrf": csrf, "email": email,
                                          "password": "1234567890"})
    assert weak.status_code == 400 and "Mật khẩu không dùng được" in text(weak)
    assert email in text(weak)  # the form keeps what was typed
    assert email not in text(client.get("/ui/users"))

    typed = client.post("/ui/users", data={"csrf": csrf, "email": email,
                                           "password": "Ruộng bậc thang mùa nước đổ"})
    assert typed.status_code == 303 and "done=user_created" in typed.headers["Location"]
    assert can_sign_in(commune, email, "Ruộng bậc thang mùa nước đổ")
    again = client.post("/ui/users", data={"csrf": csrf, "email": email.upper()})
    assert again.status_code == 409 and "Đã có tài khoản" in text(again)


def test_a_reset_asks_for_confirmation_then_signs_the_person_out_everywhere(
        commune: AdminCommune, admin: tuple[FlaskClient, str]) -> None:
    client, csrf = admin
    email = commune.person("viewer")
    actor_id = commune.actor_id(email)
    person, _ = commune.signed_in(email)
    assert person.get(f"/ui/p/{commune.project_id}/children").status_code == 200

    unconfirmed = client.post(f"/ui/users/{actor_id}/password", data={"csrf": csrf})
    assert unconfirmed.status_code == 400 and "Tôi chắc chắn" in text(unconfirmed)
    assert can_sign_in(commune, email, PASSWORD)

    reset = client.post(f"/ui/users/{actor_id}/password",
                        data={"csrf": csrf, "confirm": "yes"})
    assert reset.status_code == 200
    password = shown_password(text(reset))
    gone = person.get(f"/ui/p/{commune.project_id}/children")
    assert gone.status_code == 302 and "/ui/login" in gone.headers["Location"]
    assert not can_sign_in(commune, email, PASSWORD)
    assert can_sign_in(commune, email, password)
    row = commune.audits("user.update")[-1]
    assert row.actee == f"actor:{actor_id}" and row.details is not None
    assert row.details["data"] == {"password": "reset"} and row.details["sessionsEnded"] >= 1


def test_the_list_says_when_each_person_last_signed_in(
        commune: AdminCommune, admin: tuple[FlaskClient, str]) -> None:
    client, _ = admin
    came = commune.person("viewer", name="Đã Đăng Nhập")
    never = commune.person("viewer", name="Chưa Từng Vào")
    commune.signed_in(came)
    page = text(client.get("/ui/users"))
    came_row = page[page.index(f'id="user-{commune.actor_id(came)}"'):]
    never_row = page[page.index(f'id="user-{commune.actor_id(never)}"'):]
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", came_row.split("</tr>")[0])
    assert "Chưa đăng nhập" in never_row.split("</tr>")[0]


def test_deactivating_needs_the_box_and_ends_the_account(
        commune: AdminCommune, admin: tuple[FlaskClient, str]) -> None:
    client, csrf = admin
    email = commune.person("manager", [INSIDE])
    actor_id = commune.actor_id(email)
    person, _ = commune.signed_in(email)
    assert client.post(f"/ui/users/{actor_id}/deactivate",
                       data={"csrf": csrf}).status_code == 400
    assert commune.roles(email) == {"manager": [INSIDE]}

    done = client.post(f"/ui/users/{actor_id}/deactivate", data={"csrf": csrf, "confirm": "yes"})
    assert done.status_code == 303 and "done=user_deactivated" in done.headers["Location"]
    assert commune.roles(email) == {}
    assert email not in text(client.get("/ui/users"))
    assert client.get(f"/ui/users/{actor_id}").status_code == 404
    assert person.get(f"/ui/p/{commune.project_id}/people").status_code == 302
    assert not can_sign_in(commune, email, PASSWORD)


def test_only_site_administrators_reach_the_accounts_pages_and_see_them_in_the_menu(
        commune: AdminCommune, admin: tuple[FlaskClient, str]) -> None:
    manager, csrf = commune.signed_in(commune.person("manager"))
    assert manager.get("/ui/users").status_code == 403
    assert manager.post("/ui/users", data={"csrf": csrf, "email": commune.email("x")}
                        ).status_code == 403
    people = text(manager.get(f"/ui/p/{commune.project_id}/people"))
    assert 'id="nav-people"' in people and 'id="nav-users"' not in people
    client, _ = admin
    assert 'id="nav-users"' in text(client.get(f"/ui/p/{commune.project_id}/people"))


# --- people and roles -------------------------------------------------------------------------


def assign(client: FlaskClient, csrf: str, project_id: int, email: str, role: str,
           villages: list[str] | None, **extra: str) -> TestResponse:
    """The assign form: `villages` None means "all villages"."""
    data: dict[str, object] = {"csrf": csrf, "email": email, "role": role, **extra}
    if villages is None:
        data["limit"] = "all"
    else:
        data["limit"], data["villages"] = "villages", villages
    return client.post(f"/ui/p/{project_id}/people", data=data)


def test_a_manager_gives_a_role_limited_to_a_village_and_the_list_names_it(
        commune: AdminCommune) -> None:
    client, csrf = commune.signed_in(commune.person("manager"))
    email = commune.person(None, name="Quàng Thị Trưởng Thôn")
    answer = assign(client, csrf, commune.project_id, email, "viewer", [INSIDE])

    assert answer.status_code == 303 and "done=role_assigned" in answer.headers["Location"]
    assert commune.roles(email) == {"viewer": [INSIDE]}
    page = text(client.get(answer.headers["Location"]))
    row = page[page.index(f'id="role-{commune.actor_id(email)}-viewer"'):].split("</tr>")[0]
    assert "Quàng Thị Trưởng Thôn" in row and "Thôn Đông" in row and "Người xem" in row
    assert "Đã giao vai trò" in page
    audit = commune.audits("user.assignment.create")[-1]
    assert audit.details == {"role": "viewer", "acteeId": f"project:{commune.project_id}",
                             "villages": [INSIDE], "via": "web"}
    officer = commune.person(None, name="Cán Bộ Cả Xã")
    assert assign(client, csrf, commune.project_id, officer, "cp_officer",
                  None).status_code == 303
    assert commune.roles(officer) == {"cp_officer": []}
    page = text(client.get(f"/ui/p/{commune.project_id}/people"))
    row = page[page.index(f'id="role-{commune.actor_id(officer)}-cp_officer"'):]
    assert "Tất cả các thôn" in row.split("</tr>")[0]


def test_an_unknown_village_is_refused_with_the_communes_list(commune: AdminCommune) -> None:
    client, csrf = commune.signed_in(commune.person("manager"))
    email = commune.person(None)
    answer = assign(client, csrf, commune.project_id, email, "viewer", [INSIDE, "T99"])

    assert answer.status_code == 400
    body = text(answer)
    assert "Thôn không có trong xã: T99" in body
    assert "T01 (Thôn Đông)" in body and "T06" in body
    assert commune.roles(email) == {}


def test_the_form_offers_the_communes_villages_as_boxes(commune: AdminCommune) -> None:
    client, _ = commune.signed_in(commune.person("manager"))
    page = text(client.get(f"/ui/p/{commune.project_id}/people"))
    boxes = re.findall(r'name="villages" value="([^"]+)"', page)
    assert boxes == ["T01", "T02", "T03", "T04", "T05", "T06"]
    assert 'name="limit" value="all"' in page

    limited, _ = commune.signed_in(commune.person("manager", [INSIDE]))
    page = text(limited.get(f"/ui/p/{commune.project_id}/people"))
    assert re.findall(r'name="villages" value="([^"]+)"', page) == [INSIDE]
    assert 'name="limit" value="all"' not in page


def test_a_manager_limited_to_a_village_grants_nothing_beyond_it(commune: AdminCommune) -> None:
    client, csrf = commune.signed_in(commune.person("manager", [INSIDE]))
    email = commune.person(None)

    outside = assign(client, csrf, commune.project_id, email, "viewer", [OUTSIDE])
    assert outside.status_code == 403 and "ngoài các thôn của bạn (T01)" in text(outside)
    unlimited = assign(client, csrf, commune.project_id, email, "viewer", None)
    assert unlimited.status_code == 403 and "không giới hạn thôn" in text(unlimited)
    assert commune.roles(email) == {}
    assert assign(client, csrf, commune.project_id, email, "viewer",
                  [INSIDE]).status_code == 303
    assert commune.roles(email) == {"viewer": [INSIDE]}


def test_a_limited_manager_changes_and_removes_only_roles_within_its_villages(
        commune: AdminCommune) -> None:
    client, csrf = commune.signed_in(commune.person("manager", [INSIDE]))
    mine = commune.person("viewer", [INSIDE])
    theirs = commune.person("viewer", [OUTSIDE])
    everywhere = commune.person("cp_officer")
    page = text(client.get(f"/ui/p/{commune.project_id}/people"))
    base = f"/ui/p/{commune.project_id}/people"
    assert f'href="{base}/{commune.actor_id(mine)}/viewer"' in page
    for email, role in ((theirs, "viewer"), (everywhere, "cp_officer")):
        actor_id = commune.actor_id(email)
        assert f'id="role-{actor_id}-{role}"' in page  # listed, as the API lists everyone
        assert f'href="{base}/{actor_id}/{role}"' not in page
        assert client.get(f"{base}/{actor_id}/{role}").status_code == 403
        assert client.post(f"{base}/{actor_id}/{role}/remove",
                           data={"csrf": csrf, "confirm": "yes"}).status_code == 403
    assert commune.roles(theirs) == {"viewer": [OUTSIDE]}
    assert commune.roles(everywhere) == {"cp_officer": []}


def test_changing_villages_then_removing_the_role_after_confirming(
        commune: AdminCommune) -> None:
    client, csrf = commune.signed_in(commune.person("manager"))
    email = commune.person("formfill", [INSIDE])
    path = f"/ui/p/{commune.project_id}/people/{commune.actor_id(email)}/formfill"
    form = text(client.get(path))
    assert re.findall(r'value="(T0\d)" id="change-v-T0\d" checked', form) == [INSIDE]

    changed = client.post(path, data={"csrf": csrf, "limit": "villages",
                                      "villages": ["T02", "T03"]})
    assert changed.status_code == 303 and "done=villages_changed" in changed.headers["Location"]
    assert commune.roles(email) == {"formfill": ["T02", "T03"]}
    # A data collector without villages would see no child: "all villages" is refused.
    refused = client.post(path, data={"csrf": csrf, "limit": "all"})
    assert refused.status_code == 400 and "phải được giao thôn" in text(refused)
    typo = client.post(path, data={"csrf": csrf, "limit": "villages", "villages": "thon1"})
    assert typo.status_code == 400 and "Thôn không có trong xã: thon1" in text(typo)
    assert commune.roles(email) == {"formfill": ["T02", "T03"]}
    taken = commune.audits("user.assignment.delete")[-1].details
    assert taken is not None and taken["villages"] == [INSIDE]

    unconfirmed = client.post(f"{path}/remove", data={"csrf": csrf})
    assert unconfirmed.status_code == 400 and commune.roles(email) != {}
    removed = client.post(f"{path}/remove", data={"csrf": csrf, "confirm": "yes"})
    assert removed.status_code == 303 and "done=role_removed" in removed.headers["Location"]
    assert commune.roles(email) == {}
    assert client.get(path).status_code == 404


def test_a_role_held_already_or_an_unknown_person_is_said_plainly(
        commune: AdminCommune) -> None:
    client, csrf = commune.signed_in(commune.person("manager"))
    email = commune.person("viewer", [INSIDE])
    held = assign(client, csrf, commune.project_id, email, "viewer", ["T02"])
    assert held.status_code == 409 and "đã có vai trò Người xem" in text(held)
    nobody = assign(client, csrf, commune.project_id, "khong-co@xa-thu.test", "viewer",
                    [INSIDE])
    assert nobody.status_code == 400 and "Không có tài khoản nào" in text(nobody)
    english = client.get(f"/ui/p/{commune.project_id}/people?lang=en")
    assert "People and roles in the commune" in text(english)

