"""The review queue over HTTP (docs/matching.md §4): paging, children in special
circumstances first, one row as it is now, and withdrawing a reviewer's "not the same child"
— the demo commune synced through the real path, on SQLite and PostgreSQL."""

from __future__ import annotations

from xml.etree.ElementTree import Element

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from server.models import Child, SubmissionDef
from server.registry.sync import sync_pending
from server.services import Services
from tests.api.test_registry_api import Commune, demo_commune, open_categories, queued_row
from tests.conftest import World
from tests.registry.helpers import find, household_of, submit_variant


@pytest.fixture
def commune(services: Services, client: FlaskClient, world: World,
            admin_headers: dict[str, str]) -> Commune:
    return demo_commune(services, client, admin_headers)


def queued_rows(commune: Commune, count: int) -> None:
    """`count` households visited again, each first child renamed and without its ID: each
    waits in the review queue."""
    with commune.services.database.unit_of_work() as db:
        visits = [xml for xml in db.scalars(select(SubmissionDef.xml).order_by(SubmissionDef.id))
                  if "<household>" in xml and "<child>" in xml][:count]

    def changed(root: Element) -> None:
        household = household_of(root)
        first, *rest = find(household, "child")
        for child in rest:
            household.remove(child)
        for node in find(first, "c_pid"):
            node.text = ""
        for node in find(first, "c_full_name"):
            node.text = " ".join([*(node.text or "").split()[:-1], "Hùng"])

    for xml in visits:
        submit_variant(commune.services, xml, changed)
    assert sync_pending(commune.services.database.sessions).queued == count


def test_the_queue_pages_with_a_total(commune: Commune) -> None:
    queued_rows(commune, 4)
    officer = commune.person("cp_officer")
    everything = commune.get("review-queue", officer)
    assert len(everything) == 4
    first = commune.client.get(f"{commune.base}/review-queue?limit=3", headers=officer)
    rest = commune.client.get(f"{commune.base}/review-queue?limit=3&offset=3",
                              headers=officer)
    assert first.headers["X-Total-Count"] == rest.headers["X-Total-Count"] == "4"
    assert [r["id"] for r in first.json + rest.json] == [r["id"] for r in everything]
    assert len(first.json) == 3 and len(rest.json) == 1
    beyond = commune.client.get(f"{commune.base}/review-queue?offset=10", headers=officer)
    assert beyond.json == [] and beyond.headers["X-Total-Count"] == "4"
    too_many = commune.client.get(f"{commune.base}/review-queue?limit=1001", headers=officer)
    assert too_many.status_code == 400


def test_a_child_in_special_circumstances_comes_first_for_those_who_may_see_it(
        commune: Commune) -> None:
    queued_rows(commune, 3)
    officer, viewer = commune.person("cp_officer"), commune.person("viewer")
    before = commune.get("review-queue", officer)
    assert [r["specialCircumstances"] for r in before] == [False] * 3
    scores = [r["score"] for r in before]
    assert scores == sorted(scores, reverse=True)
    last = before[-1]

    # A sensitive category on the record's child: the officer's queue puts the row first;
    # a viewer, who may not know of it, keeps the order by score.
    open_categories(commune, last["record"]["childId"], ["HCDB-E"])
    mine = commune.get("review-queue", officer)
    assert mine[0]["id"] == last["id"] and mine[0]["specialCircumstances"]
    theirs = commune.get("review-queue", viewer)
    assert [r["id"] for r in theirs] == [r["id"] for r in before]
    assert not any(r["specialCircumstances"] for r in theirs)

    # An ordinary Article 10 category on the proposed child: first for everyone.
    middle = before[1]
    open_categories(commune, middle["child"]["id"], ["HCDB-A"])
    assert commune.get("review-queue", viewer)[0]["id"] == middle["id"]


def test_withdrawing_not_same_reopens_the_row(commune: Commune) -> None:
    queued_row(commune)
    officer = commune.person("cp_officer")
    (row,) = commune.get("review-queue", officer)
    url = f"{commune.base}/review-queue/{row['id']}"
    decided = commune.client.post(f"{url}/decision", headers=officer,
                                  json={"decision": "not_same"})
    assert decided.status_code == 200 and decided.json["edgeId"]
    edge_id = decided.json["edgeId"]
    links = commune.get(f"children/{row['child']['id']}", officer)["links"]
    assert {(e["id"], e["kind"], e["revoked"]) for e in links} >= {
        (edge_id, "cannot_link", False)}

    refused = commune.client.post(f"{commune.base}/edges/{edge_id}/revoke",
                                  headers=commune.person("viewer"))
    assert refused.status_code == 403
    # An officer of a village where neither child of the pair lives.
    pair = {row["record"]["village"], row["child"]["village"]}
    other = next(v for v in ("T01", "T02", "T03", "T04", "T05", "T06") if v not in pair)
    elsewhere = commune.person("cp_officer", villages=[other])
    assert commune.client.post(f"{commune.base}/edges/{edge_id}/revoke",
                               headers=elsewhere).status_code == 404

    leader = commune.person("commune_leader")
    revoked = commune.client.post(f"{commune.base}/edges/{edge_id}/revoke", headers=leader)
    assert revoked.status_code == 200, revoked.get_data(as_text=True)
    assert revoked.json["edge"]["revoked"] and revoked.json["edge"]["kind"] == "cannot_link"
    assert revoked.json["reopened"]["id"] == row["id"]
    assert revoked.json["reopened"]["status"] == "open"
    assert [r["id"] for r in commune.get("review-queue", officer)] == [row["id"]]
    (audit,) = commune.audits("registry.edge.revoke")
    assert audit.actee == f"edge:{edge_id}"
    assert audit.details == {"projectId": commune.project_id, "reopened": row["id"]}

    again = commune.client.post(f"{commune.base}/edges/{edge_id}/revoke", headers=leader)
    assert again.status_code == 409 and again.json["code"] == 409.41
    assert commune.client.post(f"{commune.base}/edges/99999/revoke",
                               headers=leader).status_code == 404
    assert commune.client.post(f"/v1/projects/9999/registry/edges/{edge_id}/revoke",
                               headers=commune.admin).status_code == 404


def test_after_an_unmerge_same_needs_the_separation_withdrawn(commune: Commune) -> None:
    queued_row(commune)
    officer = commune.person("cp_officer")
    (row,) = commune.get("review-queue", officer)
    url = f"{commune.base}/review-queue/{row['id']}"
    same = commune.client.post(f"{url}/decision", headers=officer, json={"decision": "same"})
    link_id = same.json["edgeId"]
    survivor, record = row["child"]["id"], row["record"]["id"]
    out = commune.client.post(f"{commune.base}/children/{survivor}/records/{record}/unmerge",
                              headers=officer)
    assert out.status_code == 200
    assert commune.client.post(f"{url}/undo", headers=officer).json["status"] == "open"

    refused = commune.client.post(f"{url}/decision", headers=officer,
                                  json={"decision": "same"})
    assert refused.status_code == 409 and "cannot-link edge" in refused.json["message"]
    link = commune.client.post(f"{commune.base}/edges/{link_id}/revoke", headers=officer)
    assert link.status_code == 409  # a link is undone, not withdrawn
    separations = [e for e in commune.get(f"children/{out.json['childId']}", officer)["links"]
                   if e["kind"] == "cannot_link" and not e["revoked"]]
    assert len(separations) == 1
    withdrawn = commune.client.post(f"{commune.base}/edges/{separations[0]['id']}/revoke",
                                    headers=officer)
    assert withdrawn.status_code == 200 and withdrawn.json["reopened"] is None
    again = commune.client.post(f"{url}/decision", headers=officer, json={"decision": "same"})
    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.json["record"]["childId"] == survivor


def test_a_decided_row_shows_the_child_its_id_names_now(commune: Commune) -> None:
    queued_rows(commune, 3)
    officer = commune.person("cp_officer")
    for row in commune.get("review-queue", officer):
        url = f"{commune.base}/review-queue/{row['id']}"
        assert commune.client.post(f"{url}/decision", headers=officer,
                                   json={"decision": "not_same"}).status_code == 200
        proposed = row["child"]["id"]
        survivor = _merge_into_an_older_child(commune, officer, proposed)
        if survivor is not None:
            break
    else:
        raise AssertionError("no proposed child could be merged into an older one")
    shown = commune.get(f"review-queue/{row['id']}", officer)
    assert shown["status"] == "decided" and shown["decision"] == "not_same"
    assert shown["child"]["id"] == survivor and shown["child"]["proposedId"] == proposed
    assert shown["child"]["status"] == "active"
    viewer = commune.get(f"review-queue/{row['id']}", commune.person("viewer"))
    assert viewer["child"]["id"] == survivor
    assert commune.client.get(f"{commune.base}/review-queue/99999",
                              headers=officer).status_code == 404


def _merge_into_an_older_child(commune: Commune, officer: dict[str, str],
                               child_id: str) -> str | None:
    """Merge the child with the first older child the registry allows; the survivor's id."""
    with commune.services.database.unit_of_work() as db:
        child = db.get_one(Child, child_id)
        older = db.scalars(select(Child.id).where(
            Child.project_id == commune.project_id, Child.status == "active",
            Child.created_at < child.created_at).order_by(Child.created_at)).all()
    for other in older:
        merged = commune.client.post(f"{commune.base}/children/{child_id}/merge",
                                     headers=officer, json={"otherId": other})
        if merged.status_code == 200:
            assert merged.json["id"] == other
            return other
    return None
