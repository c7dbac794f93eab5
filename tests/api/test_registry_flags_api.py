"""Flags over HTTP: paging, and the commune chair receiving confidential
urgent cases masked (docs/categories.md §6 rule 3, docs/access.md) — on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from server.services import Services
from tests.api.test_registry_api import Commune, demo_commune, open_categories
from tests.conftest import World


@pytest.fixture
def commune(services: Services, client: FlaskClient, world: World,
            admin_headers: dict[str, str]) -> Commune:
    return demo_commune(services, client, admin_headers)


def test_flags_page_with_a_total(commune: Commune) -> None:
    for child in [commune.child_in("T02", n) for n in range(4)]:
        open_categories(commune, child, ["HCDB-A"])
    open_categories(commune, commune.child_in("T01"), ["HCDB-B"])
    leader = commune.person("commune_leader")
    everything = commune.get("flags", leader)
    assert len(everything) == 5 and everything[0]["code"] == "HCDB-B"  # the deadline first
    pages = [commune.client.get(f"{commune.base}/flags?limit=2&offset={offset}",
                                headers=leader) for offset in (0, 2, 4)]
    assert [len(page.json) for page in pages] == [2, 2, 1]
    assert {page.headers["X-Total-Count"] for page in pages} == {"5"}
    assert [f["id"] for page in pages for f in page.json] == [f["id"] for f in everything]
    filtered = commune.client.get(f"{commune.base}/flags?village=T02&limit=3",
                                  headers=leader)
    assert len(filtered.json) == 3 and filtered.headers["X-Total-Count"] == "4"
    wrong = commune.client.get(f"{commune.base}/flags?offset=-1", headers=leader)
    assert wrong.status_code == 400


def test_the_commune_chair_receives_a_confidential_urgent_case_masked(
        commune: Commune) -> None:
    trafficked, in_conflict = commune.child_in("T02", 0), commune.child_in("T02", 1)
    open_categories(commune, trafficked, ["HCDB-M"])  # urgent and sensitive: 12-hour clock
    open_categories(commune, in_conflict, ["HCDB-E"])  # sensitive, no deadline
    officer, leader = commune.person("cp_officer"), commune.person("commune_leader")
    (full,) = [f for f in commune.get("flags", officer) if f["code"] == "HCDB-M"]
    assert full["deadline"] and not full["masked"] and full["childName"]

    (masked,) = commune.get("flags", leader)
    assert masked == {
        "id": full["id"], "childId": trafficked, "childName": None, "village": "T02",
        "code": None, "labelVi": None, "labelEn": None, "kind": None,
        "deadline": full["deadline"], "confidential": True, "masked": True,
        "status": "open", "recordId": None, "raisedAt": full["raisedAt"],
        "acknowledgedBy": None, "acknowledgedAt": None, "closedBy": None, "closedAt": None,
        "closeReason": None, "note": None, "submission": None}
    assert commune.get("flags", leader, urgent="true") == [masked]
    assert commune.get("flags", leader, urgent="false") == []
    assert commune.get("flags", leader, kind=full["kind"]) == []  # its kind is not shown
    assert commune.client.get(f"{commune.base}/flags?urgent=maybe",
                              headers=leader).status_code == 400

    # Nothing keyed by the child tells more: no flag, no code, no count, no filter.
    detail = commune.get(f"children/{trafficked}", leader)
    assert detail["flags"] == [] and "HCDB-M" not in str(detail)
    assert trafficked not in str(commune.get("children", leader, flag="true"))
    listed = commune.get("children", leader, village="T02", limit="1000")
    assert next(c for c in listed if c["id"] == trafficked)["openFlags"] == 0

    # The chair acknowledges the alert; closing it (with a reason) is the officer's.
    url = f"{commune.base}/flags/{masked['id']}"
    seen = commune.client.post(f"{url}/acknowledge", headers=leader)
    assert seen.status_code == 200 and seen.json["status"] == "acknowledged"
    assert seen.json["code"] is None and seen.json["masked"]
    refused = commune.client.post(f"{url}/close", headers=leader, json={"reason": "đã xử lý"})
    assert refused.status_code == 403
    closed = commune.client.post(f"{url}/close", headers=officer,
                                 json={"reason": "đã chuyển cơ quan công an"})
    assert closed.status_code == 200
    (after,) = commune.get("flags", leader)
    assert after["status"] == "closed" and after["closeReason"] is None


def test_only_the_chair_of_the_childs_village_receives_the_masked_case(
        commune: Commune) -> None:
    open_categories(commune, commune.child_in("T02"), ["HCDB-L"])
    assert commune.get("flags", commune.person("commune_leader", villages=["T01"])) == []
    assert len(commune.get("flags", commune.person("commune_leader", villages=["T02"]))) == 1
    for role in ("viewer", "health_reviewer"):
        someone = commune.person(role)
        assert commune.get("flags", someone) == [], role
        (flag,) = commune.get("flags", commune.person("cp_officer"))
        hidden = commune.client.post(f"{commune.base}/flags/{flag['id']}/acknowledge",
                                     headers=someone)
        assert hidden.status_code == 404, role
