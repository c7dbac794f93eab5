"""The submission pages (`/ui/p/<id>/submissions`): a phone's submission is listed and filtered,
opened under the form's own labels with its photo inline, seen only in the caller's villages and
without the answers the caller may not read (exactly as the API's XML), reviewed, commented,
its edits listed, and a failed registry sync explained and retried — on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from html import unescape
from xml.etree.ElementTree import Element

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from werkzeug.test import TestResponse

from server.cli import main
from server.models import Audit, Submission
from server.registry import sync as registry_sync
from sync.safe_xml import local_name, parse_xml
from tests.access.commune import CONCERN, ILLNESS, INSIDE, OUTSIDE
from tests.conftest import PNG_BYTES, module_services
from tests.openrosa.conftest import Phone
from tests.registry.followup_helpers import children_csv, followup_xml
from tests.web.submissions_world import (
    CONCERN_WORDS,
    FORM_ID,
    PHOTO,
    SubmissionsWorld,
    build_world,
    visit_xml,
)

SCREENING = "household_screening"
VIETNAM = timedelta(hours=7)


@pytest.fixture(scope="module")
def world(migrated_database: str, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[SubmissionsWorld]:
    with module_services(migrated_database, tmp_path_factory.mktemp("submissions")) as services:
        yield build_world(services)


def text_of(html: str) -> str:
    """The page's main content as a person reads it."""
    main_part = html[html.index("<main"):]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", main_part)).split())


def answer_paths(html: str) -> set[str]:
    return set(re.findall(r'<dd class="answer" data-path="([^"]+)"', html))


def rows_of(html: str) -> list[str]:
    return re.findall(r'<tr class="submission-row" data-instance="([^"]+)"', html)


def ok(response: TestResponse) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


# --- the list ----------------------------------------------------------------------------------


def test_a_phones_submission_appears_in_the_list_with_its_sender_day_and_village(
        world: SubmissionsWorld) -> None:
    html = ok(world.get("manager", world.ui(f"?form={FORM_ID}")))
    assert set(rows_of(html)) == set(world.photo_visits.values())
    row = html[html.index(world.photo_visits[INSIDE]):]
    row = text_of("<main>" + row[:row.index("</tr>")])
    assert world.phones[INSIDE].name in row and "Thôn Đông" in row
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d", row)
    assert "Mới nhận" in row and "Không thuộc sổ trẻ em" in row
    assert f'id="nav-submissions" href="{world.ui()}" aria-current="page"' in html


def test_the_list_offers_the_communes_forms_and_opens_on_the_first(
        world: SubmissionsWorld) -> None:
    html = ok(world.get("viewer", world.ui()))
    offered = re.findall(r'<option value="([^"]+)"[^>]*>[^<]*\(\1\)</option>', html)
    assert offered[:2] == [SCREENING, "child_followup"] and FORM_ID in offered
    assert world.commune.visit_inside in rows_of(html)


def test_a_village_limited_viewer_lists_only_its_villages(world: SubmissionsWorld) -> None:
    for form in (FORM_ID, SCREENING):
        limited = rows_of(ok(world.get("viewer_t01", world.ui(f"?form={form}"))))
        everyone = rows_of(ok(world.get("viewer", world.ui(f"?form={form}"))))
        assert limited and set(limited) < set(everyone)
    html = ok(world.get("viewer_t01", world.ui(f"?form={FORM_ID}")))
    assert rows_of(html) == [world.photo_visits[INSIDE]]
    assert 'value="T05"' not in html and "Không rõ thôn</option>" not in html
    # Asking for another village by hand finds nothing either.
    assert rows_of(ok(world.get("viewer_t01", world.ui(f"?form={FORM_ID}&village=T05")))) == []


def test_filters_by_village_day_review_and_sync_state(world: SubmissionsWorld) -> None:
    inside, outside = world.photo_visits[INSIDE], world.photo_visits[OUTSIDE]
    base = world.ui(f"?form={FORM_ID}")

    def listed(query: str) -> list[str]:
        return rows_of(ok(world.get("manager", f"{base}&{query}")))

    assert listed(f"village={OUTSIDE}") == [outside]
    with world.services.database.unit_of_work() as db:
        sent = db.scalars(select(Submission.created_at).where(
            Submission.instance_id == inside)).one()
    day = (sent + VIETNAM).date()  # the commune's calendar day it arrived
    assert inside in listed(f"from={day:%d/%m/%Y}&to={day:%d/%m/%Y}")  # as people type it
    assert inside in listed(f"from={day.isoformat()}")  # as the date field sends it
    assert listed(f"to={(day - timedelta(days=1)).isoformat()}") == []
    assert listed(f"from={(day + timedelta(days=1)).isoformat()}") == []
    assert set(listed("review=received")) == {inside, outside}
    assert listed("review=approved") == []
    assert set(listed("sync=not_registry")) == {inside, outside}
    assert listed("sync=synced") == []
    screening = world.ui(f"?form={SCREENING}")
    assert world.commune.visit_inside in rows_of(
        ok(world.get("manager", f"{screening}&sync=synced")))
    assert rows_of(ok(world.get("manager", f"{screening}&sync=not_registry"))) == []
    refused = world.get("manager", f"{base}&from=31/02/2026")
    assert refused.status_code == 400 and "“from”" in refused.get_data(as_text=True)


def test_roles_that_do_not_read_submissions_get_no_menu_entry_and_403(
        world: SubmissionsWorld) -> None:
    html = ok(world.get("health_reviewer", f"/ui/p/{world.project_id}/children"))
    assert "nav-submissions" not in html
    assert world.get("health_reviewer", world.ui()).status_code == 403
    assert world.get("health_reviewer", world.page_of(world.photo_visits[INSIDE])
                     ).status_code == 403
    anonymous = world.app.test_client().get(world.ui())
    assert anonymous.status_code == 302 and "/ui/login" in anonymous.headers["Location"]


# --- one submission ------------------------------------------------------------------------------


def test_the_answers_read_under_the_forms_labels_with_choices_repeats_and_the_photo(
        world: SubmissionsWorld) -> None:
    page = world.page_of(world.photo_visits[INSIDE])
    html = ok(world.get("cp_officer", page))
    text = text_of(html)
    assert "Mái nhà Mái ngói" in text and "Ngày thăm 03/12/2026" in text
    assert "Thành viên 1 Họ và tên Lò Văn Páo Đang đi học? Đang đi học" in text
    assert "Thành viên 2 Họ và tên Lò Thị Dung Đang đi học? Không đi học" in text
    assert f"Điều đáng lo (bảo mật) bảo mật {CONCERN_WORDS}" in text
    # Codes and unlabelled calculations stay out of the page (the XML download has them).
    assert ">tile<" not in html and "/score" not in html and "instanceName" not in html
    src = re.search(r'<img class="photo" src="([^"]+)"', html)
    assert src and src.group(1) == f"{page}/files/{PHOTO}" and "/v1/" not in src.group(1)
    photo = world.get("cp_officer", src.group(1))
    assert photo.status_code == 200 and photo.mimetype == "image/png"
    assert photo.data == PNG_BYTES

    english = text_of(ok(world.get("cp_officer", f"{page}?lang=en")))
    assert "Roof Tiled roof" in english and "Member 2 Full name Lò Thị Dung" in english
    assert "In school? Out of school" in english


def test_a_village_limited_viewer_finds_no_other_village_and_no_confidential_answer(
        world: SubmissionsWorld) -> None:
    for page in (world.page_of(world.photo_visits[OUTSIDE]),
                 world.page_of(world.commune.visit_outside, SCREENING),
                 world.page_of(world.photo_visits[OUTSIDE]) + f"/files/{PHOTO}"):
        assert world.get("viewer_t01", page).status_code == 404, page
        assert world.get("cp_officer_t01", page).status_code == 404, page
    html = ok(world.get("viewer_t01", world.page_of(world.photo_visits[INSIDE])))
    assert "Lò Văn Páo" in html and CONCERN_WORDS not in html and "/concern" not in html
    screening = ok(world.get("viewer_t01", world.page_of(world.commune.visit_inside,
                                                         SCREENING)))
    for hidden in ("Nghi bị xâm hại tình dục", ILLNESS, "Mông", "f_protection", "e_illness",
                   "c_ethnic", "bảo mật", CONCERN):
        assert hidden not in text_of(screening), hidden
    officer = ok(world.get("cp_officer_t01", world.page_of(world.commune.visit_inside,
                                                            SCREENING)))
    assert "Nghi bị xâm hại tình dục" in officer and ILLNESS in officer


def _xml_paths(xml: bytes) -> set[str]:
    """Every answered leaf of an instance, as the field tree's paths."""
    found: set[str] = set()

    def walk(element: Element, path: str) -> None:
        for child in element:
            inner = f"{path}/{local_name(child.tag)}"
            if len(child):
                walk(child, inner)
            elif (child.text or "").strip():
                found.add(inner)
    walk(parse_xml(xml), "")
    return found


@pytest.mark.parametrize("who", ["viewer_t01", "viewer", "cp_officer_t01", "manager"])
def test_the_page_shows_only_answers_the_api_sends_the_same_caller(
        world: SubmissionsWorld, who: str) -> None:
    """Every answer on the page is in the XML the API gives this caller (the page's own
    session cookie reads it), and every labelled answer of that XML is on the page."""
    visit = world.commune.visit_inside
    html = ok(world.get(who, world.page_of(visit, SCREENING)))
    api = world.get(who, f"/v1/projects/{world.project_id}/forms/{SCREENING}/submissions/"
                         f"{visit}.xml")
    assert api.status_code == 200
    sent = _xml_paths(api.data)
    shown = answer_paths(html)
    assert shown and shown <= sent
    sensitive = {"/household/child/f_protection/f_type", "/household/child/e_illness",
                 "/household/child/c_ethnic"}
    sees = who in ("cp_officer_t01", "manager")
    assert (sensitive <= shown) is sees and (sensitive <= sent) is sees
    if not sees:
        assert not sensitive & shown and not sensitive & sent


def _audits_since(world: SubmissionsWorld, mark: int, action: str) -> list[Audit]:
    with world.services.database.unit_of_work() as db:
        return list(db.scalars(select(Audit).where(Audit.id > mark, Audit.action == action)
                               .order_by(Audit.id)))


def _newest_audit(world: SubmissionsWorld) -> int:
    with world.services.database.unit_of_work() as db:
        return max(db.scalars(select(Audit.id)).all() or [0])


def test_showing_sensitive_answers_is_audited_as_the_api_audits_sending_them(
        world: SubmissionsWorld) -> None:
    visit = world.commune.visit_inside
    xml = f"/v1/projects/{world.project_id}/forms/{SCREENING}/submissions/{visit}.xml"
    for who, levels in (("cp_officer_t01", ["confidential", "health", "sensitive"]),
                        ("viewer_t01", None)):
        mark = _newest_audit(world)
        ok(world.get(who, world.page_of(visit, SCREENING)))
        assert world.get(who, xml).status_code == 200
        rows = _audits_since(world, mark, "submission.read_sensitive")
        if levels is None:
            assert rows == [], who
            continue
        assert [row.details["via"] for row in rows] == ["web", "api"]
        for row in rows:
            assert row.actor_id == world.commune.actor_ids[who]
            assert row.actee.startswith("submission:")
            assert row.details["levels"] == levels and row.details["instanceId"] == visit
            assert "Lò Thị" not in str(row.details)  # ids and levels, never an answer


# --- review, comments, edits -------------------------------------------------------------------


def _fresh_photo_visit(world: SubmissionsWorld, village: str = INSIDE) -> str:
    instance_id = f"uuid:{uuid.uuid4()}"
    response = world.phone_post(world.app.test_client(), village,
                                visit_xml(village, instance_id=instance_id),
                                {PHOTO: PNG_BYTES})
    assert response.status_code == 201
    return instance_id


def test_a_manager_sets_the_review_state_and_anyone_reading_comments(
        world: SubmissionsWorld) -> None:
    visit = _fresh_photo_visit(world)
    page = world.page_of(visit)
    answer = world.post("manager_t01", f"{page}/review", {"reviewState": "hasIssues"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(
        f"{page}?done=reviewed")
    html = ok(world.get("manager_t01", f"{page}?done=reviewed"))
    assert "Đã lưu tình trạng duyệt" in html
    assert re.search(r'id="review-state">Có vấn đề<', html)
    with world.services.database.unit_of_work() as db:
        assert db.scalars(select(Submission.review_state).where(
            Submission.instance_id == visit)).one() == "hasIssues"
    assert visit in rows_of(ok(world.get("manager", world.ui(f"?form={FORM_ID}&review=hasIssues"))))
    # A viewer reads and comments, but does not review.
    viewer_page = ok(world.get("viewer_t01", page))
    assert 'id="review-form"' not in viewer_page and 'id="comment-form"' in viewer_page
    assert world.post("viewer_t01", f"{page}/review",
                      {"reviewState": "approved"}).status_code == 403
    said = "Ảnh chụp mờ, cần thăm lại hộ này"
    assert world.post("viewer_t01", f"{page}/comments", {"body": said}).status_code == 303
    html = ok(world.get("manager_t01", page))
    assert said in html and "viewer_t01" in html
    assert world.post("viewer_t01", f"{page}/comments", {"body": "  "}).status_code == 400
    # The API reads the same comment.
    api = world.get("manager", f"/v1/projects/{world.project_id}/forms/{FORM_ID}/submissions/"
                               f"{visit}/comments")
    assert [c["body"] for c in api.json] == [said]


def test_an_edit_from_the_phone_shows_in_the_history(world: SubmissionsWorld) -> None:
    first = _fresh_photo_visit(world)
    edited = f"uuid:{uuid.uuid4()}"
    response = world.phone_post(world.app.test_client(), INSIDE, visit_xml(
        INSIDE, instance_id=edited, deprecated_id=first, roof="thatch"))
    assert response.status_code == 201
    html = ok(world.get("manager", world.page_of(first)))
    versions = re.findall(r'<tr class="version-row( current)?">', html)
    assert versions == [" current", ""]
    history = html[html.index('id="versions"'):]
    assert history.index(edited) < history.index(first)  # newest first
    assert "Mái tranh, lá" in text_of(html) and re.search(r'id="review-state">Đã sửa<', html)
    # The edit kept the photo it did not send again.
    assert world.get("manager", f"{world.page_of(first)}/files/{PHOTO}").data == PNG_BYTES


def test_a_follow_up_names_its_child_by_code_not_by_id(world: SubmissionsWorld) -> None:
    phone = Phone(world.app.test_client(), world.project_id, world.phones[INSIDE].token,
                  world.phones[INSIDE].actor_id)
    row = children_csv(phone)[0]
    instance_id = f"uuid:{uuid.uuid4()}"
    assert phone.submit(followup_xml(row, "still_here", instance_id=instance_id)
                        ).status_code == 201
    html = ok(world.get("cp_officer", world.page_of(instance_id, "child_followup")))
    link = re.search(r'<a class="child-code" href="([^"]+)">(\d{5}-\d)</a>', html)
    assert link and link.group(1).endswith(f"/children/{row['name']}")
    assert row["name"] not in text_of(html)  # the UUID is in the link only, never read
    viewer = ok(world.get("viewer_t01", world.page_of(instance_id, "child_followup")))
    assert link.group(2) in viewer  # the registry is theirs to read too
    world.sync()


# --- the registry sync ---------------------------------------------------------------------------


def test_a_failed_sync_says_why_and_a_manager_retries_it(
        world: SubmissionsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    visit = world.new_visit(INSIDE)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise KeyError("c_dob_known")

    with monkeypatch.context() as patch:
        patch.setattr(registry_sync, "map_instance", broken)
        assert world.sync().failed == 1
    page = world.page_of(visit, SCREENING)
    html = ok(world.get("manager_t01", page))
    text = text_of(html)
    assert "Lỗi khi vào sổ" in text and "sổ trẻ em không xử lý được" in text
    assert "KeyError: 'c_dob_known'" in text  # the technical line, folded away
    assert visit in rows_of(ok(world.get("manager_t01", world.ui(
        f"?form={SCREENING}&sync=failed"))))
    # A viewer and the officer read why, but retrying is a manager's (Central's PATCH).
    for who in ("viewer_t01", "cp_officer_t01"):
        assert 'id="retry"' not in ok(world.get(who, page))
        assert world.post(who, f"{page}/sync/retry", {}).status_code == 403
    mark = _newest_audit(world)
    answer = world.post("manager_t01", f"{page}/sync/retry", {})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("done=retried")
    version = world.version_of(visit)
    assert (version.sync_state, version.sync_error) == ("pending", None)
    [row] = _audits_since(world, mark, "registry.sync.retry")
    assert row.details == {"submissionDefIds": [version.id], "via": "web",
                           "projectId": world.project_id}
    assert row.actor_id == world.commune.actor_ids["manager_t01"]
    assert "Đang chờ vào sổ" in text_of(ok(world.get("manager_t01", page)))
    again = world.post("manager_t01", f"{page}/sync/retry", {})
    assert again.status_code == 409 and "không có gì để thử lại" in again.get_data(as_text=True)

    assert world.sync().submissions == 1
    html = ok(world.get("manager_t01", page))
    assert "Đã vào sổ" in text_of(html) and 'id="retry"' not in html


def test_the_cli_lists_failed_syncs_and_retries_them(
        world: SubmissionsWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    visit = world.new_visit(OUTSIDE)
    with monkeypatch.context() as patch:
        patch.setattr(registry_sync, "map_instance", lambda *_a, **_k: 1 / 0)
        assert world.sync().failed == 1
    version_id = world.version_of(visit).id
    settings = world.services.settings
    monkeypatch.setenv("DIEMTUA_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("DIEMTUA_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DIEMTUA_SECRET_KEY", "test-secret")
    runner = CliRunner()
    listed = runner.invoke(main, ["sync", "retry"])
    assert listed.exit_code == 0, listed.output
    assert f"{version_id}\tunknown\tZeroDivisionError" in listed.output
    mark = _newest_audit(world)
    retried = runner.invoke(main, ["sync", "retry", str(version_id), "999999"])
    assert retried.exit_code == 0, retried.output
    assert "1 submissions back on the pending list" in retried.output
    assert "999999" in retried.output
    assert world.version_of(visit).sync_state == "pending"
    [row] = _audits_since(world, mark, "registry.sync.retry")
    assert row.actor_id is None and row.details["via"] == "cli"
    assert row.details["submissionDefIds"] == [version_id]
    assert world.sync().submissions == 1
