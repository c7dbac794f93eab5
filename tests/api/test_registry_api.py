"""The registry API (docs/access.md): each route checks role and village scope, and sensitive
categories never reach a role that may not see them — on SQLite and PostgreSQL.

The registry is the demo commune's synthetic households, synced through the real path; the
categories and flags of the children under test are opened through
`server.registry.categories`, as the sync and a follow-up visit open them.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element

import pytest
from flask.testing import FlaskClient
from sqlalchemy import exists, select

from server.db import utcnow
from server.demo import DEMO_PROJECT
from server.models import Audit, Child, ChildCategoryEpisode, MatchCandidate, Project
from server.models.registry import ChildStatus
from server.operations.users import create_user
from server.registry import categories
from server.registry.sync import sync_pending
from server.services import Services
from sync.categories import DerivedCategory, Reason, apply_derived
from tests.api.conftest import PASSWORD, login
from tests.conftest import World
from tests.registry.helpers import (
    consented_xml,
    find,
    household_of,
    load_households,
    strip_marks,
    submit_variant,
)

HOUSEHOLDS = 12


@dataclass
class Commune:
    """The demo commune's registry and a way to meet people holding roles in it."""

    services: Services
    client: FlaskClient
    admin: dict[str, str]
    project_id: int

    @property
    def base(self) -> str:
        return f"/v1/projects/{self.project_id}/registry"

    def person(self, role: str, villages: list[str] | None = None) -> dict[str, str]:
        """A web user given `role` by the site admin through the API; their bearer headers."""
        email = f"{role}.{len(villages or [])}.{utcnow().timestamp()}@xa.test"
        with self.services.database.unit_of_work() as db:
            actor_id = create_user(db, email, PASSWORD).actor_id
        body = {"villages": villages} if villages is not None else None
        granted = self.client.post(
            f"/v1/projects/{self.project_id}/assignments/{role}/{actor_id}",
            headers=self.admin, json=body)
        assert granted.status_code == 200, granted.get_data(as_text=True)
        return login(self.client, email)

    def child_in(self, village: str, n: int = 0) -> str:
        """The n-th child of the village whose screening opened no category of its own."""
        with self.services.database.unit_of_work() as db:
            return db.scalars(select(Child.id).where(
                Child.project_id == self.project_id, Child.village_code == village,
                Child.status == ChildStatus.ACTIVE.value,
                ~exists().where(ChildCategoryEpisode.child_id == Child.id))
                .order_by(Child.id)).all()[n]

    def get(self, path: str, headers: dict[str, str], **query: str) -> list | dict:
        response = self.client.get(f"{self.base}/{path}", headers=headers, query_string=query)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.json

    def audits(self, action: str) -> list[Audit]:
        with self.services.database.unit_of_work() as db:
            rows = db.scalars(select(Audit).where(Audit.action == action)).all()
            db.expunge_all()
            return list(rows)


def demo_commune(services: Services, client: FlaskClient,
                 admin_headers: dict[str, str]) -> Commune:
    """The demo commune's households, synced; for the `commune` fixture of each module."""
    load_households(services, HOUSEHOLDS)
    sync_pending(services.database.sessions)
    with services.database.unit_of_work() as db:
        project_id = db.scalars(select(Project.id).where(Project.name == DEMO_PROJECT)).one()
    return Commune(services, client, admin_headers, project_id)


@pytest.fixture
def commune(services: Services, client: FlaskClient, world: World,
            admin_headers: dict[str, str]) -> Commune:
    return demo_commune(services, client, admin_headers)


def open_categories(commune: Commune, child_id: str, codes: list[str]) -> None:
    """Open categories as a follow-up visit naming them would (flags raised with them)."""
    with commune.services.database.unit_of_work() as db:
        categories.apply_codes(db, child_id, codes, source="test", by="sync", now=utcnow())


def open_with_confidential_reason(commune: Commune, child_id: str, code: str) -> None:
    """A category known from ordinary answers and, separately, from Section F answers: its
    history holds one ordinary and one confidential entry."""
    derived = DerivedCategory(code, (
        Reason("c_parent_dead", "Cha hoặc mẹ đã mất", "A parent died"),
        Reason("f_violence_home", "Lo ngại bạo lực", "Violence concern", confidential=True)))
    with commune.services.database.unit_of_work() as db:
        before = categories.episodes(db, child_id)
        after = apply_derived(before, [derived], by="sync", at=utcnow(), source="test")
        categories.save_episodes(db, child_id, after)


def codes(item: dict) -> set[str]:
    return {category["code"] for category in item["categories"]}


def queued_row(commune: Commune) -> None:
    """A household visited again, its first child's given name and ID changed: not sure
    enough to link, so the record waits in the review queue."""
    def changed(root: Element) -> None:
        household = household_of(root)
        first, *rest = find(household, "child")
        for child in rest:
            household.remove(child)
        for node in find(first, "c_pid"):
            node.text = ""
        for node in find(first, "c_full_name"):
            node.text = " ".join([*(node.text or "").split()[:-1], "Hùng"])

    submit_variant(commune.services, consented_xml(commune.services, 1), changed)
    assert sync_pending(commune.services.database.sessions).queued == 1


# --- who may come in -----------------------------------------------------------------------


def test_anonymous_is_refused_with_401_and_an_app_user_with_403(commune: Commune) -> None:
    assert commune.client.get(f"{commune.base}/children").status_code == 401
    token = commune.client.get(f"/v1/projects/{commune.project_id}/app-users",
                               headers=commune.admin).json[0]["token"]
    phone = commune.client.get(
        f"/v1/key/{token}/projects/{commune.project_id}/registry/children")
    assert phone.status_code == 403 and phone.json["code"] == 403.1
    formfill = commune.person("formfill")
    assert commune.client.get(f"{commune.base}/children",
                              headers=formfill).status_code == 403


def test_a_project_that_does_not_exist_is_404(commune: Commune) -> None:
    response = commune.client.get("/v1/projects/9999/registry/children", headers=commune.admin)
    assert response.status_code == 404 and response.json["code"] == 404.1


# --- the list --------------------------------------------------------------------------------


def test_list_pages_with_a_total_and_filters_by_village_name_and_status(
        commune: Commune) -> None:
    manager = commune.person("manager")
    response = commune.client.get(f"{commune.base}/children?limit=5", headers=manager)
    total = int(response.headers["X-Total-Count"])
    assert response.status_code == 200 and len(response.json) == 5 and total > 10
    rest = commune.client.get(f"{commune.base}/children?limit=1000&offset=5", headers=manager)
    assert len(rest.json) == total - 5
    ids = [item["id"] for item in response.json + rest.json]
    assert len(set(ids)) == total

    in_t01 = commune.get("children", manager, village="T01")
    assert in_t01 and {item["village"] for item in in_t01} == {"T01"}

    someone = response.json[0]
    typed = strip_marks(someone["fullName"]).upper().split()[-2:]
    found = commune.get("children", manager, q=" ".join(typed))
    assert someone["id"] in [item["id"] for item in found]
    assert commune.get("children", manager, q="khong ai co ten nay") == []
    assert len(commune.get("children", manager, status="active", limit="1000")) == total
    assert commune.get("children", manager, status="died") == []

    wrong = commune.client.get(f"{commune.base}/children?limit=many", headers=manager)
    assert wrong.status_code == 400 and wrong.json["code"] == 400.11
    unknown = commune.client.get(f"{commune.base}/children?category=HCDB-Z", headers=manager)
    assert unknown.status_code == 400


def test_list_filters_by_open_category_and_by_flag(commune: Commune) -> None:
    manager = commune.person("manager")
    poor, orphan = commune.child_in("T02", 0), commune.child_in("T02", 1)
    open_categories(commune, poor, ["PLAN-POOR"])
    open_categories(commune, orphan, ["HCDB-A"])
    poorest = commune.get("children", manager, category="PLAN-POOR", limit="1000")
    assert poor in [item["id"] for item in poorest] and orphan not in str(poorest)
    assert all("PLAN-POOR" in codes(item) for item in poorest)
    flagged = {item["id"]: item for item in commune.get("children", manager, flag="true")}
    assert orphan in flagged and poor not in flagged
    assert flagged[orphan]["openFlags"] == 1 and codes(flagged[orphan]) == {"HCDB-A"}
    assert all(item["openFlags"] >= 1 for item in flagged.values())
    assert orphan in str(commune.get("children", manager, flag="new_special_circumstance"))
    assert orphan not in str(commune.get("children", manager, flag="referral"))


# --- sensitive categories -------------------------------------------------------------------


def test_a_viewer_sees_no_sensitive_category_and_cannot_decide(commune: Commune) -> None:
    child = commune.child_in("T02")
    open_categories(commune, child, ["PLAN-POOR", "HCDB-L"])
    open_with_confidential_reason(commune, child, "RISK")
    queued_row(commune)
    viewer = commune.person("viewer")

    listed = next(item for item in commune.get("children", viewer, limit="1000")
                  if item["id"] == child)
    assert codes(listed) == {"PLAN-POOR", "RISK"} and listed["openFlags"] == 0
    assert commune.get("children", viewer, category="HCDB-L") == []
    assert commune.get("children", viewer, flag="true") == []

    detail = commune.get(f"children/{child}", viewer)
    assert codes(detail) == {"PLAN-POOR", "RISK"} and detail["flags"] == []
    risk = next(c for c in detail["categories"] if c["code"] == "RISK")
    assert [entry["confidential"] for entry in risk["history"]] == [False]
    assert "HCDB-L" not in str(detail) and "Violence" not in str(detail)
    assert all(not flag["confidential"] for flag in commune.get("flags", viewer))
    assert commune.audits("registry.child.read_sensitive") == []

    row = commune.get("review-queue", viewer)[0]
    decided = commune.client.post(f"{commune.base}/review-queue/{row['id']}/decision",
                                  headers=viewer, json={"decision": "same"})
    assert decided.status_code == 403
    ended = commune.client.post(f"{commune.base}/children/{child}/categories/PLAN-POOR/end",
                                headers=viewer, json={"why": "no longer poor"})
    assert ended.status_code == 403


def test_the_officer_sees_sensitive_categories_and_the_view_is_audited(
        commune: Commune) -> None:
    child = commune.child_in("T02")
    open_categories(commune, child, ["PLAN-POOR", "HCDB-L"])
    open_with_confidential_reason(commune, child, "RISK")
    officer = commune.person("cp_officer")

    detail = commune.get(f"children/{child}", officer)
    assert codes(detail) == {"PLAN-POOR", "HCDB-L", "RISK"}
    risk = next(c for c in detail["categories"] if c["code"] == "RISK")
    assert sorted(entry["confidential"] for entry in risk["history"]) == [False, True]
    assert [flag["code"] for flag in detail["flags"]] == ["HCDB-L"]
    assert detail["flags"][0]["confidential"] and detail["flags"][0]["deadline"]
    assert [item["id"] for item in commune.get("children", officer, category="HCDB-L")] \
        == [child]

    (row,) = commune.audits("registry.child.read_sensitive")
    assert row.actee == f"child:{child}"
    assert row.details == {"projectId": commune.project_id, "codes": ["HCDB-L", "RISK"]}
    assert detail["fullName"] not in str(row.details)
    commune.get(f"children/{commune.child_in('T02', 1)}", officer)  # nothing sensitive there
    assert len(commune.audits("registry.child.read_sensitive")) == 1


def test_the_health_station_sees_and_confirms_health_categories_only(
        commune: Commune) -> None:
    child = commune.child_in("T02")
    open_categories(commune, child, ["PLAN-POOR", "HCDB-D", "HCDB-DD", "HCDB-L"])
    health = commune.person("health_reviewer")
    viewer = commune.person("viewer")

    assert codes(commune.get(f"children/{child}", health)) == {"PLAN-POOR", "HCDB-D",
                                                               "HCDB-DD"}
    assert codes(commune.get(f"children/{child}", viewer)) == {"PLAN-POOR", "HCDB-D"}
    (seen,) = commune.audits("registry.child.read_sensitive")
    assert seen.details == {"projectId": commune.project_id, "codes": ["HCDB-DD"]}

    url = f"{commune.base}/children/{child}/categories"
    confirmed = commune.client.post(f"{url}/HCDB-DD/confirm", headers=health,
                                    json={"why": "hồ sơ trạm y tế"})
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    dd = next(c for c in confirmed.json["categories"] if c["code"] == "HCDB-DD")
    assert dd["status"] == "confirmed" and dd["history"][-1]["by"].startswith("actor:")
    assert commune.client.post(f"{url}/PLAN-POOR/confirm", headers=health,
                               json={"why": "x"}).status_code == 403
    assert commune.client.post(f"{url}/HCDB-L/confirm", headers=health,
                               json={"why": "x"}).status_code == 404


def test_the_officer_confirms_and_ends_a_category_with_a_reason(commune: Commune) -> None:
    child = commune.child_in("T03")
    open_categories(commune, child, ["PLAN-POOR"])
    officer = commune.person("cp_officer")
    url = f"{commune.base}/children/{child}/categories/PLAN-POOR"
    missing = commune.client.post(f"{url}/confirm", headers=officer, json={})
    assert missing.status_code == 400 and missing.json["code"] == 400.2
    assert commune.client.post(f"{url}/confirm", headers=officer,
                               json={"why": "sổ hộ nghèo 2026"}).status_code == 200
    ended = commune.client.post(f"{url}/end", headers=officer, json={"why": "thoát nghèo"})
    assert ended.status_code == 200
    assert [c["status"] for c in ended.json["categories"]] == ["ended"]
    assert commune.client.post(f"{url}/end", headers=officer,
                               json={"why": "again"}).status_code == 404
    assert [a.details for a in commune.audits("registry.category.end")] == [
        {"projectId": commune.project_id, "code": "PLAN-POOR"}]
    assert child not in str(commune.get("children", officer, category="PLAN-POOR",
                                        limit="1000"))


# --- villages ---------------------------------------------------------------------------------


def test_a_village_scoped_role_sees_only_its_villages(commune: Commune) -> None:
    queued_row(commune)
    officer = commune.person("cp_officer", villages=["T01"])
    listed = commune.get("children", officer, limit="1000")
    assert listed and {item["village"] for item in listed} == {"T01"}
    elsewhere = commune.client.get(f"{commune.base}/children/{commune.child_in('T02')}",
                                   headers=officer)
    assert elsewhere.status_code == 404
    assert commune.get(f"children/{commune.child_in('T01')}", officer)["village"] == "T01"
    assert commune.get("review-queue", officer) == []
    with commune.services.database.unit_of_work() as db:
        row_id = db.scalars(select(MatchCandidate.id)).one()
    decided = commune.client.post(f"{commune.base}/review-queue/{row_id}/decision",
                                  headers=officer, json={"decision": "not_same"})
    assert decided.status_code == 404

    both = commune.person("cp_officer", villages=["T01", "T02"])
    assert {item["village"] for item in commune.get("children", both, limit="1000")} \
        == {"T01", "T02"}
    rows = commune.client.get(f"/v1/projects/{commune.project_id}/assignments",
                              headers=commune.admin).json
    assert sorted(row["villages"] for row in rows if row["roleId"] == 101) == [
        ["T01"], ["T01", "T02"]]


def test_flags_of_other_villages_are_not_seen(commune: Commune) -> None:
    open_categories(commune, commune.child_in("T02"), ["HCDB-A"])
    open_categories(commune, commune.child_in("T01"), ["HCDB-B"])
    leader = commune.person("commune_leader", villages=["T01"])
    assert [flag["village"] for flag in commune.get("flags", leader)] == ["T01"]
    everyone = commune.get("flags", commune.person("commune_leader"))
    # The urgent one (abandoned: Decree 56's 12-hour clock) comes first.
    assert [flag["code"] for flag in everyone] == ["HCDB-B", "HCDB-A"]
    assert everyone[0]["deadline"] and everyone[1]["deadline"] is None


# --- flags ------------------------------------------------------------------------------------


def test_flags_are_acknowledged_then_closed_with_a_reason(commune: Commune) -> None:
    child = commune.child_in("T02")
    open_categories(commune, child, ["HCDB-A"])
    health = commune.person("health_reviewer")
    leader = commune.person("commune_leader")
    (flag,) = commune.get("flags", leader, status="open")
    assert flag["kind"] == "new_special_circumstance" and flag["childId"] == child
    url = f"{commune.base}/flags/{flag['id']}"

    acknowledged = commune.client.post(f"{url}/acknowledge", headers=health)
    assert acknowledged.status_code == 200 and acknowledged.json["status"] == "acknowledged"
    assert commune.client.post(f"{url}/close", headers=health,
                               json={"reason": "x"}).status_code == 403
    no_reason = commune.client.post(f"{url}/close", headers=leader, json={})
    assert no_reason.status_code == 400 and no_reason.json["code"] == 400.2
    closed = commune.client.post(f"{url}/close", headers=leader,
                                 json={"reason": "đã lập kế hoạch hỗ trợ"})
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    assert closed.json["closeReason"] == "đã lập kế hoạch hỗ trợ"
    again = commune.client.post(f"{url}/close", headers=leader, json={"reason": "again"})
    assert again.status_code == 409 and again.json["code"] == 409.41
    assert commune.get("flags", leader, status="open") == []
    assert commune.get(f"children/{child}", leader)["flags"][0]["status"] == "closed"
    assert commune.client.post(f"{commune.base}/flags/99999/acknowledge",
                               headers=leader).status_code == 404


def test_a_confidential_flag_is_not_found_by_a_role_that_may_not_see_it(
        commune: Commune) -> None:
    open_categories(commune, commune.child_in("T02"), ["HCDB-E"])  # sensitive, no deadline
    officer = commune.person("cp_officer")
    (flag,) = [f for f in commune.get("flags", officer) if f["code"] == "HCDB-E"]
    assert flag["confidential"] and flag["labelEn"] == "In conflict with the law"
    assert flag["deadline"] is None and not flag["masked"]
    for role in ("commune_leader", "viewer", "health_reviewer"):
        someone = commune.person(role)
        assert commune.get("flags", someone) == [], role
        hidden = commune.client.post(f"{commune.base}/flags/{flag['id']}/acknowledge",
                                     headers=someone)
        assert hidden.status_code == 404


# --- review queue, merge ----------------------------------------------------------------------


def test_a_queue_row_shows_both_sides_and_its_explanation(commune: Commune) -> None:
    queued_row(commune)
    (row,) = commune.get("review-queue", commune.person("commune_leader"))
    assert row["record"]["fullName"].endswith("Hùng") and row["child"]["fullName"]
    assert row["record"]["childId"] != row["child"]["id"]
    assert row["score"] and row["reasons"] and row["explanation"]["fields"]
    assert row["record"]["village"] == row["child"]["village"]


def test_deciding_same_redirects_the_records_child_and_undo_restores_it(
        commune: Commune) -> None:
    queued_row(commune)
    officer = commune.person("cp_officer")
    (row,) = commune.get("review-queue", officer)
    absorbed, survivor = row["record"]["childId"], row["child"]["id"]
    url = f"{commune.base}/review-queue/{row['id']}"

    bad = commune.client.post(f"{url}/decision", headers=officer, json={"decision": "yes"})
    assert bad.status_code == 400
    unsure = commune.client.post(f"{url}/decision", headers=officer,
                                 json={"decision": "unsure"})
    assert unsure.status_code == 200 and unsure.json["decision"] == "unsure"
    assert [r["id"] for r in commune.get("review-queue", officer)] == [row["id"]]
    decided = commune.client.post(f"{url}/decision", headers=officer,
                                  json={"decision": "same"})
    assert decided.status_code == 200, decided.get_data(as_text=True)
    assert decided.json["status"] == "decided" and decided.json["decision"] == "same"
    assert commune.get("review-queue", officer) == []
    moved = commune.client.get(f"{commune.base}/children/{absorbed}", headers=officer)
    assert moved.status_code == 307
    assert moved.headers["Location"].endswith(f"/registry/children/{survivor}")
    assert absorbed in commune.get(f"children/{survivor}", officer)["mergedFrom"]
    assert absorbed not in [c["id"] for c in commune.get("children", officer, limit="1000")]

    undone = commune.client.post(f"{url}/undo", headers=officer)
    assert undone.status_code == 200 and undone.json["status"] == "open"
    assert commune.get(f"children/{absorbed}", officer)["id"] == absorbed
    assert len(commune.get("review-queue", officer)) == 1
    assert [a.action for a in commune.audits("registry.review.undo")] == ["registry.review.undo"]


def test_merging_by_hand_then_taking_the_record_out_again(commune: Commune) -> None:
    queued_row(commune)
    officer = commune.person("cp_officer")
    (row,) = commune.get("review-queue", officer)
    keep, other = row["child"]["id"], row["record"]["childId"]
    viewer = commune.person("viewer")
    refused = commune.client.post(f"{commune.base}/children/{keep}/merge", headers=viewer,
                                  json={"otherId": other})
    assert refused.status_code == 403

    merged = commune.client.post(f"{commune.base}/children/{keep}/merge", headers=officer,
                                 json={"otherId": other})
    assert merged.status_code == 200, merged.get_data(as_text=True)
    assert other in merged.json["mergedFrom"] and len(merged.json["records"]) == 2
    assert commune.client.get(f"{commune.base}/children/{other}",
                              headers=officer).status_code == 307
    record = row["record"]["id"]
    out = commune.client.post(f"{commune.base}/children/{keep}/records/{record}/unmerge",
                              headers=officer)
    assert out.status_code == 200 and out.json == {"recordId": record, "childId": other,
                                                   "formerChildId": keep}
    assert commune.get(f"children/{other}", officer)["id"] == other


def test_two_children_with_different_personal_ids_are_never_merged(commune: Commune) -> None:
    officer = commune.person("cp_officer")
    with_ids = [c["id"] for c in commune.get("children", officer, limit="1000")
                if commune.get(f"children/{c['id']}", officer)["personalId"]][:2]
    refused = commune.client.post(f"{commune.base}/children/{with_ids[0]}/merge",
                                  headers=officer, json={"otherId": with_ids[1]})
    assert refused.status_code == 409 and refused.json["code"] == 409.41
    itself = commune.client.post(f"{commune.base}/children/{with_ids[0]}/merge",
                                 headers=officer, json={"otherId": with_ids[0]})
    assert itself.status_code == 409


# --- the catalogue -----------------------------------------------------------------------------


def test_the_catalogue_lists_every_code_to_signed_in_users(commune: Commune) -> None:
    assert commune.client.get("/v1/registry/categories").status_code == 401
    listed = commune.client.get("/v1/registry/categories",
                                headers=commune.person("viewer")).json
    by_code = {c["code"]: c for c in listed}
    assert by_code["HCDB-L"]["sensitive"] and by_code["HCDB-L"]["urgent"]
    assert by_code["HCDB-L"]["deadlineHours"] == 12
    assert by_code["HCDB-A"]["article10Point"] == "a"
    assert by_code["HCDB-D"]["confirmedBy"] == "health_reviewer"


def test_the_registry_shows_in_swagger(client: FlaskClient) -> None:
    paths = client.get("/v1/swagger.json").json["paths"]
    for path in ("/projects/{project_id}/registry/children",
                 "/projects/{project_id}/registry/review-queue",
                 "/projects/{project_id}/registry/flags", "/registry/categories"):
        assert path in paths

