"""What people do on a child's page, through Flask's test client on a real database (SQLite
and PostgreSQL): confirm and end a category with a reason, find another child by a name typed
without marks and merge the two after comparing them, choose which spelling of the name is
right and withdraw the choice, close an urgent flag only after confirming it and find it among
the closed ones; and what the pages never show: ids, instance ids, internal record numbers.

One commune for the module (built once); each test acts on children of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server import create_app
from server.db import utcnow
from server.demo import DEMO_PROJECT
from server.models import (
    Audit,
    Child,
    ChildCategoryEpisode,
    ChildMembership,
    ChildRecord,
    Flag,
    Project,
)
from server.models.registry import ChildStatus
from server.operations.users import create_user, grant_project_role
from server.registry import categories
from server.registry.child_code import format_code
from server.registry.sync import sync_pending
from server.services import Services
from tests.conftest import module_services
from tests.registry.helpers import (
    consented_xml,
    find,
    household_of,
    load_households,
    strip_marks,
    submit_variant,
)
from tests.web.conftest import PASSWORD, web_login

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ROLES = ("cp_officer", "health_reviewer", "viewer")


@dataclass
class Commune:
    services: Services
    app: Flask
    project_id: int
    visits: list[list[str]]  # each synced household visit's children, in repeat order
    emails: dict[str, str] = field(default_factory=dict)

    def signed_in(self, role: str) -> tuple[FlaskClient, str]:
        client = self.app.test_client()
        return client, web_login(client, self.emails[role])

    def page(self, client: FlaskClient, path: str) -> str:
        response = client.get(f"/ui/p/{self.project_id}/{path}")
        assert response.status_code == 200, response.get_data(as_text=True)[:400]
        return response.get_data(as_text=True)

    def child(self, child_id: str) -> Child:
        with self.services.database.unit_of_work() as db:
            child = db.get_one(Child, child_id)
            db.expunge(child)
            return child

    def status_of(self, child_id: str, code: str) -> str:
        with self.services.database.unit_of_work() as db:
            return db.scalars(select(ChildCategoryEpisode.status).where(
                ChildCategoryEpisode.child_id == child_id,
                ChildCategoryEpisode.code == code)).one()

    def open_category(self, child_id: str, code: str) -> list[int]:
        """Open ``code`` on the child as a follow-up visit naming it would; its flags' ids."""
        with self.services.database.unit_of_work() as db:
            raised = categories.apply_codes(db, child_id, [code], source="test", by="sync",
                                            now=utcnow())
            return [flag.id for flag in raised]

    def audits(self, action: str) -> list[Audit]:
        with self.services.database.unit_of_work() as db:
            rows = list(db.scalars(select(Audit).where(Audit.action == action)
                                   .order_by(Audit.id)))
            for row in rows:
                db.expunge(row)
            return rows


def _renamed(root: Element) -> None:
    """A re-report whose first child's given name changed: a pair for the review queue."""
    household = household_of(root)
    first, *rest = find(household, "child")
    for other in rest:
        household.remove(other)
    for node in find(first, "c_full_name"):
        node.text = " ".join([*(node.text or "").split()[:-1], "Hậu"])


@pytest.fixture(scope="module")
def commune(migrated_database: str, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Commune]:
    with module_services(migrated_database, tmp_path_factory.mktemp("child-page")) as services:
        load_households(services, 12)
        sync_pending(services.database.sessions)
        submit_variant(services, consented_xml(services), _renamed)
        assert sync_pending(services.database.sessions).queued == 1
        with services.database.unit_of_work() as db:
            project_id = db.scalars(select(Project.id).where(Project.name == DEMO_PROJECT)).one()
            rows = db.execute(select(ChildRecord.household_key, ChildRecord.source_key,
                                     ChildMembership.child_id)
                              .join(ChildMembership, ChildMembership.record_id == ChildRecord.id)
                              .order_by(ChildRecord.id)).all()
            emails = {}
            for role in ROLES:
                email = f"{role}@tram-y-te.test"
                user = create_user(db, email, PASSWORD, display_name=f"Cán bộ {role}")
                grant_project_role(db, project_id, user.actor_id, role)
                emails[role] = email
        visits: dict[str, list[str]] = {}
        for household, _key, child_id in rows:
            if child_id not in visits.setdefault(household, []):
                visits[household].append(child_id)
        app = create_app({"services": services, "TESTING": True})
        yield Commune(services, app, project_id, [v for v in visits.values() if v], emails)


def visible_text(html: str) -> str:
    """What a person reads: the page without its tags and attribute values."""
    body = html[html.index("<main"):] if "<main" in html else html
    return re.sub(r"<[^>]+>", " ", body)


# --- the page itself -------------------------------------------------------------------------


def test_the_child_page_names_the_child_by_code_and_each_source_in_words(
        commune: Commune) -> None:
    child_id = commune.visits[0][0]
    child = commune.child(child_id)
    client, _ = commune.signed_in("viewer")
    html = commune.page(client, f"children/{child_id}")
    text = visible_text(html)
    assert format_code(child.number) in text
    assert not UUID.search(text), UUID.search(text)
    assert "uuid:" not in text and "#1" not in text
    assert "Phiếu hộ gia đình" in text and "Gộp từ các mã" not in text
    # The source links to the visit's page, by form and instance id (in the address only).
    assert f'href="/ui/p/{commune.project_id}/submissions/household_screening/uuid:' in html
    # A viewer acts on nothing.
    assert "merge-link" not in html and 'name="why"' not in html


# --- categories ------------------------------------------------------------------------------


def test_an_officer_confirms_then_ends_a_category_with_a_reason(commune: Commune) -> None:
    child_id = commune.visits[1][0]
    commune.open_category(child_id, "PLAN-POOR")
    client, csrf = commune.signed_in("cp_officer")
    html = commune.page(client, f"children/{child_id}")
    row = html[html.index('id="category-PLAN-POOR"'):].split("</tr>")[0]
    assert "Trẻ em thuộc hộ nghèo/cận nghèo" in row and "PLAN-POOR" in row
    base = f"/ui/p/{commune.project_id}/children/{child_id}/categories/PLAN-POOR"
    assert f'action="{base}/confirm"' in row and f'action="{base}/end"' in row

    no_reason = client.post(f"{base}/confirm", data={"csrf": csrf, "why": "  "})
    assert no_reason.status_code == 400 and commune.status_of(child_id, "PLAN-POOR") == (
        "provisional")
    done = client.post(f"{base}/confirm", data={"csrf": csrf, "why": "Có tên trong danh "
                                                "sách hộ nghèo năm 2026"})
    assert done.status_code == 303 and "done=category_confirm" in done.headers["Location"]
    assert commune.status_of(child_id, "PLAN-POOR") == "confirmed"
    audit = commune.audits("registry.category.confirm")[-1]
    assert audit.details == {"projectId": commune.project_id, "code": "PLAN-POOR",
                             "via": "web"}
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Đã xác nhận nhóm hoàn cảnh." in page and "Có tên trong danh sách hộ nghèo" in page

    unsure = client.post(f"{base}/end", data={"csrf": csrf, "why": "Đã thoát nghèo"})
    assert unsure.status_code == 400 and commune.status_of(child_id, "PLAN-POOR") == "confirmed"
    ended = client.post(f"{base}/end", data={"csrf": csrf, "why": "Đã thoát nghèo",
                                             "sure": "yes"})
    assert ended.status_code == 303 and commune.status_of(child_id, "PLAN-POOR") == "ended"


def test_the_health_station_confirms_health_categories_only(commune: Commune) -> None:
    child_id = commune.visits[2][0]
    commune.open_category(child_id, "PLAN-POOR")
    commune.open_category(child_id, "HCDB-D")
    client, csrf = commune.signed_in("health_reviewer")
    html = commune.page(client, f"children/{child_id}")
    base = f"/ui/p/{commune.project_id}/children/{child_id}/categories"
    assert f'action="{base}/HCDB-D/confirm"' in html
    assert f'action="{base}/PLAN-POOR/confirm"' not in html
    assert "Trẻ em khuyết tật" in html and "D.1" in html  # the sub-groups to confirm with
    refused = client.post(f"{base}/PLAN-POOR/confirm", data={"csrf": csrf, "why": "x"})
    assert refused.status_code == 403 and commune.status_of(child_id, "PLAN-POOR") == (
        "provisional")
    done = client.post(f"{base}/HCDB-D/confirm", data={"csrf": csrf, "why": "Giấy xác nhận "
                                                       "khuyết tật", "subcode": "D.2"})
    assert done.status_code == 303 and commune.status_of(child_id, "HCDB-D") == "confirmed"


# --- merging two children and choosing the name ----------------------------------------------


def test_a_child_found_by_a_name_without_marks_is_compared_merged_and_its_name_chosen(
        commune: Commune) -> None:
    keep_id = commune.visits[3][0]
    # Another visit's child without a personal ID (two valid IDs are never one child).
    other_id = next(v[0] for v in commune.visits[4:] if not commune.child(v[0]).personal_id)
    keep, other = commune.child(keep_id), commune.child(other_id)
    client, csrf = commune.signed_in("cp_officer")
    html = commune.page(client, f"children/{keep_id}")
    assert f'href="/ui/p/{commune.project_id}/children/{keep_id}/merge"' in html

    typed = strip_marks(other.full_name).lower()
    found = commune.page(client, f"children/{keep_id}/merge?q={typed}")
    assert format_code(other.number) in found and other.full_name in found
    assert f'id="found-{format_code(keep.number)}"' not in found  # never the child itself
    by_code = commune.page(client, f"children/{keep_id}/merge?q={format_code(other.number)}")
    assert f'id="found-{format_code(other.number)}"' in by_code

    side = commune.page(client, f"children/{keep_id}/merge?q={typed}&other={other_id}")
    assert format_code(keep.number) in side and format_code(other.number) in side
    assert "Mã định danh" in side and 'id="merge-form"' in side
    assert not UUID.search(visible_text(side))
    url = f"/ui/p/{commune.project_id}/children/{keep_id}/merge"
    unsure = client.post(url, data={"csrf": csrf, "other": other_id})
    assert unsure.status_code == 400 and commune.child(other_id).status == "active"
    merged = client.post(url, data={"csrf": csrf, "other": other_id, "sure": "yes"})
    assert merged.status_code == 303 and "done=merged" in merged.headers["Location"]
    survivor, gone = sorted((keep, other), key=lambda c: (c.created_at, c.id))
    assert commune.child(gone.id).merged_into == survivor.id
    assert f"/children/{survivor.id}" in merged.headers["Location"]
    assert commune.audits("registry.child.merge")[-1].details == {
        "projectId": commune.project_id, "merged": gone.id, "via": "web"}

    page = commune.page(client, f"children/{survivor.id}")
    assert format_code(gone.number) in page[page.index('id="merged-from"'):].split("</td>")[0]
    # Two names now: the page lists both, with their sources, and one of them in use.
    section = page[page.index('id="field-full_name"'):]
    assert keep.full_name in section and other.full_name in section
    assert "đang dùng" in section and "Phiếu hộ gia đình" in section
    shown = commune.child(survivor.id).full_name
    wanted = gone.full_name if shown != gone.full_name else survivor.full_name
    choose = f"/ui/p/{commune.project_id}/children/{survivor.id}/fields/full_name/choice"
    assert client.post(choose, data={"csrf": csrf, "value": wanted}).status_code == 400
    chosen = client.post(choose, data={"csrf": csrf, "value": wanted,
                                       "why": "Theo giấy khai sinh"})
    assert chosen.status_code == 303 and commune.child(survivor.id).full_name == wanted
    page = client.get(chosen.headers["Location"]).get_data(as_text=True)
    assert "Theo giấy khai sinh" in page and "Cán bộ cp_officer đã chọn" in page
    withdrawn = client.post(choose + "/withdraw", data={"csrf": csrf})
    assert withdrawn.status_code == 303 and commune.child(survivor.id).full_name == shown
    assert [a.details["field"] for a in commune.audits("registry.child.field_choice")] == [
        "full_name"]
    assert len(commune.audits("registry.child.field_choice.withdraw")) == 1


def test_two_children_of_one_household_visit_are_never_merged_from_the_page(
        commune: Commune) -> None:
    visit = next(v for v in commune.visits if len(v) >= 2)
    first, second = visit[0], visit[1]
    client, csrf = commune.signed_in("cp_officer")
    side = commune.page(client, f"children/{first}/merge?other={second}")
    assert "cùng một lần thăm hộ" in side and 'id="merge-form"' not in side
    assert not re.search(r"records? \d+", side)  # the domain's message names record numbers
    tried = client.post(f"/ui/p/{commune.project_id}/children/{first}/merge",
                        data={"csrf": csrf, "other": second, "sure": "yes"})
    assert tried.status_code == 303 and f"other={second}" in tried.headers["Location"]
    assert commune.child(second).status == ChildStatus.ACTIVE.value


def test_a_viewer_may_neither_merge_nor_choose(commune: Commune) -> None:
    child_id = commune.visits[5][0]
    client, csrf = commune.signed_in("viewer")
    assert client.get(f"/ui/p/{commune.project_id}/children/{child_id}/merge").status_code == 403
    refused = client.post(f"/ui/p/{commune.project_id}/children/{child_id}/fields/full_name/"
                          "choice", data={"csrf": csrf, "value": "x", "why": "y"})
    assert refused.status_code == 403


# --- urgent flags ----------------------------------------------------------------------------


def test_an_urgent_flag_is_closed_after_confirming_and_is_then_in_the_closed_view(
        commune: Commune) -> None:
    child_id = commune.visits[6][0]
    flag_id = next(iter(commune.open_category(child_id, "HCDB-B")))  # abandoned: 12 hours
    client, csrf = commune.signed_in("cp_officer")
    flags = commune.page(client, "flags")
    row = flags[flags.index(f'id="flag-{flag_id}"'):].split("</tr>")[0]
    assert format_code(commune.child(child_id).number) in row
    assert f"/flags/{flag_id}/confirm?action=close" in row and 'name="reason"' not in row

    url = f"/ui/p/{commune.project_id}/flags/{flag_id}/close"
    asked = client.post(url, data={"csrf": csrf, "reason": "Đã đưa trẻ về nhà bà nội"})
    assert asked.status_code == 303 and "/confirm?action=close" in asked.headers["Location"]
    with commune.services.database.unit_of_work() as db:
        assert db.get_one(Flag, flag_id).status == "open"
    confirm = commune.page(client, f"flags/{flag_id}/confirm?action=close")
    assert 'name="confirm" value="yes"' in confirm and 'id="sure"' in confirm
    assert "Trẻ em bị bỏ rơi" in confirm and "HCDB-B" in confirm
    closed = client.post(url, data={"csrf": csrf, "reason": "Đã đưa trẻ về nhà bà nội",
                                    "confirm": "yes"})
    assert closed.status_code == 303 and "done=closed" in closed.headers["Location"]
    assert f'id="flag-{flag_id}"' not in commune.page(client, "flags")
    history = commune.page(client, "flags?state=closed")
    row = history[history.index(f'id="flag-{flag_id}"'):].split("</tr>")[0]
    assert "Đã đưa trẻ về nhà bà nội" in row and "Đã đóng" in row
    assert "Cảnh báo đã đóng" in history


def test_acknowledging_an_urgent_flag_asks_first_and_a_plain_flag_does_not(
        commune: Commune) -> None:
    child_id = commune.visits[7][0]
    urgent = next(iter(commune.open_category(child_id, "HCDB-B")))
    plain = next(iter(commune.open_category(commune.visits[8][0], "HCDB-A")))
    client, csrf = commune.signed_in("cp_officer")
    base = f"/ui/p/{commune.project_id}/flags"
    asked = client.post(f"{base}/{urgent}/acknowledge", data={"csrf": csrf})
    assert asked.status_code == 303 and "action=acknowledge" in asked.headers["Location"]
    done = client.post(f"{base}/{urgent}/acknowledge", data={"csrf": csrf, "confirm": "yes"})
    straight = client.post(f"{base}/{plain}/acknowledge", data={"csrf": csrf})
    assert done.status_code == straight.status_code == 303
    with commune.services.database.unit_of_work() as db:
        assert {db.get_one(Flag, urgent).status, db.get_one(Flag, plain).status} == {
            "acknowledged"}
    assert client.get(f"{base}/{urgent}/confirm?action=oops").status_code == 400


# --- the review queue ------------------------------------------------------------------------


def test_the_review_pair_has_no_record_number_and_says_the_thresholds(commune: Commune) -> None:
    client, _ = commune.signed_in("viewer")
    html = commune.page(client, "review")
    pair = html[html.index('class="pair'):]
    text = visible_text(pair)
    assert not re.search(r"hồ sơ \d+", text, re.IGNORECASE)
    assert "Báo cáo mới" in text and "Phiếu hộ gia đình" in text and "Mã trẻ" in text
    assert "Mã định danh" in text  # the personal ID is a row of the side-by-side
    assert "ngưỡng tự nối 21,25" in text and "ngưỡng đưa vào rà soát 20,5" in text
    # The re-report keeps the child's valid personal ID under another given name: the page
    # never calls the two "possible twins".
    assert "sinh đôi" not in text and "Cùng mã định danh hợp lệ" in text


def test_every_page_of_the_journey_has_its_words_in_both_languages(commune: Commune) -> None:
    """A key missing from the catalogue would show as itself ("fields.title")."""
    keep, other = commune.visits[9][0], commune.visits[10][0]
    flag_id = next(iter(commune.open_category(keep, "HCDB-B")))
    commune.open_category(keep, "HCDB-D")
    client, _ = commune.signed_in("cp_officer")
    bare_key = re.compile(r"\b(?:fields|merge|category|flags?|source|explain|child|review|"
                          r"status|done|rule|reason)\.[a-z_A-Z.]+")
    for lang in ("vi", "en"):
        for path in (f"children/{keep}", f"children/{keep}/merge?q=a&other={other}",
                     "flags", "flags?state=closed", f"flags/{flag_id}/confirm?action=close",
                     f"flags/{flag_id}/confirm?action=acknowledge", "review"):
            joiner = "&" if "?" in path else "?"
            text = visible_text(commune.page(client, f"{path}{joiner}lang={lang}"))
            assert not bare_key.search(text), (lang, path, bare_key.search(text))
