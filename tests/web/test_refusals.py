"""What the pages refuse, through Flask's test client: forms without their CSRF token, phones'
tokens, people outside their villages or without the right — and nothing changes when they
are refused. Real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from server.auth.principal import open_session, token_hash
from server.context import WEB_SESSION_COOKIE
from server.models import AppUser, Audit, Child, Session
from server.registry.child_code import format_code
from tests.web.conftest import Registry, csrf_of, web_login


def forged_token(token: str) -> str:
    """The token with its last character changed (to one it surely is not)."""
    return token[:-1] + ("y" if token.endswith("x") else "x")


def test_the_server_address_leads_people_to_the_sign_in_page(
        client: FlaskClient, registry: Registry) -> None:
    assert client.get("/").headers["Location"].endswith("/ui/")
    assert client.get("/ui/").headers["Location"].endswith("/ui/login")
    page = client.get(f"/ui/p/{registry.project_id}/children")
    assert page.status_code == 302 and "/ui/login" in page.headers["Location"]
    login = client.get("/ui/login")
    assert login.status_code == 200 and "Đăng nhập" in login.get_data(as_text=True)
    # The API and the phones' routes are untouched: JSON problems, not pages.
    api = client.get(f"/v1/projects/{registry.project_id}/registry/children")
    assert api.status_code == 401 and api.json["code"] == 401.2


def test_signing_in_makes_a_session_row_and_signing_out_deletes_it(
        client: FlaskClient, registry: Registry) -> None:
    email = registry.person("health_reviewer")
    wrong = client.post("/ui/login", data={
        "email": email, "password": "sai mật khẩu",
        "csrf": csrf_of(client.get("/ui/login").get_data(as_text=True))})
    assert wrong.status_code == 401 and "Sai email hoặc mật khẩu" in wrong.get_data(as_text=True)
    csrf = web_login(client, email)
    cookie = client.get_cookie(WEB_SESSION_COOKIE)
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    with registry.services.database.unit_of_work() as db:
        assert db.get_one(Session, token_hash(cookie.value)).csrf == csrf
        assert db.scalars(select(Audit).where(Audit.action == "user.session.create")).all()
    out = client.post("/ui/logout", data={"csrf": csrf})
    assert out.status_code == 303 and out.headers["Location"].endswith("/ui/login")
    with registry.services.database.unit_of_work() as db:
        assert db.get(Session, token_hash(cookie.value)) is None
    assert client.get(f"/ui/p/{registry.project_id}/children").status_code == 302


def test_a_sign_in_form_without_its_token_is_refused(client: FlaskClient,
                                                     registry: Registry) -> None:
    email = registry.person("cp_officer")
    response = client.post("/ui/login", data={"email": email, "password": "x" * 12})
    assert response.status_code == 403
    assert client.get_cookie(WEB_SESSION_COOKIE) is None


def test_a_decision_posted_without_the_csrf_token_changes_nothing(
        client: FlaskClient, registry: Registry) -> None:
    csrf = web_login(client, registry.person("cp_officer"))
    decide = f"/ui/p/{registry.project_id}/review/{registry.candidate_id}/decide"
    missing = client.post(decide, data={"decision": "same"})
    forged = client.post(decide, data={"decision": "same", "csrf": forged_token(csrf)})
    assert missing.status_code == forged.status_code == 403
    assert "Biểu mẫu đã hết hạn" in missing.get_data(as_text=True)
    assert registry.candidate_status() == "open"
    assert registry.child_status(registry.newcomer) == ("active", None)
    done = client.post(decide, data={"decision": "same", "csrf": csrf})
    assert done.status_code == 303 and registry.candidate_status() == "decided"


def test_an_app_user_token_in_the_cookie_is_nobody(client: FlaskClient,
                                                   registry: Registry) -> None:
    with registry.services.database.unit_of_work() as db:
        phone = db.scalars(select(AppUser).where(AppUser.project_id == registry.project_id)
                           .limit(1)).one()
        session = open_session(db, phone.actor, 24)
        token, csrf = session.token or "", session.csrf
    client.set_cookie(WEB_SESSION_COOKIE, token)
    page = client.get(f"/ui/p/{registry.project_id}/children")
    assert page.status_code == 302 and "/ui/login" in page.headers["Location"]
    decide = client.post(f"/ui/p/{registry.project_id}/review/{registry.candidate_id}/decide",
                         data={"decision": "same", "csrf": csrf})
    assert decide.status_code == 401 and registry.candidate_status() == "open"


def test_a_village_scoped_officer_sees_only_its_villages(client: FlaskClient,
                                                        registry: Registry) -> None:
    here, there = registry.villages_with_children()[:2]
    web_login(client, registry.person("cp_officer", villages=[here]))
    mine, theirs = registry.child_in(here), registry.child_in(there)
    base = f"/ui/p/{registry.project_id}/children"
    assert client.get(f"{base}/{mine}").status_code == 200
    other = client.get(f"{base}/{theirs}")
    assert other.status_code == 404 and "Không tìm thấy" in other.get_data(as_text=True)
    listed = client.get(f"{base}?page=1").get_data(as_text=True)
    assert mine in listed and theirs not in listed
    assert client.get(f"{base}?village={there}").get_data(as_text=True).count("child-row") == 0


def test_a_viewer_sees_no_decide_buttons_and_is_refused_with_403(
        client: FlaskClient, registry: Registry) -> None:
    csrf = web_login(client, registry.person("viewer"))
    page = client.get(f"/ui/p/{registry.project_id}/review").get_data(as_text=True)
    assert f'id="pair-{registry.candidate_id}"' in page
    assert "decide-same" not in page and 'id="view-only"' in page
    refused = client.post(
        f"/ui/p/{registry.project_id}/review/{registry.candidate_id}/decide",
        data={"decision": "same", "csrf": csrf})
    assert refused.status_code == 403 and registry.candidate_status() == "open"
    flag_id = registry.flag_on(registry.any_child(), "HCDB-A")
    ack = client.post(f"/ui/p/{registry.project_id}/flags/{flag_id}/acknowledge",
                      data={"csrf": csrf})
    assert ack.status_code == 403 and registry.flag_status(flag_id) == "open"


def test_a_refused_operation_is_a_readable_page_not_a_500(client: FlaskClient,
                                                          registry: Registry) -> None:
    csrf = web_login(client, registry.person("cp_officer"))
    undo = client.post(f"/ui/p/{registry.project_id}/review/{registry.candidate_id}/undo",
                       data={"csrf": csrf})
    text = undo.get_data(as_text=True)
    assert undo.status_code == 409 and "không cho phép" in text and "no decision" in text
    flag_id = registry.flag_on(registry.any_child(), "HCDB-A")
    empty = client.post(f"/ui/p/{registry.project_id}/flags/{flag_id}/close",
                        data={"csrf": csrf, "reason": "   "})
    assert empty.status_code == 409 and registry.flag_status(flag_id) == "open"
    missing = client.get(f"/ui/p/{registry.project_id}/children/no-such-child?lang=en")
    assert missing.status_code == 404 and "Not found" in missing.get_data(as_text=True)
    assert client.get("/ui/p/9999/children").status_code == 404


def test_a_record_is_taken_out_of_a_merged_child_from_its_page(
        client: FlaskClient, registry: Registry) -> None:
    csrf = web_login(client, registry.person("cp_officer"))
    base = f"/ui/p/{registry.project_id}"
    client.post(f"{base}/review/{registry.candidate_id}/decide",
                data={"decision": "same", "csrf": csrf})
    page = client.get(f"{base}/children/{registry.original}").get_data(as_text=True)
    forms = re.findall(r'action="([^"]+/records/(\d+)/unmerge)"', page)
    assert len(forms) == 2  # both records of the merged child can be taken out
    viewer = FlaskClient(client.application, use_cookies=True)
    web_login(viewer, registry.person("viewer"))
    shown = viewer.get(f"{base}/children/{registry.original}").get_data(as_text=True)
    assert 'class="record-row"' in shown and "/unmerge" not in shown
    newest = max(forms, key=lambda form: int(form[1]))[0]
    assert client.post(newest, data={}).status_code == 403  # no token, nothing moves
    assert registry.child_status(registry.newcomer) == ("merged", registry.original)
    done = client.post(newest, data={"csrf": csrf})
    assert done.status_code == 303 and "done=unmerged" in done.headers["Location"]
    assert registry.child_status(registry.newcomer) == ("active", None)


def test_the_commune_chair_sees_a_confidential_urgent_case_masked(
        client: FlaskClient, registry: Registry) -> None:
    child = registry.any_child()
    flag_id = registry.flag_on(child, "HCDB-L")  # sexual abuse: sensitive, 12-hour deadline
    csrf = web_login(client, registry.person("commune_leader"))
    page = client.get(f"/ui/p/{registry.project_id}/flags").get_data(as_text=True)
    row = page[page.index(f'id="flag-{flag_id}"'):].split("</tr>")[0]
    with registry.services.database.unit_of_work() as db:
        name, code = db.get_one(Child, child).full_name, format_code(
            db.get_one(Child, child).number)
    # The child by its code (the chair asks the officer about it), never its id or name.
    assert "Trường hợp khẩn cấp bảo mật" in row and code in row and child not in row
    assert "HCDB-L" not in page and "action=close" not in row and "action=acknowledge" in row
    assert name not in page
    closing = client.post(f"/ui/p/{registry.project_id}/flags/{flag_id}/close",
                          data={"csrf": csrf, "reason": "đã xử lý", "confirm": "yes"})
    assert closing.status_code == 403 and registry.flag_status(flag_id) == "open"
    seen = client.post(f"/ui/p/{registry.project_id}/flags/{flag_id}/acknowledge",
                       data={"csrf": csrf, "confirm": "yes"})
    assert seen.status_code == 303 and registry.flag_status(flag_id) == "acknowledged"


def test_an_unknown_page_address_is_a_page_not_json(client: FlaskClient) -> None:
    response = client.get("/ui/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "<html" in response.get_data(as_text=True).lower()
