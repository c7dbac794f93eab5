"""The registry as the `children` entity list: each phone gets exactly its villages'
children, with a hash that moves when (and only when) its own list moves; the integrity
endpoint; the dataset API — through the demo commune, its phones and the real sync."""

from __future__ import annotations

import uuid
from itertools import combinations
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.models import Child, ChildCategoryEpisode, Form, FormAssignment
from server.operations.projects import create_project
from server.operations.users import create_app_user, grant_project_role
from server.registry.entities import HEADER
from server.registry.errors import InvalidDecision
from server.registry.merge import merge_children
from server.services import Services
from tests.openrosa.conftest import Phone
from tests.registry.followup_helpers import (
    CSV_PATH,
    MANIFEST_PATH,
    children_csv,
    load_synced_demo,
    phone_of,
    rows_of,
    sync,
)
from tests.registry.helpers import (
    consented_xml,
    find,
    household_of,
    newborn_named,
    submit_variant,
)

MANIFEST = "{http://openrosa.org/xforms/xformsManifest}"


def entity_entry(phone: Phone) -> dict[str, str]:
    response = phone.get(MANIFEST_PATH)
    assert response.status_code == 200 and "text/xml" in response.content_type
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    root: Element = fromstring(response.data)
    [entry] = [m for m in root.iter(f"{MANIFEST}mediaFile") if m.get("type") == "entityList"]
    return {child.tag.removeprefix(MANIFEST): child.text or "" for child in entry}


def active_in(services: Services, project_id: int, village: str) -> set[str]:
    with services.database.unit_of_work() as db:
        return set(db.scalars(select(Child.id).where(
            Child.project_id == project_id, Child.village_code == village,
            Child.status == "active")))


def bearer(services: Services, actor_id: int) -> dict[str, str]:
    from server.auth.principal import open_session
    from server.models import Actor

    with services.database.unit_of_work() as db:
        actor = db.get(Actor, actor_id)
        assert actor is not None
        return {"Authorization": f"Bearer {open_session(db, actor, 24).token}"}


def web_user(services: Services, project_id: int, role: str,
             villages: list[str] | None = None) -> dict[str, str]:
    from server.models import ProjectRole
    from server.operations.users import create_user

    with services.database.unit_of_work() as db:
        user = create_user(db, f"{role}-{uuid.uuid4().hex[:6]}@example.org", None)
        grant_project_role(db, project_id, user.actor_id, role)
        if villages:
            db.flush()
            for row in db.scalars(select(ProjectRole).where(
                    ProjectRole.actor_id == user.actor_id)):
                row.villages = villages
        actor_id = user.actor_id
    return bearer(services, actor_id)


def test_a_collaborator_gets_only_their_village_and_their_own_hash(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services)
    t01, t02 = phone_of(client, demo, "T01"), phone_of(client, demo, "T02")
    one, two = entity_entry(t01), entity_entry(t02)
    assert one["filename"] == "children.csv" and one["hash"].startswith("md5:")
    assert one["downloadUrl"].endswith(f"/v1/key/{t01.token}/projects/{demo.project_id}"
                                       f"{CSV_PATH}")
    assert one["integrityUrl"].endswith(
        f"/v1/key/{t01.token}/projects/{demo.project_id}/datasets/children/integrity")
    assert one["hash"] != two["hash"]
    rows = children_csv(t01)
    assert {row["name"] for row in rows} == active_in(services, demo.project_id, "T01")
    assert rows and all(row["village"] == "T01" for row in rows)
    assert {row["name"] for row in children_csv(t02)} == active_in(
        services, demo.project_id, "T02")


def test_the_hash_moves_when_a_sync_adds_a_child_to_that_village_only(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services)
    xml = consented_xml(services)
    village = fromstring(xml.encode()).findtext("village")
    other = next(p.village for p in demo.phones if p.village != village)
    mine, theirs = phone_of(client, demo, village), phone_of(client, demo, other)
    before, untouched = entity_entry(mine)["hash"], entity_entry(theirs)["hash"]
    count = len(children_csv(mine))

    submit_variant(services, xml, newborn_named("Lò Thị Hoà Mới"))
    assert entity_entry(mine)["hash"] == before  # not synced yet: the list is the same
    assert sync(services).failed == 0
    assert entity_entry(mine)["hash"] != before
    assert entity_entry(theirs)["hash"] == untouched
    rows = children_csv(mine)
    assert len(rows) > count and "Lò Thị Hoà Mới" in {row["full_name"] for row in rows}


def test_csv_columns_labels_and_quoting_of_vietnamese_names(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services)
    xml = consented_xml(services)
    village = fromstring(xml.encode()).findtext("village")

    def quoted_head(root: Element) -> None:
        for node in find(household_of(root), "hh_head_name"):
            node.text = 'Nguyễn Văn "Tư", Lê'
        for child in find(household_of(root), "child"):
            for node in find(child, "c_household_head"):
                node.text = 'Nguyễn Văn "Tư", Lê'

    submit_variant(services, xml, quoted_head)
    sync(services)
    phone = phone_of(client, demo, village)
    response = phone.get(CSV_PATH)
    body = response.data
    assert response.content_type == "text/csv; charset=utf-8"
    assert not body.startswith(b"\xef\xbb\xbf") and b"\r\n" not in body
    assert body.decode().split("\n")[0] == ",".join(HEADER)
    assert '"Nguyễn Văn ""Tư"", Lê"'.encode() in body
    rows = rows_of(response)
    assert 'Nguyễn Văn "Tư", Lê' in {row["household_head"] for row in rows}
    for row in rows:
        assert row["label"].startswith(row["full_name"] + " (")
        assert row["label"].endswith(f"{row['dob'][:4]})")
        assert row["sex"] in {"male", "female", "unknown"}
        assert row["dob_precision"] in {"full", "month_year", "year_only", "estimated"}
        assert row["status"] == "active" and int(row["__version"]) >= 1
    # OkHttp's cache revalidates with the ETag: nothing changed, nothing sent.
    again = phone.get(CSV_PATH, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and not again.data


def test_phone_categories_leave_out_sensitive_confidential_and_ended_codes(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services)
    phone = phone_of(client, demo, "T01")
    child_id = children_csv(phone)[0]["name"]
    with services.database.unit_of_work() as db:
        for code, status, confidential in (
                ("RISK", "provisional", False), ("HCDB-A", "confirmed", False),
                ("HCDB-E", "provisional", False),  # sensitive: never on a phone
                ("HCDB-C", "provisional", True),  # known only from Section F
                ("HCDB-B", "ended", False), ("HCDB-D", "referred", False)):
            db.add(ChildCategoryEpisode(child_id=child_id, code=code, status=status,
                                        confidential=confidential, history=[]))
    row = next(r for r in children_csv(phone) if r["name"] == child_id)
    assert row["categories"] == "HCDB-A RISK"


def reviewer_merges_two(services: Services, ids: list[str]) -> tuple[str, str]:
    """A reviewer merges two of these children (the first pair the registry allows: not
    one household, no two personal IDs): (survivor, merged id)."""
    for first, second in combinations(ids, 2):
        try:
            with services.database.unit_of_work() as db:
                survivor = merge_children(db, first, second, None).id
        except InvalidDecision:
            continue
        return survivor, second if survivor == first else first
    raise AssertionError("no two children may be merged")


def test_integrity_deletes_merged_ids_and_hides_other_villages(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services)
    t01, t02 = phone_of(client, demo, "T01"), phone_of(client, demo, "T02")
    survivor, merged = reviewer_merges_two(services, [r["name"] for r in children_csv(t01)])
    elsewhere = children_csv(t02)[0]["name"]
    unknown = str(uuid.uuid4())
    url = f"/datasets/children/integrity?id={survivor},{merged},{elsewhere},{unknown}"
    response = t01.get(url)
    assert response.status_code == 200 and "text/xml" in response.content_type
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    root = fromstring(response.data)
    assert root.tag == "data"
    states = {e.get("id"): e.findtext("deleted") for e in root.iter("entity")}
    assert states == {survivor: "false", merged: "true"}
    assert merged not in {row["name"] for row in children_csv(t01)}


def test_an_app_user_without_villages_gets_an_empty_list(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services, households=10)
    with services.database.unit_of_work() as db:
        app_user = create_app_user(db, demo.project_id, "Điện thoại chưa gán thôn")
        form = db.scalars(select(Form).where(Form.xml_form_id == "child_followup")).one()
        db.add(FormAssignment(form_id=form.id, actor_id=app_user.actor_id))
        token = app_user.token
    phone = Phone(client, demo.project_id, token)
    assert children_csv(phone) == []
    assert phone.get(MANIFEST_PATH).status_code == 200


def test_the_app_user_of_another_project_gets_nothing(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services, households=10)
    some_child = children_csv(phone_of(client, demo, "T01"))[0]["name"]
    with services.database.unit_of_work() as db:
        other = create_project(db, "Xã khác", commune_code="00002")
        token = create_app_user(db, other.id, "Điện thoại xã khác", ["T01"]).token
    stranger = Phone(client, demo.project_id, token)
    for path in (MANIFEST_PATH, CSV_PATH, f"/datasets/children/integrity?id={some_child}"):
        assert stranger.get(path).status_code in (403, 404), path
    assert b"T01" not in stranger.get(CSV_PATH).data


def test_dataset_api_for_managers_and_village_limited_roles(
        services: Services, client: FlaskClient) -> None:
    demo = load_synced_demo(services, households=20)
    base = f"/v1/projects/{demo.project_id}/datasets"
    manager = web_user(services, demo.project_id, "manager")
    listed = client.get(base, headers=manager)
    assert listed.status_code == 200 and [d["name"] for d in listed.json or []] == ["children"]
    detail = client.get(f"{base}/children", headers=manager).json or {}
    assert [f["xmlFormId"] for f in detail["linkedForms"]] == ["child_followup"]
    every = rows_of(client.get(f"{base}/children/entities.csv", headers=manager))
    with services.database.unit_of_work() as db:
        total = db.scalar(select(func.count()).select_from(Child).where(
            Child.project_id == demo.project_id, Child.status == "active"))
    assert len(every) == total and len({row["village"] for row in every}) > 1
    entities = client.get(f"{base}/children/entities", headers=manager).json or []
    assert {e["uuid"] for e in entities} == {row["name"] for row in every}
    one = client.get(f"{base}/children/entities/{every[0]['name']}", headers=manager).json
    assert one is not None and one["currentVersion"]["data"]["full_name"] == every[0][
        "full_name"]
    viewer = web_user(services, demo.project_id, "viewer", villages=["T02"])
    limited = rows_of(client.get(f"{base}/children/entities.csv", headers=viewer))
    assert limited and {row["village"] for row in limited} == {"T02"}
    t01_child = next(row["name"] for row in every if row["village"] == "T01")
    assert client.get(f"{base}/children/entities/{t01_child}",
                      headers=viewer).status_code == 404
    phone = demo.phones[0]
    assert client.get(f"/v1/key/{phone.token}{base.removeprefix('/v1')}").status_code == 403
    assert client.get(f"{base}/other", headers=manager).status_code == 404
    formfill = web_user(services, demo.project_id, "formfill")
    assert client.get(f"{base}/children/entities.csv",
                      headers=formfill).status_code == 403
